// http_response_test.cc: response heads (buildHead framing) and the server's own answers.
//
// buildHead() reads the app's status and headers from an embed::WsgiCall, which only a
// running app can fill in: tests/embed/apps/wsgi_head.py answers with whatever head the
// request body spells out, so each test states the app's head in wire form. The request
// side is a real HttpRequest from HttpParser. This binary uses tests/embed's main(), which
// owns the interpreter. The Date header is checked for its format, not its value.
// Thread: the test's main thread.
#include "http_response.h"

#include <gtest/gtest.h>

#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "http_parser.h"
#include "test_app.h"

namespace appserver::server {
namespace {

using embed::TestApp;
using embed::TestRequest;
using embed::WsgiCall;
using Lines = std::vector<std::string>;

constexpr std::string_view kGet11 = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
constexpr const char* kDate = "Date: <now>";

// Splits a head into its lines; a well-formed Date line becomes kDate, so tests compare
// whole heads. Fails the test when the head does not end with the blank line.
Lines linesOf(const std::string& head) {
  static const std::regex date(
      R"(Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT)");
  EXPECT_TRUE(head.ends_with("\r\n\r\n")) << head;
  Lines lines;
  size_t at = 0;
  while (at < head.size()) {
    const size_t end = head.find("\r\n", at);
    if (end == std::string::npos || end == at) {
      break;
    }
    std::string line = head.substr(at, end - at);
    lines.push_back(std::regex_match(line, date) ? kDate : line);
    at = end + 2;
  }
  return lines;
}

class BuildHeadTest : public testing::Test {
 protected:
  // Parses request_bytes, has the app answer with app_head ("STATUS\r\nName: value\r\n...")
  // and builds the head; framing_ gets the result. Returns the head's lines.
  Lines build(const std::string& app_head, std::string_view request_bytes = kGet11,
              bool body_known = true, uint64_t body_size = 0, bool keep_alive = true,
              std::string_view request_id = "") {
    parser_ = std::make_unique<HttpParser>(HttpLimits{}, 1 << 20, "");
    size_t consumed = 0;
    EXPECT_EQ(parser_->execute(request_bytes, consumed), HttpParser::Result::Complete);
    TestRequest request;
    request.method = "POST";
    request.body = app_head;
    call_.reset();
    app_.start(call_, request);
    EXPECT_EQ(call_.state(), WsgiCall::State::Finished) << call_.error();
    std::string out;
    framing_ =
        buildHead(out, parser_->request(), call_, body_known, body_size, keep_alive, request_id);
    return linesOf(out);
  }

