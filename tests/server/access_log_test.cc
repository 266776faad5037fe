// access_log_test.cc: the JSON access line and its escaping of arbitrary request bytes.
//
// Lines are parsed back with nlohmann::json, which rejects invalid UTF-8 and bad escapes,
// so "valid JSON" here means what a log pipeline's parser accepts. TZ is pinned to UTC.
// (Gunicorn's atoms are tested through Log in log_test.cc.)
// Thread: the test's main thread.
#include "access_log.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <time.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace appserver::server {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// 2024-01-02 03:04:05.250 UTC.
const auto kStart = std::chrono::system_clock::from_time_t(1704164645) + 250ms;

std::string jsonString(std::string_view bytes) {
  std::string out;
  appendJsonString(out, bytes);
  return out;
}

// What a JSON parser reads back from bytes escaped by appendJsonString.
std::string roundTrip(std::string_view bytes) {
  return json::parse("\"" + jsonString(bytes) + "\"").get<std::string>();
}

class AccessFormatJson : public testing::Test {
 protected:
  void SetUp() override {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
};

TEST(AppendJsonString, EscapesQuoteBackslashAndControlCharacters) {
  EXPECT_EQ(jsonString("a\"b\\c\nd\re\tf\x01g\x1fh\x7f"),
            R"(a\"b\\c\nd\re\tf\u0001g\u001fh\u007f)");
}

TEST(AppendJsonString, KeepsValidUtf8AsItIs) {
  const std::string text = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf";
  EXPECT_EQ(jsonString(text), text);
  EXPECT_EQ(roundTrip(text), text);
}

TEST(AppendJsonString, ReadsBytesOutsideValidUtf8AsLatin1) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"\x80", R"(\u0080)"},                          // a continuation byte alone
      {"\xc0\x80", R"(\u00c0\u0080)"},                // overlong NUL
      {"\xe0\x80\xaf", R"(\u00e0\u0080\u00af)"},      // overlong '/'
      {"\xed\xa0\x80", R"(\u00ed\u00a0\u0080)"},      // a UTF-16 surrogate
      {"\xf4\x90\x80\x80", R"(\u00f4\u0090\u0080\u0080)"},  // above U+10FFFF
      {"\xf5", R"(\u00f5)"},
      {"\xff", R"(\u00ff)"},
      {"\xe2\x82", R"(\u00e2\u0082)"},  // a sequence cut short at the end
      {"\xe2\x82x", R"(\u00e2\u0082x)"},
      {"\xc3\xa9\xc3", "\xc3\xa9" R"(\u00c3)"},
  };
  for (const auto& [bytes, escaped] : cases) {
    EXPECT_EQ(jsonString(bytes), escaped) << testing::PrintToString(bytes);
  }
}

TEST(AppendJsonString, MakesValidJsonOfEveryByte) {
  std::string bytes;
  for (int c = 0; c < 256; ++c) {
    bytes.push_back(static_cast<char>(c));
  }
  const std::string parsed = roundTrip(bytes);  // throws on invalid UTF-8 or escapes
  // ASCII comes back as it was; each byte from 0x80 up is its Latin-1 character.
  EXPECT_EQ(parsed.substr(0, 128), bytes.substr(0, 128));
  EXPECT_EQ(parsed.substr(128, 4), "\xc2\x80\xc2\x81");
  EXPECT_EQ(parsed.substr(parsed.size() - 2), "\xc3\xbf");
}

TEST_F(AccessFormatJson, WritesOneObjectWithEveryField) {
  const std::vector<embed::HeaderView> headers = {{"Referer", "http://example.com/"},
                                                  {"User-Agent", "curl/8.0"}};
  AccessEntry e;
  e.remote_addr = "10.0.0.7";
  e.method = "GET";
  e.target = "/items?page=2";
  e.protocol = "HTTP/1.1";
  e.status = 200;
  e.body_bytes = 1234;
  e.start = kStart;
  e.duration = 1500us;
  e.request_headers = headers;
  e.remote_user = "alice";
  e.request_id = "6b1f0a93c2d54e87a1b2c3d4e5f60718";
  const std::string line = AccessFormat::json().line(e, 42);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  EXPECT_EQ(json::parse(line), json::parse(R"({
    "time": "2024-01-02T03:04:05.250+00:00", "remote_addr": "10.0.0.7", "method": "GET",
    "path": "/items", "query": "page=2", "protocol": "HTTP/1.1", "status": 200,
    "bytes": 1234, "duration": 0.0015, "referer": "http://example.com/",
    "user_agent": "curl/8.0", "user": "alice",
    "request_id": "6b1f0a93c2d54e87a1b2c3d4e5f60718", "pid": 42})"));
}

TEST_F(AccessFormatJson, WritesNullForWhatTheRequestLacks) {
  AccessEntry e;  // refused before its request line was read, from a Unix socket
  e.status = 400;
  e.start = kStart;
  const json j = json::parse(AccessFormat::json().line(e, 7));
  for (const char* key : {"remote_addr", "method", "path", "query", "protocol", "referer",
                          "user_agent", "user", "request_id"}) {
    EXPECT_TRUE(j.at(key).is_null()) << key;
  }
  EXPECT_EQ(j.at("status"), 400);
  EXPECT_EQ(j.at("bytes"), 0);
}

TEST_F(AccessFormatJson, KeepsHostileRequestBytesInsideOneValidLine) {
  const std::vector<embed::HeaderView> headers = {
      {"User-Agent", "x\"}\n{\"status\":200,\xff\xfe\\"}};
  AccessEntry e;
  e.method = "GET";
  e.target = "/a\r\nb?q=\x80\"";
  e.protocol = "HTTP/1.1";
  e.start = kStart;
  e.request_headers = headers;
  const std::string line = AccessFormat::json().line(e, 7);
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  const json j = json::parse(line);
  EXPECT_EQ(j.at("user_agent"), "x\"}\n{\"status\":200,\xc3\xbf\xc3\xbe\\");
  EXPECT_EQ(j.at("path"), "/a\r\nb");
  EXPECT_EQ(j.at("query"), "q=\xc2\x80\"");
}

}  // namespace
}  // namespace appserver::server
