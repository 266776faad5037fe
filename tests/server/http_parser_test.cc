// http_parser_test.cc: HttpParser's limits, framing checks, pipelining and body storage.
//
// Targeted cases beside the corpus (http_parser_corpus_test.cc): the limits (414/431/413),
// the framing checks llhttp 8.1 leaves to the server (400/501/505), Expect handling,
// obs-fold also when split across reads, trailers, pipelining, finish() and the spooling of
// large bodies. No sockets, no Python: the parser is driven directly (parse_stream.h).
// Thread: the test's main thread.
#include "http_parser.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "parse_stream.h"

namespace appserver::server {
namespace {

using Result = HttpParser::Result;

constexpr uint64_t kMemoryLimit = kTestBodyMemoryLimit;

// ---------------------------------------------------------------------------------------------
// Limits

std::string getWithFields(size_t count, std::string_view value = "v") {
  std::string raw = "GET / HTTP/1.1\r\n";
  for (size_t i = 0; i < count; ++i) {
    raw += "X-Field-" + std::to_string(i) + ": " + std::string(value) + "\r\n";
  }
  return raw + "\r\n";
}

TEST(HttpParser, RefusesLongTargetWith414) {
  const Outcome out = parseStream("GET /" + std::string(5000, 'a') + " HTTP/1.1\r\n\r\n");
  EXPECT_EQ(out.last, Result::Error);
  EXPECT_EQ(out.status, 414);
}

TEST(HttpParser, AcceptsTargetAtTheRequestLineLimit) {
  HttpLimits limits;
  limits.request_line = 20;
  const Outcome ok = parseStream("GET /" + std::string(19, 'a') + " HTTP/1.1\r\n\r\n", SIZE_MAX,
                                 SIZE_MAX, false, limits);
  ASSERT_EQ(ok.requests.size(), 1U);
  const Outcome over = parseStream("GET /" + std::string(20, 'a') + " HTTP/1.1\r\n\r\n", SIZE_MAX,
                                   SIZE_MAX, false, limits);
  EXPECT_EQ(over.status, 414);
}

TEST(HttpParser, RefusesTooManyFieldsWith431) {
  EXPECT_EQ(parseStream(getWithFields(100), SIZE_MAX, 1).requests.size(), 1U);
  const Outcome out = parseStream(getWithFields(101));
  EXPECT_EQ(out.last, Result::Error);
  EXPECT_EQ(out.status, 431);
}

TEST(HttpParser, RefusesTooLargeFieldWith431) {
  HttpLimits limits;
  limits.field_size = 20;  // the whole line: name (9) + ": " + value + CRLF
  const Outcome ok = parseStream(getWithFields(1, std::string(7, 'v')), SIZE_MAX, 1, false, limits);
  EXPECT_EQ(ok.requests.size(), 1U);
  const Outcome out = parseStream(getWithFields(1, std::string(8, 'v')), 1, 1, false, limits);
  EXPECT_EQ(out.last, Result::Error);
  EXPECT_EQ(out.status, 431);
}

TEST(HttpParser, RefusesTooLargeFieldNameWith431) {
  const Outcome out = parseStream("GET / HTTP/1.1\r\nX" + std::string(9000, 'n') + ": v\r\n\r\n");
  EXPECT_EQ(out.status, 431);
}

TEST(HttpParser, RefusesContentLengthOverTheBodyLimitWith413) {
  HttpLimits limits;
  limits.body = 10;
  const std::string head = "POST / HTTP/1.1\r\nContent-Length: ";
  EXPECT_EQ(parseStream(head + "10\r\n\r\n0123456789", SIZE_MAX, 1, false, limits).requests.size(),
            1U);
  // Refused at the head, before any body byte arrives.
  const Outcome out = parseStream(head + "11\r\n\r\n", SIZE_MAX, 1, false, limits);
  EXPECT_EQ(out.last, Result::Error);
  EXPECT_EQ(out.status, 413);
}

TEST(HttpParser, RefusesChunkedBodyOverTheBodyLimitWith413) {
  HttpLimits limits;
  limits.body = 10;
  const std::string head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  const Outcome ok =
      parseStream(head + "5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n", SIZE_MAX, 1, false, limits);
  ASSERT_EQ(ok.requests.size(), 1U);
  EXPECT_EQ(ok.requests[0].body, "0123456789");
  const Outcome out =
      parseStream(head + "5\r\n01234\r\n6\r\n56789a\r\n0\r\n\r\n", SIZE_MAX, 1, false, limits);
  EXPECT_EQ(out.last, Result::Error);
  EXPECT_EQ(out.status, 413);
}

// ---------------------------------------------------------------------------------------------
// Expect, methods, versions

TEST(HttpParser, RefusesUnknownExpectationWith417) {
  const Outcome out = parseStream("POST / HTTP/1.1\r\nExpect: fly\r\nContent-Length: 1\r\n\r\nx");
  EXPECT_EQ(out.status, 417);
}

TEST(HttpParser, SetsExpectContinueWhenTheHeadIsComplete) {
  HttpParser parser({}, kMemoryLimit, "");
  size_t consumed = 0;
  const std::string head = "POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\n";
  EXPECT_EQ(parser.execute(head, consumed), Result::NeedMore);
  EXPECT_TRUE(parser.headComplete());
  EXPECT_TRUE(parser.request().expect_continue);
  EXPECT_EQ(parser.execute("ok", consumed), Result::Complete);
}

TEST(HttpParser, IgnoresExpectInHttp10) {
  const Outcome out = parseStream("GET / HTTP/1.0\r\nExpect: fly\r\n\r\n", SIZE_MAX, 1);
  EXPECT_EQ(out.requests.size(), 1U);
}

TEST(HttpParser, RefusesUnknownWellFormedMethodWith501) {
  EXPECT_EQ(parseStream("BREW /pot HTTP/1.1\r\n\r\n").status, 501);
  EXPECT_EQ(parseStream("GE(T / HTTP/1.1\r\n\r\n").status, 400);  // not a token
}

TEST(HttpParser, RefusesUnknownMethodSplitAcrossReadsWith501) {
  // "FOO": llhttp stops at the first 'O' (it could still have been FLUSH); whether it is a
  // method at all shows only at the space, two reads later.
  const Outcome out = parseStream("FOO / HTTP/1.1\r\n\r\n", 1);
  EXPECT_EQ(out.status, 501);
}

TEST(HttpParser, RefusesHttp2RequestLineWith505) {
  const Outcome out = parseStream("GET / HTTP/2.0\r\nHost: a\r\n\r\n");
  EXPECT_EQ(out.last, Result::Error);
  EXPECT_EQ(out.status, 505);
}

TEST(HttpParser, AcceptsMissingHost) {
  // On purpose (docs/security.md): without virtual hosts a missing Host changes nothing.
  const Outcome out = parseStream("GET / HTTP/1.1\r\n\r\n", SIZE_MAX, 1);
  ASSERT_EQ(out.requests.size(), 1U);
  EXPECT_TRUE(out.requests[0].headers.empty());
}

// ---------------------------------------------------------------------------------------------
// Framing

TEST(HttpParser, RefusesCodingBeforeChunkedWith501) {
  const Outcome out =
      parseStream("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n");
  EXPECT_EQ(out.status, 501);
}

TEST(HttpParser, RefusesContentLengthWithTransferEncodingWith400) {
  const Outcome out = parseStream(
      "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_EQ(out.status, 400);
}

TEST(HttpParser, RefusesTwoContentLengthsWith400) {
  // Even equal values: a list of lengths is a smuggling vector.
  const Outcome out =
      parseStream("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx");
  EXPECT_EQ(out.status, 400);
}

TEST(HttpParser, RefusesTransferEncodingInHttp10With400) {
  const Outcome out = parseStream("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_EQ(out.status, 400);
}

TEST(HttpParser, DecodesChunkedBody) {
  const Outcome out = parseStream(
      "POST / HTTP/1.1\r\nTransfer-Encoding: "
      "chunked\r\n\r\n3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n",
      SIZE_MAX, 1);
  ASSERT_EQ(out.requests.size(), 1U);
  EXPECT_TRUE(out.requests[0].chunked);
  EXPECT_EQ(out.requests[0].content_length, -1);
  EXPECT_EQ(out.requests[0].body, "abc0123456789");
}

TEST(HttpParser, RefusesObsoleteLineFoldingWith400) {
  const Outcome out = parseStream("GET / HTTP/1.1\r\nX-A: b\r\n c\r\n\r\n");
  EXPECT_EQ(out.last, Result::Error);
  EXPECT_EQ(out.status, 400);
}

TEST(HttpParser, RefusesObsoleteLineFoldingSplitAfterTheLineEndWith400) {
  HttpParser parser({}, kMemoryLimit, "");
  size_t consumed = 0;
  EXPECT_EQ(parser.execute("GET / HTTP/1.1\r\nX-A: b\r\n", consumed), Result::NeedMore);
  EXPECT_EQ(parser.execute(" c\r\n\r\n", consumed), Result::Error);
  EXPECT_EQ(parser.errorStatus(), 400);
}

TEST(HttpParser, RefusesObsoleteLineFoldingInTrailersWith400) {
  const Outcome out =
      parseStream("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: a\r\n b\r\n\r\n");
  EXPECT_EQ(out.status, 400);
}

TEST(HttpParser, RefusesForbiddenTrailersWith400) {
  for (const char* name : {"Content-Length", "Host", "transfer-encoding"}) {
    const Outcome out =
        parseStream(std::string("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                                "1\r\nx\r\n0\r\n") +
                    name + ": 1\r\n\r\n");
    EXPECT_EQ(out.status, 400) << name;
  }
}

TEST(HttpParser, DropsOtherTrailers) {
  const Outcome out = parseStream(
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "1\r\nx\r\n0\r\nX-Checksum: abc\r\nVary: *\r\n\r\n",
      SIZE_MAX, 1);
  ASSERT_EQ(out.requests.size(), 1U);
  EXPECT_EQ(out.requests[0].body, "x");
  ASSERT_EQ(out.requests[0].headers.size(), 1U);
  EXPECT_EQ(out.requests[0].headers[0].first, "Transfer-Encoding");
}

TEST(HttpParser, RefusesDuplicateHostWith400) {
  EXPECT_EQ(parseStream("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n").status, 400);
}

TEST(HttpParser, RefusesDuplicateContentTypeWith400) {
  EXPECT_EQ(parseStream("GET / HTTP/1.1\r\nContent-Type: a/b\r\nContent-Type: c/d\r\n\r\n").status,
            400);
}

TEST(HttpParser, TrimsWhitespaceAroundFieldValues) {
  const Outcome out = parseStream("GET / HTTP/1.1\r\nName: \t v a \t \r\n\r\n", SIZE_MAX, 1);
  ASSERT_EQ(out.requests.size(), 1U);
  EXPECT_EQ(out.requests[0].headers[0].second, "v a");
}

// ---------------------------------------------------------------------------------------------
// Targets

TEST(HttpParser, SplitsTargetIntoPathAndQuery) {
  const Outcome out = parseStream("GET /a%20b/c?x=1&y=%2F#frag HTTP/1.1\r\n\r\n", SIZE_MAX, 1);
  ASSERT_EQ(out.requests.size(), 1U);
  EXPECT_EQ(out.requests[0].target, "/a%20b/c?x=1&y=%2F#frag");
  EXPECT_EQ(out.requests[0].path, "/a%20b/c");
  EXPECT_EQ(out.requests[0].query, "x=1&y=%2F");
}

TEST(HttpParser, TakesPathOfAbsoluteFormTarget) {
  const Outcome out = parseStream("GET http://example.com?q HTTP/1.1\r\n\r\n", SIZE_MAX, 1);
  ASSERT_EQ(out.requests.size(), 1U);
  EXPECT_EQ(out.requests[0].path, "/");
  EXPECT_EQ(out.requests[0].query, "q");
}

TEST(HttpParser, RefusesAbsoluteFormWithOtherSchemeWith400) {
  EXPECT_EQ(parseStream("GET ftp://example.com/ HTTP/1.1\r\n\r\n").status, 400);
}

// ---------------------------------------------------------------------------------------------
// Pipelining and the end of the stream

TEST(HttpParser, PausesAfterEachRequestWithTheRestUnconsumed) {
  const std::string first = "GET /one HTTP/1.1\r\n\r\n";
  const std::string second = "POST /two HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi";
  const std::string both = first + second;
  HttpParser parser({}, kMemoryLimit, "");
  size_t consumed = 0;
  ASSERT_EQ(parser.execute(both, consumed), Result::Complete);
  EXPECT_EQ(consumed, first.size());
  EXPECT_EQ(parser.request().path, "/one");
  parser.next();
  EXPECT_FALSE(parser.inMessage());
  ASSERT_EQ(parser.execute(std::string_view(both).substr(consumed), consumed), Result::Complete);
  EXPECT_EQ(consumed, second.size());
  EXPECT_EQ(parser.request().path, "/two");
  EXPECT_EQ(readBody(parser.request().body.release()), "hi");
}

TEST(HttpParser, ResetsRequestFieldsForTheNextMessage) {
  const Outcome out = parseStream(
      "POST /a?q HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx"
      "GET /b HTTP/1.1\r\n\r\n",
      SIZE_MAX, 2);
  ASSERT_EQ(out.requests.size(), 2U);
  const Parsed& b = out.requests[1];
  EXPECT_EQ(b.query, "");
  EXPECT_EQ(b.content_length, -1);
  EXPECT_TRUE(b.headers.empty());
  EXPECT_EQ(b.body, "");
  EXPECT_TRUE(b.keep_alive);
}

TEST(HttpParser, ClearsKeepAliveForConnectionClose) {
  const Outcome out = parseStream("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n", SIZE_MAX, 1);
  ASSERT_EQ(out.requests.size(), 1U);
  EXPECT_FALSE(out.requests[0].keep_alive);
}

TEST(HttpParser, KeepsHttp10AliveOnlyWhenAsked) {
  const Outcome plain = parseStream("GET / HTTP/1.0\r\n\r\n", SIZE_MAX, 1);
  ASSERT_EQ(plain.requests.size(), 1U);
  EXPECT_FALSE(plain.requests[0].keep_alive);
  const Outcome asked =
      parseStream("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", SIZE_MAX, 1);
  ASSERT_EQ(asked.requests.size(), 1U);
  EXPECT_TRUE(asked.requests[0].keep_alive);
}

TEST(HttpParser, SkipsBlankLinesBetweenRequests) {
  const Outcome out =
      parseStream("GET /a HTTP/1.1\r\n\r\n\r\nGET /b HTTP/1.1\r\n\r\n", SIZE_MAX, 2);
  ASSERT_EQ(out.requests.size(), 2U);
  EXPECT_EQ(out.requests[1].path, "/b");
}

TEST(HttpParser, FinishReturnsNeedMoreOutsideAMessage) {
  HttpParser parser({}, kMemoryLimit, "");
  EXPECT_EQ(parser.finish(), Result::NeedMore);
  size_t consumed = 0;
  ASSERT_EQ(parser.execute("GET / HTTP/1.1\r\n\r\n", consumed), Result::Complete);
  parser.next();
  EXPECT_EQ(parser.finish(), Result::NeedMore);
}

TEST(HttpParser, FinishRefusesAHeadCutShortWith400) {
  HttpParser parser({}, kMemoryLimit, "");
  size_t consumed = 0;
  ASSERT_EQ(parser.execute("GET / HTTP/1.1\r\nHost: a", consumed), Result::NeedMore);
  EXPECT_TRUE(parser.inMessage());
  EXPECT_EQ(parser.finish(), Result::Error);
  EXPECT_EQ(parser.errorStatus(), 400);
}

TEST(HttpParser, FinishRefusesABodyCutShortWith400) {
  HttpParser parser({}, kMemoryLimit, "");
  size_t consumed = 0;
  ASSERT_EQ(parser.execute("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", consumed),
            Result::NeedMore);
  EXPECT_TRUE(parser.headComplete());
  EXPECT_EQ(parser.finish(), Result::Error);
  EXPECT_EQ(parser.errorStatus(), 400);
}

// ---------------------------------------------------------------------------------------------
// Bodies

TEST(HttpParser, KeepsSmallBodyInMemory) {
  HttpParser parser({}, 16, "");
  size_t consumed = 0;
  ASSERT_EQ(
      parser.execute("POST / HTTP/1.1\r\nContent-Length: 16\r\n\r\n0123456789abcdef", consumed),
      Result::Complete);
  embed::RequestBody body = parser.request().body.release();
  EXPECT_EQ(body.fd, -1);
  EXPECT_EQ(body.size, 16U);
  EXPECT_EQ(body.memory, "0123456789abcdef");
}

TEST(HttpParser, SpoolsBodyOverTheMemoryLimitToAFile) {
  std::string payload;
  for (int i = 0; i < 1000; ++i) {
    payload += static_cast<char>('a' + i % 26);
  }
  const std::string raw = "POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n" + payload;
  HttpParser parser({}, 16, "");
  size_t consumed = 0;
  // Two reads, so the body arrives in pieces on both sides of the threshold.
  ASSERT_EQ(parser.execute(std::string_view(raw).substr(0, 50), consumed), Result::NeedMore);
  ASSERT_EQ(parser.execute(std::string_view(raw).substr(50), consumed), Result::Complete);
  embed::RequestBody body = parser.request().body.release();
  ASSERT_GE(body.fd, 0);
  EXPECT_TRUE(body.memory.empty());
  EXPECT_EQ(body.size, 1000U);
  std::string got(1000, '\0');
  EXPECT_EQ(::pread(body.fd, got.data(), got.size(), 0), 1000);
  EXPECT_EQ(got, payload);
  ::close(body.fd);
}

size_t openDescriptors() {
  const auto entries = std::filesystem::directory_iterator("/proc/self/fd");
  return static_cast<size_t>(std::distance(begin(entries), end(entries)));
}

TEST(HttpParser, NextClosesASpooledBodyNobodyTook) {
  // The server answers some requests itself (a refused token, a static file) and never hands
  // their body to the app; next() must not leak the spooled file.
  const size_t before = openDescriptors();
  HttpParser parser({}, 16, "");
  size_t consumed = 0;
  ASSERT_EQ(parser.execute("POST / HTTP/1.1\r\nContent-Length: 32\r\n\r\n" + std::string(32, 'x'),
                           consumed),
            Result::Complete);
  EXPECT_EQ(openDescriptors(), before + 1);
  parser.next();
  EXPECT_EQ(openDescriptors(), before);
}

}  // namespace
}  // namespace appserver::server