  TestApp app_{"wsgi_head"};
  WsgiCall call_;
  std::unique_ptr<HttpParser> parser_;
  ResponseFraming framing_;
};

TEST_F(BuildHeadTest, KeepsTheAppsContentLength) {
  EXPECT_EQ(build("200 OK\r\nContent-Length: 5\r\n", kGet11, true, 5),
            (Lines{"HTTP/1.1 200 OK", "Content-Length: 5", "Server: appserver", kDate}));
  EXPECT_EQ(framing_.status, 200);
  EXPECT_EQ(framing_.length, 5);
  EXPECT_TRUE(framing_.send_body);
  EXPECT_FALSE(framing_.chunked);
  EXPECT_FALSE(framing_.close);
  EXPECT_FALSE(framing_.bad_length);
}

TEST_F(BuildHeadTest, AddsTheRequestIdUnlessTheAppSentOne) {
  EXPECT_EQ(build("200 OK\r\nContent-Length: 0\r\n", kGet11, true, 0, true, "abc123"),
            (Lines{"HTTP/1.1 200 OK", "Content-Length: 0", "Server: appserver", kDate,
                   "X-Request-ID: abc123"}));
  EXPECT_EQ(build("200 OK\r\nx-request-id: app\r\nContent-Length: 0\r\n", kGet11, true, 0,
                  true, "abc123"),
            (Lines{"HTTP/1.1 200 OK", "x-request-id: app", "Content-Length: 0",
                   "Server: appserver", kDate}));
}

// The head is written into room reserved up front: every byte of a large one must fit.
TEST_F(BuildHeadTest, WritesALargeHeadWhole) {
  std::string app_head = "200 " + std::string(300, 'r') + "\r\n";
  Lines expected = {"HTTP/1.1 200 " + std::string(300, 'r')};
  for (int i = 0; i < 40; ++i) {
    const std::string line = "X-Field-" + std::to_string(i) + ": " + std::string(500, 'v');
    app_head += line + "\r\n";
    expected.push_back(line);
  }
  const std::string id(200, 'i');  // the longest id a proxy may send
  expected.insert(expected.end(), {"Transfer-Encoding: chunked", "Server: appserver", kDate,
                                   "X-Request-ID: " + id});
  EXPECT_EQ(build(app_head, kGet11, false, 0, true, id), expected);
}

TEST_F(BuildHeadTest, KeepsTheAppsContentLengthOverTheKnownBodySize) {
  // The connection, not buildHead, notices an app that sends less than it announced.
  EXPECT_EQ(build("200 OK\r\nContent-Length: 10\r\n", kGet11, true, 3),
            (Lines{"HTTP/1.1 200 OK", "Content-Length: 10", "Server: appserver", kDate}));
  EXPECT_EQ(framing_.length, 10);
}

TEST_F(BuildHeadTest, AddsContentLengthForAKnownBody) {
  EXPECT_EQ(build("404 Not Found\r\nContent-Type: text/plain\r\n", kGet11, true, 12),
            (Lines{"HTTP/1.1 404 Not Found", "Content-Type: text/plain", "Content-Length: 12",
                   "Server: appserver", kDate}));
  EXPECT_EQ(framing_.status, 404);
  EXPECT_EQ(framing_.length, 12);
}

TEST_F(BuildHeadTest, ChunksAStreamingBodyOnHttp11) {
  EXPECT_EQ(build("200 OK\r\n", kGet11, false),
            (Lines{"HTTP/1.1 200 OK", "Transfer-Encoding: chunked", "Server: appserver", kDate}));
  EXPECT_TRUE(framing_.chunked);
  EXPECT_EQ(framing_.length, -1);
  EXPECT_FALSE(framing_.close);
}

TEST_F(BuildHeadTest, ClosesAfterAStreamingBodyOnHttp10) {
  EXPECT_EQ(build("200 OK\r\n", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", false),
            (Lines{"HTTP/1.1 200 OK", "Server: appserver", kDate, "Connection: close"}));
  EXPECT_FALSE(framing_.chunked);
  EXPECT_TRUE(framing_.close);
}

TEST_F(BuildHeadTest, KeepsHttp10AliveWithAKnownLength) {
  EXPECT_EQ(build("200 OK\r\n", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true, 2),
            (Lines{"HTTP/1.1 200 OK", "Content-Length: 2", "Server: appserver", kDate,
                   "Connection: keep-alive"}));
  EXPECT_FALSE(framing_.close);
}

TEST_F(BuildHeadTest, SendsNoBodyForHeadButKeepsTheAppsContentLength) {
  EXPECT_EQ(build("200 OK\r\nContent-Length: 1234\r\n", "HEAD / HTTP/1.1\r\n\r\n", true, 0),
            (Lines{"HTTP/1.1 200 OK", "Content-Length: 1234", "Server: appserver", kDate}));
  EXPECT_FALSE(framing_.send_body);
  EXPECT_EQ(framing_.length, 1234);
  EXPECT_FALSE(framing_.close);
}

TEST_F(BuildHeadTest, NeverAddsALengthTo204Or304) {
  EXPECT_EQ(build("204 No Content\r\n", kGet11, true, 0),
            (Lines{"HTTP/1.1 204 No Content", "Server: appserver", kDate}));
  EXPECT_FALSE(framing_.send_body);
  EXPECT_FALSE(framing_.chunked);
  EXPECT_EQ(build("304 Not Modified\r\nETag: \"x\"\r\n", kGet11, false),
            (Lines{"HTTP/1.1 304 Not Modified", "ETag: \"x\"", "Server: appserver", kDate}));
  EXPECT_FALSE(framing_.send_body);
  EXPECT_FALSE(framing_.chunked);
  EXPECT_FALSE(framing_.close);
}

TEST_F(BuildHeadTest, DropsTheAppsContentLengthFrom204) {
  // RFC 9110 8.6: a server MUST NOT send Content-Length in a 204. Django's CommonMiddleware
  // adds "Content-Length: 0" to every non-streaming response, 204 included.
  const Lines lines = build("204 No Content\r\nContent-Length: 0\r\n", kGet11, true, 0);
  EXPECT_EQ(lines, (Lines{"HTTP/1.1 204 No Content", "Server: appserver", kDate}));
}

TEST_F(BuildHeadTest, DropsHopByHopHeaders) {
  EXPECT_EQ(
      build("200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n"
            "Proxy-Connection: keep-alive\r\nTransfer-Encoding: chunked\r\nTE: trailers\r\n"
            "Upgrade: h2c\r\nTrailer: X-Sum\r\nX-Kept: yes\r\n",
            kGet11, true, 1),
      (Lines{"HTTP/1.1 200 OK", "X-Kept: yes", "Content-Length: 1", "Server: appserver", kDate}));
  EXPECT_FALSE(framing_.chunked);
  EXPECT_FALSE(framing_.close);
}

TEST_F(BuildHeadTest, HonoursConnectionCloseFromTheApp) {
  EXPECT_EQ(build("200 OK\r\nConnection: Close\r\n", kGet11, true, 0),
            (Lines{"HTTP/1.1 200 OK", "Content-Length: 0", "Server: appserver", kDate,
                   "Connection: close"}));
  EXPECT_TRUE(framing_.close);
}

TEST_F(BuildHeadTest, ClosesWhenTheConnectionMayNotStayOpen) {
  EXPECT_EQ(build("200 OK\r\nConnection: keep-alive\r\n", kGet11, true, 0, false),
            (Lines{"HTTP/1.1 200 OK", "Content-Length: 0", "Server: appserver", kDate,
                   "Connection: close"}));
  EXPECT_TRUE(framing_.close);
}

TEST_F(BuildHeadTest, KeepsTheAppsServerAndDate) {
  EXPECT_EQ(build("200 OK\r\nserver: custom/1\r\ndate: Tue, 15 Nov 1994 08:12:31 GMT\r\n", kGet11,
                  true, 0),
            (Lines{"HTTP/1.1 200 OK", "server: custom/1", "date: Tue, 15 Nov 1994 08:12:31 GMT",
                   "Content-Length: 0"}));
}

TEST_F(BuildHeadTest, KeepsTheAppsReasonPhrase) {
  EXPECT_EQ(build("299 Custom Reason\r\n", kGet11, true, 0)[0], "HTTP/1.1 299 Custom Reason");
  EXPECT_EQ(framing_.status, 299);
}

TEST_F(BuildHeadTest, KeepsTheSpaceAfterAStatusCodeWithoutReason) {
  // RFC 9112 4: status-line = HTTP-version SP status-code SP [ reason-phrase ]. PEP 3333 wants
  // "200 OK"; refusing a bare "200" in start_response would be as good as repairing it here.
  TestRequest request;
  request.body = "200\r\n";
  app_.start(call_, request);
  if (call_.state() == WsgiCall::State::Failed) {
    return;  // refused
  }
  parser_ = std::make_unique<HttpParser>(HttpLimits{}, 1 << 20, "");
  size_t consumed = 0;
  ASSERT_EQ(parser_->execute(kGet11, consumed), HttpParser::Result::Complete);
  std::string out;
  buildHead(out, parser_->request(), call_, true, 0, true, "");
  EXPECT_TRUE(out.starts_with("HTTP/1.1 200 \r\n")) << out;
}

TEST_F(BuildHeadTest, FlagsMalformedContentLength) {
  for (const char* value : {"abc", "-1", "1.5", "+5", "0x10", "99999999999999999999"}) {
    build(std::string("200 OK\r\nContent-Length: ") + value + "\r\n", kGet11, true, 0);
    EXPECT_TRUE(framing_.bad_length) << value;
  }
}

TEST_F(BuildHeadTest, FlagsConflictingContentLengths) {
  build("200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n", kGet11, true, 5);
  EXPECT_TRUE(framing_.bad_length);
  build("200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n", kGet11, true, 5);
  EXPECT_FALSE(framing_.bad_length);
  EXPECT_EQ(framing_.length, 5);
}

// ---------------------------------------------------------------------------------------------
// The server's own answers

// response split at the blank line: (head lines, body).
std::pair<Lines, std::string> split(const std::string& response) {
  const size_t end = response.find("\r\n\r\n");
  return {linesOf(response.substr(0, end + 4)), response.substr(end + 4)};
}

TEST(HttpResponse, BuildsSimpleResponse) {
  const auto [lines, body] = split(simpleResponse(404, false));
  EXPECT_EQ(lines, (Lines{"HTTP/1.1 404 Not Found", "Server: appserver", kDate,
                          "Content-Type: text/plain; charset=utf-8", "Content-Length: 14"}));
  EXPECT_EQ(body, "404 Not Found\n");
}

TEST(HttpResponse, BuildsSimpleResponseThatCloses) {
  const auto [lines, body] = split(simpleResponse(413, true));
  EXPECT_EQ(lines, (Lines{"HTTP/1.1 413 Content Too Large", "Server: appserver", kDate,
                          "Content-Type: text/plain; charset=utf-8", "Content-Length: 22",
                          "Connection: close"}));
  EXPECT_EQ(body, "413 Content Too Large\n");
}

TEST(HttpResponse, BuildsServerResponseWithExtraHeaders) {
  const auto [lines, body] = split(serverResponse(401, "application/json", R"({"detail":"x"})",
                                                  {{"WWW-Authenticate", "Bearer"}}, false));
  EXPECT_EQ(lines, (Lines{"HTTP/1.1 401 Unauthorized", "Server: appserver", kDate,
                          "WWW-Authenticate: Bearer", "Content-Type: application/json",
                          "Content-Length: 14"}));
  EXPECT_EQ(body, R"({"detail":"x"})");
}

TEST(HttpResponse, NamesTheStatusesTheServerSends) {
  EXPECT_EQ(reasonPhrase(400), "Bad Request");
  EXPECT_EQ(reasonPhrase(408), "Request Timeout");
  EXPECT_EQ(reasonPhrase(414), "URI Too Long");
  EXPECT_EQ(reasonPhrase(417), "Expectation Failed");
  EXPECT_EQ(reasonPhrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(reasonPhrase(500), "Internal Server Error");
  EXPECT_EQ(reasonPhrase(501), "Not Implemented");
  EXPECT_EQ(reasonPhrase(505), "HTTP Version Not Supported");
}

TEST(HttpResponse, BuildsContinueResponse) {
  EXPECT_EQ(continueResponse(), "HTTP/1.1 100 Continue\r\n\r\n");
}

TEST(HttpResponse, FramesChunksInHex) {
  std::string out;
  appendChunkHeader(out, 5);
  out.append("hello").append(kChunkEnd);
  appendChunkHeader(out, 255);
  EXPECT_EQ(out, "5\r\nhello\r\nff\r\n");
  out.clear();
  appendChunkHeader(out, 4096);
  out.append(kLastChunk);
  EXPECT_EQ(out, "1000\r\n0\r\n\r\n");
}

}  // namespace
}  // namespace appserver::server
