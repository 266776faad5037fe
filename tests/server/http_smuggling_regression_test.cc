// http_smuggling_regression_test.cc: the exploits of llhttp's CVEs, and the bugs that the
// fuzzers and the security review found, replayed against HttpParser.
//
// llhttp 8.1.0 (Debian's node-llhttp) predates several upstream security fixes; each CVE
// here sends its published exploit with a request smuggled behind it, and the parser must
// refuse the message (400, or 413 for a size) before the smuggled request is ever parsed,
// whether the bytes arrive in one read or one byte per read. docs/security.md maps each CVE
// to the check that stops it. A test of a bug that is not fixed yet starts with
// GTEST_SKIP() << "bug: ..." so the suite stays green; the skip goes with the fix.
// No sockets, no Python: the parser is driven directly (parse_stream.h); the same payloads
// go through a real server in tests/integration/test_smuggling.py.
// Thread: the test's main thread.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "http_parser.h"
#include "parse_stream.h"

namespace appserver::server {
namespace {

using Result = HttpParser::Result;

// Appended to every exploit: it must never come out of the parser.
constexpr std::string_view kSmuggled = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";

// Parses raw + kSmuggled whole and one byte per read; both must refuse with status and
// hand over no request at all.
void expectRefused(std::string_view raw, int status) {
  const std::string stream = std::string(raw) + std::string(kSmuggled);
  for (const size_t piece : {SIZE_MAX, size_t{1}}) {
    const Outcome out = parseStream(stream, piece);
    EXPECT_EQ(out.last, Result::Error) << "piece " << piece;
    EXPECT_EQ(out.status, status) << "piece " << piece;
    EXPECT_TRUE(out.requests.empty()) << "piece " << piece << ": parsed "
                                      << out.requests.front().target;
  }
}

std::string chunkedPost(std::string_view body) {
  return "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(body);
}

// ---------------------------------------------------------------------------------------------
// llhttp CVEs published after 8.1.0

// CVE-2023-30589: a CR not followed by LF ended a header line, so "\rxTransfer-Encoding"
// became a second field. Stopped by llhttp's strict mode (LLHTTP_STRICT_MODE=1).
TEST(LlhttpCve, RefusesCrWithoutLfInsideAFieldLine) {
  expectRefused("POST / HTTP/1.1\r\nHost: a\r\nX-Abc: \rxTransfer-Encoding: chunked\r\n\r\n"
                "1\r\nA\r\n0\r\n\r\n",
                400);
}

// CVE-2024-27982: a space before the first field name ("\r\n Content-Length: 5") was not
// read as the Content-Length. Stopped by llhttp ("Unexpected space after start line").
TEST(LlhttpCve, RefusesWhitespaceBeforeTheFirstFieldName) {
  expectRefused("POST / HTTP/1.1\r\n Content-Length: 5\r\nHost: a\r\n\r\nhello", 400);
  expectRefused("POST / HTTP/1.1\r\n\tContent-Length: 5\r\nHost: a\r\n\r\nhello", 400);
}

// CVE-2024-27982 on a later line is obs-fold: refused by HttpParser's own check.
TEST(LlhttpCve, RefusesWhitespaceBeforeALaterFieldName) {
  expectRefused("POST / HTTP/1.1\r\nHost: a\r\n Content-Length: 5\r\n\r\nhello", 400);
}

// CVE-2025-23167: "\r\n\rX" ended the head like "\r\n\r\n". Stopped by llhttp's strict mode.
TEST(LlhttpCve, RefusesCrAndAnyByteAsTheEndOfTheHead) {
  expectRefused("GET / HTTP/1.1\r\nHost: a\r\n\rX", 400);
  expectRefused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\rXabc", 400);
}

// CVE-2024-22019: unbounded chunk extensions. One line is bounded by ChunkedDecoder (4 KiB).
TEST(LlhttpCve, RefusesAnOverlongChunkExtension) {
  expectRefused(chunkedPost("1;" + std::string(20000, 'x') + "\r\nA\r\n0\r\n\r\n"), 400);
}

// CVE-2024-22019 as Node fixed it: at most 16 KiB of extensions in a whole message, so the
// wire bytes of a body cannot exceed its size by an unbounded factor (fixed in e0b4ee2).
TEST(LlhttpCve, RefusesMoreThan16KiBOfChunkExtensionsInOneMessage) {
  std::string body;
  for (int i = 0; i < 20; ++i) {
    body += "1;" + std::string(4000, 'x') + "\r\nA\r\n";
  }
  expectRefused(chunkedPost(body + "0\r\n\r\n"), 413);
}

// ---------------------------------------------------------------------------------------------
// Fixed in llhttp before 8.1.0; replayed so a change of parser or of its flags shows.

// CVE-2022-32214: LF alone delimited header fields.
TEST(LlhttpCve, RefusesLfWithoutCrBetweenFields) {
  expectRefused("POST / HTTP/1.1\r\nHost: a\nContent-Length: 5\r\n\r\nhello", 400);
}

// CVE-2022-32213: a Transfer-Encoding whose last coding is not chunked.
TEST(LlhttpCve, RefusesTransferEncodingNotEndingInChunked) {
  expectRefused(
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 400);
}

// CVE-2022-32215: a Transfer-Encoding continued on a second (folded) line.
TEST(LlhttpCve, RefusesMultiLineTransferEncoding) {
  expectRefused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n , identity\r\n\r\n"
                "0\r\n\r\n",
                400);
}

// CVE-2022-35256: a field line not terminated with CRLF.
TEST(LlhttpCve, RefusesFieldLineEndedByCrAlone) {
  expectRefused("GET / HTTP/1.1\r\nHost: a\r\nX: y\rZ: w\r\n\r\n", 400);
}

// ---------------------------------------------------------------------------------------------
// Found by the review for docs/security.md (fixed in e0b4ee2)

// llhttp's strict mode lets a bare LF end the request line (nodejs/llhttp#877), while every
// other line needs CRLF. A front end that reads "GET / HTTP/1.1\nX: y" as one line disagrees.
TEST(HttpParserRegression, RefusesLfWithoutCrAfterTheRequestLine) {
  expectRefused("GET /x HTTP/1.1\nHost: a\r\n\r\n", 400);
}

// A request with "Connection: Upgrade" and "Upgrade: h2c" (curl --http2 on http://) is
// answered as plain HTTP/1.1, since the server never switches protocols; the connection
// must then go on with the next request.
TEST(HttpParserRegression, ParsesTheNextRequestAfterAnUpgradeRequest) {
  const Outcome out = parseStream(
      "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
      "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"
      "GET /next HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(out.requests.size(), 2U) << "status " << out.status;
  EXPECT_EQ(out.requests[1].target, "/next");
}

// ---------------------------------------------------------------------------------------------
// Found by fuzz_http (make fuzz)

// llhttp 8.1 takes a line starting with ':' as a field with an empty name, which reached the
// environ as "HTTP_" (RFC 9110 5.1: a field name is a token, at least one byte).
TEST(HttpParserRegression, RefusesAFieldWithoutAName) {
  expectRefused("GET / HTTP/1.1\r\n: identity\r\nHost: a\r\n\r\n", 400);
  expectRefused("GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", 400);
  expectRefused("GET / HTTP/1.1\r\nHost: a\r\n:\r\n\r\n", 400);
}

// A request line starting with an empty line and then more token bytes than any method has
// waited for more bytes forever (until --header-timeout): the empty line took the room
// kept for telling 400 from 501.
TEST(HttpParserRegression, RefusesALongNonMethodAfterAnEmptyLine) {
  expectRefused("\r\n" + std::string(40, '-') + "\r\n", 400);
  expectRefused("\r\n\r\n" + std::string(33, 'X') + " / HTTP/1.1\r\n\r\n", 400);
  expectRefused("\r\nFROBNICATE / HTTP/1.1\r\nHost: a\r\n\r\n", 501);
}

}  // namespace
}  // namespace appserver::server
