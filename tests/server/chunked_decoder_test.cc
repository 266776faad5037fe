// chunked_decoder_test.cc: ChunkedDecoder and parseChunkLine (RFC 9112 7.1) on their own.
//
// The decoder is fed the bytes after a chunked request's head, whole and one byte at a time;
// tests check the decoded body, where the message ends (the rest belongs to the next one),
// the strict line rules (CRLF only, bounded lines, bounded sizes), the body limit (413) and
// the trailer rules. HttpParser's corpus tests cover it again behind llhttp.
// Thread: the test's main thread.
#include "chunked_decoder.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace appserver::server {
namespace {

using Result = ChunkedDecoder::Result;

constexpr uint64_t kLimit = 1 << 20;
constexpr size_t kMaxLine = 64;
constexpr size_t kMaxTrailers = 4;

struct Decoded {
  Result result = Result::NeedMore;
  int status = 0;
  size_t consumed = 0;
  std::string body;
};

// Feeds wire to a fresh decoder in pieces of at most piece bytes, until Done or Error.
Decoded decode(std::string_view wire, size_t piece = SIZE_MAX, uint64_t limit = kLimit) {
  ChunkedDecoder decoder(limit, kMaxLine, kMaxTrailers);
  BodyBuffer body;
  body.configure(kLimit, "");
  Decoded out;
  while (out.consumed < wire.size() && out.result == Result::NeedMore) {
    size_t used = 0;
    out.result = decoder.feed(wire.substr(out.consumed, piece), used, body);
    out.consumed += used;
  }
  out.status = decoder.status();
  embed::RequestBody released = body.release();
  out.body = released.memory;
  return out;
}

// decode() whole and byte by byte; both must agree. Returns the whole-feed result.
Decoded decodeBothWays(std::string_view wire, uint64_t limit = kLimit) {
  const Decoded whole = decode(wire, SIZE_MAX, limit);
  const Decoded split = decode(wire, 1, limit);
  EXPECT_EQ(split.result, whole.result) << "fed byte by byte";
  EXPECT_EQ(split.status, whole.status) << "fed byte by byte";
  EXPECT_EQ(split.body, whole.body) << "fed byte by byte";
  if (whole.result == Result::Done) {
    EXPECT_EQ(split.consumed, whole.consumed) << "fed byte by byte";
  }
  return whole;
}

int statusOf(std::string_view wire, uint64_t limit = kLimit) {
  const Decoded d = decodeBothWays(wire, limit);
  EXPECT_EQ(d.result, Result::Error) << wire;
  return d.status;
}

TEST(ChunkedDecoder, DecodesChunks) {
  const std::string wire = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  const Decoded d = decodeBothWays(wire);
  EXPECT_EQ(d.result, Result::Done);
  EXPECT_EQ(d.body, "hello world");
  EXPECT_EQ(d.consumed, wire.size());
}

TEST(ChunkedDecoder, LeavesTheNextMessageUnconsumed) {
  const std::string body = "a\r\n0123456789\r\n0\r\n\r\n";
  const Decoded d = decodeBothWays(body + "GET /next HTTP/1.1\r\n\r\n");
  EXPECT_EQ(d.result, Result::Done);
  EXPECT_EQ(d.consumed, body.size());
  EXPECT_EQ(d.body, "0123456789");
}

TEST(ChunkedDecoder, WaitsForTheEndOfTheBody) {
  EXPECT_EQ(decode("5\r\nhel").result, Result::NeedMore);
  EXPECT_EQ(decode("5\r\nhello\r\n0\r\n").result, Result::NeedMore);  // trailers still to come
  EXPECT_EQ(decode("5\r\nhello\r\n0\r\nX-T: 1\r\n").result, Result::NeedMore);
}

TEST(ChunkedDecoder, IgnoresExtensions) {
  const Decoded d =
      decodeBothWays("5 ; name = value ;flag\r\nhello\r\n0;last=\"a \\\" b\"\r\n\r\n");
  EXPECT_EQ(d.result, Result::Done);
  EXPECT_EQ(d.body, "hello");
}

TEST(ChunkedDecoder, DropsTrailers) {
  const Decoded d = decodeBothWays("1\r\nx\r\n0\r\nX-Checksum: abc\r\nVary: *\r\n\r\n");
  EXPECT_EQ(d.result, Result::Done);
  EXPECT_EQ(d.body, "x");
}

TEST(ChunkedDecoder, RefusesForbiddenTrailers) {
  for (const char* name : {"Content-Length", "transfer-encoding", "Host", "Connection", "TE",
                           "Trailer", "Upgrade", "Expect", "Keep-Alive"}) {
    EXPECT_EQ(statusOf(std::string("0\r\n") + name + ": 1\r\n\r\n"), 400) << name;
  }
}

TEST(ChunkedDecoder, RefusesMalformedTrailers) {
  EXPECT_EQ(statusOf("0\r\nno colon\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("0\r\n: empty name\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("0\r\nX Bad: 1\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("0\r\nX-T: a\r\n folded\r\n\r\n"), 400);
}

TEST(ChunkedDecoder, RefusesTooManyTrailersWith431) {
  std::string wire = "0\r\n";
  for (size_t i = 0; i <= kMaxTrailers; ++i) {
    wire += "X-T" + std::to_string(i) + ": v\r\n";
  }
  EXPECT_EQ(statusOf(wire + "\r\n"), 431);
}

TEST(ChunkedDecoder, RefusesBareLineFeedsAndCarriageReturns) {
  EXPECT_EQ(statusOf("5\nhello\r\n0\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("5\r\nhello\n0\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("5\rhello\r\n0\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("0\r\n\n"), 400);
  EXPECT_EQ(statusOf("5;a\rb\r\nhello\r\n0\r\n\r\n"), 400);
}

TEST(ChunkedDecoder, RefusesNul) {
  EXPECT_EQ(statusOf(std::string_view("5;a\0b\r\nhello", 12)), 400);
  EXPECT_EQ(statusOf(std::string_view("0\r\nX-T: a\0b\r\n\r\n", 15)), 400);
}

TEST(ChunkedDecoder, RefusesDataNotFollowedByCrlf) {
  EXPECT_EQ(statusOf("5\r\nhelloX\r\n0\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("5\r\nhello0\r\n\r\n"), 400);
}

TEST(ChunkedDecoder, RefusesOverlongLines) {
  EXPECT_EQ(statusOf("5;" + std::string(kMaxLine, 'e') + "\r\nhello\r\n0\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("0\r\nX-T: " + std::string(kMaxLine, 'v') + "\r\n\r\n"), 400);
}

TEST(ChunkedDecoder, RefusesBodyOverTheLimitWith413BeforeItsData) {
  EXPECT_EQ(decodeBothWays("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", 10).result, Result::Done);
  // The size line alone decides: the client need not send the data.
  const Decoded d = decodeBothWays("5\r\nhello\r\n6\r\n", 10);
  EXPECT_EQ(d.result, Result::Error);
  EXPECT_EQ(d.status, 413);
  EXPECT_EQ(statusOf("FFFFFFFFFFFFFFFF\r\n"), 413);
}

TEST(ChunkedDecoder, ReportsBodyStorageFailureWith500) {
  ChunkedDecoder decoder(kLimit, kMaxLine, kMaxTrailers);
  BodyBuffer body;
  body.configure(0, "/nonexistent-appserver-test-dir");
  size_t used = 0;
  EXPECT_EQ(decoder.feed("5\r\nhello\r\n0\r\n\r\n", used, body), Result::Error);
  EXPECT_EQ(decoder.status(), 500);
}

TEST(ChunkedDecoder, DecodesAgainAfterReset) {
  ChunkedDecoder decoder(kLimit, kMaxLine, kMaxTrailers);
  BodyBuffer body;
  body.configure(kLimit, "");
  size_t used = 0;
  EXPECT_EQ(decoder.feed("zz\r\n", used, body), Result::Error);
  decoder.reset();
  EXPECT_EQ(decoder.status(), 0);
  EXPECT_EQ(decoder.feed("2\r\nok\r\n0\r\n\r\n", used, body), Result::Done);
  EXPECT_EQ(body.release().memory, "ok");
}

// ---------------------------------------------------------------------------------------------
// parseChunkLine

uint64_t sizeOf(std::string_view line) {
  uint64_t size = 0;
  EXPECT_TRUE(parseChunkLine(line, size)) << line;
  return size;
}

TEST(ParseChunkLine, ReadsHexSizes) {
  EXPECT_EQ(sizeOf("0"), 0U);
  EXPECT_EQ(sizeOf("a"), 10U);
  EXPECT_EQ(sizeOf("FF"), 255U);
  EXPECT_EQ(sizeOf("0005"), 5U);
  EXPECT_EQ(sizeOf("FFFFFFFFFFFFFFFF"), UINT64_MAX);
}

TEST(ParseChunkLine, AcceptsExtensionsWithOptionalWhitespace) {
  for (const char* line :
       {"5;a", "5;a=b", "5 ;a", "5\t; a =\tb", "5;a=\"x y\"", "5;a=\"q\\\"\"", "5;a;b=c;d=\"\""}) {
    EXPECT_EQ(sizeOf(line), 5U) << line;
  }
}

TEST(ParseChunkLine, RefusesMalformedLines) {
  for (const char* line :
       {"", " 5", "5 ", "-5", "+5", "0x5", "6_0", "5;", "5;=b", "5;a=", "5;a b", "5;a=\"open",
        "5;a=b c", "5;a=\"\x01\"", "5,a", "10000000000000000" /* 17 digits would wrap */}) {
    uint64_t size = 0;
    EXPECT_FALSE(parseChunkLine(line, size)) << line;
  }
}

}  // namespace
}  // namespace appserver::server
