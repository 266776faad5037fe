// static_http_test.cc: the pure rules of static answers: path checks, Accept-Encoding,
// Range, conditional requests, HTTP dates, Content-Type and hashed names.
// Thread: the test's main thread.
#include "static_http.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http_response.h"

namespace appserver::server {
namespace {

using Verdict = StaticPath::Verdict;

constexpr time_t kSunday = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110's example)

std::vector<Coding> codings(std::string_view accept_encoding) {
  const AcceptedCodings accepted = acceptedCodings(accept_encoding);
  return {accepted.list().begin(), accepted.list().end()};
}

TEST(StaticPath, AcceptsPlainAndNestedNames) {
  EXPECT_EQ(checkStaticPath("app.css").verdict, Verdict::Ok);
  const StaticPath nested = checkStaticPath("admin/css/base.css");
  EXPECT_EQ(nested.verdict, Verdict::Ok);
  EXPECT_EQ(nested.relative, "admin/css/base.css");
  EXPECT_EQ(checkStaticPath(".well-known").relative, ".well-known");  // a dot file is a name
}

TEST(StaticPath, DecodesPercentEscapes) {
  const StaticPath path = checkStaticPath("my%20file%2Ecss");
  EXPECT_EQ(path.verdict, Verdict::Ok);
  EXPECT_EQ(path.relative, "my file.css");
}

TEST(StaticPath, RefusesEncodedSeparatorsAndBackslashes) {
  for (const char* raw : {"a%2Fb.css", "a%2fb.css", "a%5Cb.css", "a\\b.css", "..%2F..%2Fetc"}) {
    EXPECT_EQ(checkStaticPath(raw).verdict, Verdict::BadRequest) << raw;
  }
}

TEST(StaticPath, RefusesNulAndControlBytes) {
  for (const char* raw : {"a%00.css", "a%0A.css", "a%7F.css", "a%1b.css"}) {
    EXPECT_EQ(checkStaticPath(raw).verdict, Verdict::BadRequest) << raw;
  }
}

TEST(StaticPath, RefusesMalformedEscapes) {
  for (const char* raw : {"%", "a%2", "a%zz.css", "a%%41"}) {
    EXPECT_EQ(checkStaticPath(raw).verdict, Verdict::BadRequest) << raw;
  }
}

TEST(StaticPath, FindsNothingForDotSegments) {
  for (const char* raw : {"..", "../x", "a/../x", "./x", "a/.", "%2e%2e/x", "%2E./x", "a/%2e"}) {
    EXPECT_EQ(checkStaticPath(raw).verdict, Verdict::NotFound) << raw;
  }
}

TEST(StaticPath, FindsNothingForDirectoriesAndEmptySegments) {
  for (const char* raw : {"", "a/", "a//b", "/a", "/"}) {
    EXPECT_EQ(checkStaticPath(raw).verdict, Verdict::NotFound) << raw;
  }
}

TEST(AcceptedCodings, PrefersBrotliOnEqualQuality) {
  EXPECT_EQ(codings("gzip, deflate, br"), (std::vector{Coding::Brotli, Coding::Gzip}));
  EXPECT_EQ(codings("br;q=0.8, gzip;q=0.8"), (std::vector{Coding::Brotli, Coding::Gzip}));
}

TEST(AcceptedCodings, OrdersByQuality) {
  EXPECT_EQ(codings("br;q=0.5, gzip;q=0.8"), (std::vector{Coding::Gzip, Coding::Brotli}));
  EXPECT_EQ(codings("br ; q=0.001 , gzip ; Q=1.000"), (std::vector{Coding::Gzip, Coding::Brotli}));
}

TEST(AcceptedCodings, RefusesCodingsWithQualityZero) {
  EXPECT_EQ(codings("br;q=0, gzip"), (std::vector{Coding::Gzip}));
  EXPECT_EQ(codings("br;q=0.000, gzip;q=0"), std::vector<Coding>{});
}

TEST(AcceptedCodings, AppliesTheWildcardToCodingsNotNamed) {
  EXPECT_EQ(codings("*"), (std::vector{Coding::Brotli, Coding::Gzip}));
  EXPECT_EQ(codings("*;q=0.5, br;q=0"), (std::vector{Coding::Gzip}));
  EXPECT_EQ(codings("gzip, *;q=0"), (std::vector{Coding::Gzip}));
}

TEST(AcceptedCodings, ReadsNamesCaseInsensitivelyWithXGzip) {
  EXPECT_EQ(codings("X-GZIP"), (std::vector{Coding::Gzip}));
  EXPECT_EQ(codings("BR"), (std::vector{Coding::Brotli}));
}

TEST(AcceptedCodings, RefusesACodingWithAMalformedQuality) {
  EXPECT_EQ(codings("br;q=2, gzip;q=abc"), std::vector<Coding>{});
  EXPECT_EQ(codings("br;q=0.12345, gzip;q=1.5"), std::vector<Coding>{});
}

TEST(AcceptedCodings, AcceptsNoneForIdentityOrNothing) {
  EXPECT_EQ(codings(""), std::vector<Coding>{});
  EXPECT_EQ(codings("identity"), std::vector<Coding>{});
  EXPECT_EQ(codings("deflate, compress"), std::vector<Coding>{});
}

void expectPart(std::string_view range, int64_t size, int64_t first, int64_t last) {
  const ByteRange r = parseRange(range, size);
  EXPECT_EQ(r.kind, ByteRange::Kind::Part) << range;
  EXPECT_EQ(r.first, first) << range;
  EXPECT_EQ(r.last, last) << range;
}

TEST(ParseRange, ReadsOneRangeOfEachForm) {
  expectPart("bytes=0-4", 10, 0, 4);
  expectPart("bytes=5-", 10, 5, 9);
  expectPart("bytes=-3", 10, 7, 9);
  expectPart("bytes=9-9", 10, 9, 9);
  expectPart("Bytes = 2-3 ,", 10, 2, 3);  // unit case, blanks and an empty list element
}

TEST(ParseRange, ClampsRangesToTheSize) {
  expectPart("bytes=0-100", 10, 0, 9);
  expectPart("bytes=-20", 10, 0, 9);
}

TEST(ParseRange, FindsRangesPastTheEndUnsatisfiable) {
  for (const char* range : {"bytes=10-", "bytes=10-20", "bytes=-0"}) {
    EXPECT_EQ(parseRange(range, 10).kind, ByteRange::Kind::Unsatisfiable) << range;
  }
  EXPECT_EQ(parseRange("bytes=0-0", 0).kind, ByteRange::Kind::Unsatisfiable);
  EXPECT_EQ(parseRange("bytes=-5", 0).kind, ByteRange::Kind::Unsatisfiable);
}

TEST(ParseRange, IgnoresMalformedOtherUnitsAndSeveralRanges) {
  for (const char* range : {"", "bytes", "items=0-1", "bytes=", "bytes=-", "bytes=5-2",
                            "bytes=a-b", "bytes=1-2-3", "bytes=--1", "bytes=+1-2", "bytes=0-1,3-4",
                            "bytes=99999999999999999999-"}) {
    EXPECT_EQ(parseRange(range, 10).kind, ByteRange::Kind::Whole) << range;
  }
}

TEST(MakeEtag, IsAQuotedTagOfSizeTimeAndCoding) {
  EXPECT_EQ(makeEtag(255, 4096, ""), "\"ff-1000\"");
  EXPECT_EQ(makeEtag(255, 4096, "br"), "\"ff-1000-br\"");
  EXPECT_NE(makeEtag(10, 1, ""), makeEtag(10, 2, ""));
}

TEST(NotModified, MatchesIfNoneMatchUnderTheWeakComparison) {
  const std::string etag = makeEtag(6, 42, "");
  EXPECT_TRUE(notModified(etag, "", etag, kSunday));
  EXPECT_TRUE(notModified("W/" + etag, "", etag, kSunday));
  EXPECT_TRUE(notModified("\"other\", " + etag, "", etag, kSunday));
  EXPECT_TRUE(notModified("*", "", etag, kSunday));
  EXPECT_FALSE(notModified("\"other\"", "", etag, kSunday));
  EXPECT_FALSE(notModified("6-2a", "", etag, kSunday));  // unquoted: malformed
}

TEST(NotModified, IgnoresIfModifiedSinceWhenIfNoneMatchIsPresent) {
  EXPECT_FALSE(notModified("\"other\"", "Sun, 06 Nov 1994 08:49:37 GMT", "\"x\"", kSunday));
}

TEST(NotModified, ComparesIfModifiedSinceWithTheModificationTime) {
  EXPECT_TRUE(notModified("", "Sun, 06 Nov 1994 08:49:37 GMT", "\"x\"", kSunday));
  EXPECT_TRUE(notModified("", "Sun, 06 Nov 1994 08:49:38 GMT", "\"x\"", kSunday));
  EXPECT_FALSE(notModified("", "Sun, 06 Nov 1994 08:49:36 GMT", "\"x\"", kSunday));
  EXPECT_FALSE(notModified("", "yesterday", "\"x\"", kSunday));
  EXPECT_FALSE(notModified("", "", "\"x\"", kSunday));
}

TEST(IfRangeHolds, HoldsForTheStrongTagOrTheExactDate) {
  const std::string etag = makeEtag(6, 42, "");
  EXPECT_TRUE(ifRangeHolds("", etag, kSunday));
  EXPECT_TRUE(ifRangeHolds(etag, etag, kSunday));
  EXPECT_TRUE(ifRangeHolds("Sun, 06 Nov 1994 08:49:37 GMT", etag, kSunday));
  EXPECT_FALSE(ifRangeHolds("W/" + etag, etag, kSunday));
  EXPECT_FALSE(ifRangeHolds("\"other\"", etag, kSunday));
  EXPECT_FALSE(ifRangeHolds("Sun, 06 Nov 1994 08:49:38 GMT", etag, kSunday));
  EXPECT_FALSE(ifRangeHolds("garbage", etag, kSunday));
}

TEST(ParseHttpDate, ReadsTheThreeFormats) {
  EXPECT_EQ(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), kSunday);
  EXPECT_EQ(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), kSunday);
  EXPECT_EQ(parseHttpDate("Sun Nov  6 08:49:37 1994"), kSunday);
}

