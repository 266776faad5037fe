// environ_test.cc: the PEP 3333 environ a request becomes (embed/environ.cc).
//
// The app (tests/embed/apps/wsgi_environ.py) reports every environ key with its Python type
// and value as JSON; the tests check keys, types and the exact latin-1 bytes of each value.
// Requests are built directly (TestRequest), so the environ rules are tested apart from the
// parser: path decoding, SERVER_NAME/PORT, CONTENT_* without HTTP_, joined repeats,
// dropped '_' names, and a chunked body seen with its decoded length.
// Thread: the test's main thread; the interpreter belongs to embed_main.cc.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "embed/wsgi_app.h"
#include "test_app.h"

namespace appserver::embed {
namespace {

using Json = nlohmann::json;

// The environ wsgi_environ reports for request, as {key: {"type", "value"}}.
Json environFor(TestRequest& request, const WsgiAppOptions& options = {}) {
  TestApp app("wsgi_environ", options);
  WsgiCall call;
  app.start(call, request);
  EXPECT_EQ(call.state(), WsgiCall::State::Finished) << call.error();
  return Json::parse(call.body(), nullptr, /*allow_exceptions=*/false);
}

class EnvironTest : public testing::Test {
 protected:
  // The environ of request_.
  const Json& environ() {
    if (environ_.is_null()) {
      environ_ = environFor(request_, options_);
    }
    return environ_;
  }
  bool has(const std::string& key) { return environ().contains(key); }
  // The bytes of a str entry; fails the test for a missing or non-str entry.
  std::string str(const std::string& key) {
    if (!has(key)) {
      ADD_FAILURE() << key << " is missing";
      return "<missing>";
    }
    EXPECT_EQ(environ()[key]["type"], "str") << key;
    const auto bytes = environ()[key]["value"].get<std::vector<unsigned char>>();
    return std::string(bytes.begin(), bytes.end());
  }