TEST(ParseHttpDate, RefusesMalformedDates) {
  for (const char* text : {"", "Sun, 06 Nov 1994", "Sun, 06 Nov 1994 08:49:37 GMT x",
                           "Sun, 06 Nov 1994 08:49:37 PST", "1994-11-06T08:49:37Z"}) {
    EXPECT_EQ(parseHttpDate(text), std::nullopt) << text;
  }
}

TEST(ParseHttpDate, ReadsWhatAppendHttpDateWrites) {
  std::string text;
  appendHttpDate(text, kSunday);
  EXPECT_EQ(text, "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(parseHttpDate(text), kSunday);
}

TEST(ContentTypeFor, KnowsTheTypesOfCollectedStaticFiles) {
  EXPECT_EQ(contentTypeFor("css/app.css"), "text/css; charset=utf-8");
  EXPECT_EQ(contentTypeFor("app.0123456789ab.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(contentTypeFor("LOGO.PNG"), "image/png");
  EXPECT_EQ(contentTypeFor("fonts/a.woff2"), "font/woff2");
  EXPECT_EQ(contentTypeFor("icons/a.svg"), "image/svg+xml; charset=utf-8");
}

TEST(ContentTypeFor, FallsBackToOctetStream) {
  EXPECT_EQ(contentTypeFor("README"), "application/octet-stream");
  EXPECT_EQ(contentTypeFor("archive.xyz"), "application/octet-stream");
  EXPECT_EQ(contentTypeFor("dir.css/file"), "application/octet-stream");
}

TEST(IsHashedName, RecognisesManifestStaticFilesStorageNames) {
  for (const char* name : {"app.0123456789ab.css", "css/app.0123456789ab.css",
                           "jquery.min.0123456789ab.js", "LICENSE.0123456789ab"}) {
    EXPECT_TRUE(isHashedName(name)) << name;
  }
}

TEST(IsHashedName, RefusesNamesWithoutAContentHash) {
  for (const char* name : {"app.css", "app.0123456789AB.css", "app.0123456789a.css",
                           "app.0123456789abc.css", ".0123456789ab.css", "0123456789ab.css",
                           "app.0123456789ab.min.css", "app.0123456789ag.css"}) {
    EXPECT_FALSE(isHashedName(name)) << name;
  }
}

}  // namespace
}  // namespace appserver::server