  TestRequest request_;
  WsgiAppOptions options_;
  Json environ_;
};

TEST_F(EnvironTest, HasEveryPep3333Key) {
  request_.method = "POST";
  request_.target = "/submit?x=1";
  request_.headers = {{"Host", "example.com"}};
  EXPECT_EQ(str("REQUEST_METHOD"), "POST");
  EXPECT_EQ(str("SCRIPT_NAME"), "");
  EXPECT_EQ(str("PATH_INFO"), "/submit");
  EXPECT_EQ(str("QUERY_STRING"), "x=1");
  EXPECT_EQ(str("SERVER_NAME"), "example.com");
  EXPECT_EQ(str("SERVER_PORT"), "8000");
  EXPECT_EQ(str("SERVER_PROTOCOL"), "HTTP/1.1");
  EXPECT_EQ(str("wsgi.url_scheme"), "http");
  EXPECT_EQ(environ()["wsgi.version"]["type"], "tuple");
  EXPECT_EQ(environ()["wsgi.version"]["value"], Json::array({1, 0}));
  for (const char* flag : {"wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once"}) {
    EXPECT_EQ(environ()[flag]["type"], "bool") << flag;
    EXPECT_EQ(environ()[flag]["value"], false) << flag;
  }
  EXPECT_EQ(environ()["wsgi.input"]["value"],
            Json::array({"read", "readline", "readlines", "__iter__"}));
  for (const char* method : {"write", "writelines", "flush"}) {
    const Json& methods = environ()["wsgi.errors"]["value"];
    EXPECT_NE(std::find(methods.begin(), methods.end(), method), methods.end()) << method;
  }
}

TEST_F(EnvironTest, UsesNativeStringsForEveryCgiKey) {
  request_.headers = {{"Host", "h"}, {"Content-Type", "a/b"}, {"Content-Length", "0"}};
  request_.extra = {{"REMOTE_USER", "alice"}};
  for (const auto& [key, entry] : environ().items()) {
    if (key.find('.') == std::string::npos) {
      EXPECT_EQ(entry["type"], "str") << key;
    }
  }
}

TEST_F(EnvironTest, SetsServerEntries) {
  request_.url_scheme = "https";
  request_.protocol = "HTTP/1.0";
  EXPECT_EQ(str("wsgi.url_scheme"), "https");
  EXPECT_EQ(str("SERVER_PROTOCOL"), "HTTP/1.0");
  EXPECT_EQ(str("SERVER_SOFTWARE"), "appserver");
  EXPECT_EQ(environ()["wsgi.input_terminated"]["value"], true);
}

TEST_F(EnvironTest, PassesMultithreadAndMultiprocess) {
  options_.multithread = true;
  options_.multiprocess = true;
  EXPECT_EQ(environ()["wsgi.multithread"]["value"], true);
  EXPECT_EQ(environ()["wsgi.multiprocess"]["value"], true);
}

TEST_F(EnvironTest, DecodesPathInfoToLatin1) {
  request_.target = "/caf%C3%a9/a%2Fb/%zz%4?q=%20x";
  EXPECT_EQ(str("PATH_INFO"), "/caf\xc3\xa9/a/b/%zz%4");
  EXPECT_EQ(str("QUERY_STRING"), "q=%20x");  // stays encoded
  EXPECT_EQ(str("RAW_URI"), request_.target);
  EXPECT_EQ(str("REQUEST_URI"), request_.target);
}

TEST_F(EnvironTest, KeepsRawNonAsciiPathBytes) {
  request_.target = "/\xc3\xa0%20k";
  EXPECT_EQ(str("PATH_INFO"), "/\xc3\xa0 k");
}

TEST_F(EnvironTest, SplitsScriptNameFromPathInfo) {
  options_.script_name = "/mount";
  request_.target = "/mount/items/7?x";
  EXPECT_EQ(str("SCRIPT_NAME"), "/mount");
  EXPECT_EQ(str("PATH_INFO"), "/items/7");
}

TEST_F(EnvironTest, GivesEmptyPathInfoAtTheMountPoint) {
  options_.script_name = "/mount";
  request_.target = "/mount";
  EXPECT_EQ(str("SCRIPT_NAME"), "/mount");
  EXPECT_EQ(str("PATH_INFO"), "");
}

// PEP 3333 (and wsgiref.validate): PATH_INFO is empty or starts with '/', and SCRIPT_NAME +
// PATH_INFO is the request's path.
TEST_F(EnvironTest, KeepsPathInfoWholeOutsideTheMountSegment) {
  options_.script_name = "/mount";
  request_.target = "/mountain";
  const std::string path_info = str("PATH_INFO");
  EXPECT_TRUE(path_info.empty() || path_info[0] == '/') << path_info;
  EXPECT_EQ(str("SCRIPT_NAME") + path_info, "/mountain");
}

TEST_F(EnvironTest, StartsPathInfoWithASlashUnderAMountEndingInASlash) {
  options_.script_name = "/mount/";  // SCRIPT_NAME=/mount/ in the server's environment
  request_.target = "/mount/items";
  const std::string path_info = str("PATH_INFO");
  EXPECT_EQ(path_info, "/items");
  EXPECT_EQ(str("SCRIPT_NAME"), "/mount");
}

TEST_F(EnvironTest, TakesServerNameAndPortFromHost) {
  request_.headers = {{"Host", "example.com:8080"}};
  EXPECT_EQ(str("HTTP_HOST"), "example.com:8080");
  EXPECT_EQ(str("SERVER_NAME"), "example.com");
  EXPECT_EQ(str("SERVER_PORT"), "8080");
}

TEST_F(EnvironTest, TakesServerPortFromTheListenerWhenHostHasNone) {
  request_.headers = {{"Host", "example.com"}};
  request_.server_port = 9001;
  EXPECT_EQ(str("SERVER_NAME"), "example.com");
  EXPECT_EQ(str("SERVER_PORT"), "9001");
}

TEST_F(EnvironTest, TakesServerNameFromIpv6Host) {
  request_.headers = {{"Host", "[::1]:9000"}};
  EXPECT_EQ(str("SERVER_NAME"), "[::1]");
  EXPECT_EQ(str("SERVER_PORT"), "9000");
}

TEST_F(EnvironTest, TakesServerNameFromIpv6HostWithoutPort) {
  request_.headers = {{"Host", "[::1]"}};
  EXPECT_EQ(str("SERVER_NAME"), "[::1]");
  EXPECT_EQ(str("SERVER_PORT"), "8000");
}

TEST_F(EnvironTest, TakesServerNameFromTheListenerWithoutHost) {
  request_.server_name = "10.1.2.3";
  request_.server_port = 8443;
  EXPECT_FALSE(has("HTTP_HOST"));
  EXPECT_EQ(str("SERVER_NAME"), "10.1.2.3");
  EXPECT_EQ(str("SERVER_PORT"), "8443");
}

TEST_F(EnvironTest, KeepsNonAsciiHostBytesInServerName) {
  const std::string name = std::string("b\xfc") + "cher.example";  // "bücher" in latin-1
  request_.headers = {{"Host", name + ":81"}};
  EXPECT_EQ(str("HTTP_HOST"), name + ":81");
  EXPECT_EQ(str("SERVER_NAME"), name);
  EXPECT_EQ(str("SERVER_PORT"), "81");
}

TEST_F(EnvironTest, SetsRemoteAddressAndPort) {
  EXPECT_EQ(str("REMOTE_ADDR"), "192.0.2.10");
  EXPECT_EQ(str("REMOTE_PORT"), "40000");
}

TEST_F(EnvironTest, LeavesRemoteAddressOutForUnixSocketPeers) {
  request_.remote_addr = "";
  EXPECT_FALSE(has("REMOTE_ADDR"));
  EXPECT_FALSE(has("REMOTE_PORT"));
}

TEST_F(EnvironTest, NamesContentTypeAndLengthWithoutHttpPrefix) {
  request_.method = "POST";
  request_.headers = {{"content-type", "text/plain"}, {"Content-Length", "5"}};
  request_.body = "hello";
  EXPECT_EQ(str("CONTENT_TYPE"), "text/plain");
  EXPECT_EQ(str("CONTENT_LENGTH"), "5");
  EXPECT_FALSE(has("HTTP_CONTENT_TYPE"));
  EXPECT_FALSE(has("HTTP_CONTENT_LENGTH"));
}

TEST_F(EnvironTest, MapsHeaderNamesToUpperCaseKeys) {
  request_.headers = {{"x-custom.name|pipe", "1"}, {"User-Agent", "ua"}};
  EXPECT_EQ(str("HTTP_X_CUSTOM.NAME|PIPE"), "1");
  EXPECT_EQ(str("HTTP_USER_AGENT"), "ua");
}

TEST_F(EnvironTest, KeepsLongHeaderNames) {
  // The parser lets a field name be nearly 8 KiB; the environ must not lose it.
  request_.headers = {{"X-" + std::string(300, 'n'), "v"}};
  const std::string key = "HTTP_X_" + std::string(300, 'N');
  EXPECT_EQ(str(key), "v");
}

TEST_F(EnvironTest, JoinsRepeatedHeadersWithComma) {
  request_.headers = {{"Accept", "text/html"}, {"X-Other", "o"}, {"accept", "*/*"}};
  EXPECT_EQ(str("HTTP_ACCEPT"), "text/html, */*");
}

TEST_F(EnvironTest, JoinsRepeatedCookiesWithSemicolon) {
  request_.headers = {{"Cookie", "a=1"}, {"Cookie", "b=2; c=3"}};
  EXPECT_EQ(str("HTTP_COOKIE"), "a=1; b=2; c=3");
}

TEST_F(EnvironTest, DropsHeaderNamesWithUnderscore) {
  // "X_Forwarded_For" would land on the same key as "X-Forwarded-For" (corpus valid/040).
  request_.headers = {{"X-Forwarded-For", "203.0.113.1"},
                      {"X_Forwarded_For", "spoofed"},
                      {"Transfer_Encoding", "chunked"},
                      {"Content_Length", "-1"}};
  EXPECT_EQ(str("HTTP_X_FORWARDED_FOR"), "203.0.113.1");
  EXPECT_FALSE(has("HTTP_TRANSFER_ENCODING"));
  EXPECT_FALSE(has("CONTENT_LENGTH"));
}

TEST_F(EnvironTest, ShowsChunkedBodyWithItsDecodedLength) {
  request_.method = "POST";
  request_.headers = {{"Transfer-Encoding", "chunked"}, {"Content-Type", "text/plain"}};
  request_.body = "hello world";
  request_.chunked = true;
  EXPECT_EQ(str("CONTENT_LENGTH"), "11");
  EXPECT_EQ(str("CONTENT_TYPE"), "text/plain");
  EXPECT_FALSE(has("HTTP_TRANSFER_ENCODING"));
}

TEST_F(EnvironTest, KeepsHeaderValuesAsLatin1) {
  request_.headers = {{"X-Name", "caf\xc3\xa9 \xff"}};
  EXPECT_EQ(str("HTTP_X_NAME"), "caf\xc3\xa9 \xff");
}

TEST_F(EnvironTest, AddsExtraEntries) {
  request_.extra = {{"REMOTE_USER", "alice"}};
  EXPECT_EQ(str("REMOTE_USER"), "alice");
}

TEST_F(EnvironTest, AddsJwtClaimsAsADict) {
  request_.jwt_claims_json = R"({"sub": "42", "scope": ["read"]})";
  EXPECT_EQ(environ()["appserver.jwt.claims"]["type"], "dict");
  EXPECT_EQ(environ()["appserver.jwt.claims"]["value"],
            Json::parse(R"({"sub": "42", "scope": ["read"]})"));
}

TEST_F(EnvironTest, LeavesJwtClaimsOutWithoutAToken) { EXPECT_FALSE(has("appserver.jwt.claims")); }

TEST(Environ, SendsWsgiErrorsToTheErrorWriter) {
  TestApp app("wsgi_environ:write_errors");
  WsgiCall call;
  app.start(call);
  EXPECT_EQ(call.state(), WsgiCall::State::Finished) << call.error();
  EXPECT_EQ(app.errors(), "first line\nsecond line\n");
}

TEST(DecodePath, DecodesPercentEscapes) {
  EXPECT_EQ(decodePath("/a%2Fb%2fc"), "/a/b/c");
  EXPECT_EQ(decodePath("/%41%42%c3%A9"), "/AB\xc3\xa9");
  EXPECT_EQ(decodePath("/%00"), std::string("/\0", 2));
}

TEST(DecodePath, KeepsMalformedEscapes) {
  EXPECT_EQ(decodePath("/%zz/%4/%"), "/%zz/%4/%");
  EXPECT_EQ(decodePath("/100%"), "/100%");
  EXPECT_EQ(decodePath("%%41"), "%A");
}

}  // namespace
}  // namespace appserver::embed
