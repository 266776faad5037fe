// http_parser_corpus_test.cc: HttpParser against the shared HTTP/1.1 request corpus.
//
// The corpus (shared/corpus/http-requests, converted from Gunicorn's parser fixtures) is read
// in place: every valid case must parse to the expected request line, headers and body, fed
// whole and fed one byte per execute(); every invalid case must end in Error with one of its
// accepted statuses, the same either way. Valid cases the server refuses on purpose are
// listed below with their status and the reason.
// Thread: the test's main thread.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http_parser.h"
#include "parse_stream.h"

namespace appserver::server {
namespace {

using Result = HttpParser::Result;
using Json = nlohmann::json;

const std::string kCorpusDir = std::string(APPSERVER_SHARED_DIR) + "/corpus/http-requests";

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// cases.json carries raw bytes as latin-1 characters; nlohmann hands them over as UTF-8.
std::string latin1Bytes(const std::string& utf8) {
  std::string out;
  for (size_t i = 0; i < utf8.size(); ++i) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if (c >= 0xc0 && i + 1 < utf8.size()) {
      out.push_back(static_cast<char>(((c & 0x1f) << 6) | (utf8[++i] & 0x3f)));
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::string base64Decode(std::string_view text) {
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    const size_t v = kAlphabet.find(c);
    if (v == std::string_view::npos) {
      continue;  // '=' padding
    }
    bits = (bits << 6) | static_cast<uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xff));
    }
  }
  return out;
}

std::string upper(std::string s) {
  for (char& c : s) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return s;
}

struct CorpusCase {
  std::string name;
  Json spec;
};

// gtest prints a failing parameter with this instead of its bytes.
void PrintTo(const CorpusCase& c, std::ostream* os) { *os << c.name; }

std::vector<CorpusCase> loadCases(const std::string& expect) {
  std::vector<CorpusCase> out;
  std::ifstream in(kCorpusDir + "/cases.json");
  if (!in) {
    return out;
  }
  const Json corpus = Json::parse(in);
  for (const Json& c : corpus.at("cases")) {
    if (c.at("expect") == expect) {
      out.push_back({c.at("name"), c});
    }
  }
  return out;
}

std::string testName(const testing::TestParamInfo<CorpusCase>& info) {
  std::string name = info.param.name;
  std::replace_if(
      name.begin(), name.end(),
      [](char c) { return std::isalnum(static_cast<unsigned char>(c)) == 0; }, '_');
  return name;
}

// Valid cases this server refuses on purpose, with the status it answers; each is one the case
// allows in also_ok. (valid/013, chunk extensions with whitespace, parses: the server decodes
// chunked bodies itself, ChunkedDecoder, which allows the BWS that llhttp 8.1 refuses.)
const std::map<std::string, int>& refusedValidCases() {
  static const std::map<std::string, int> cases = {
      // Content-Length together with Transfer-Encoding is a smuggling vector: refused.
      {"valid/009", 400},
      // llhttp's strict mode refuses raw bytes >= 0x80 in the request-target.
      {"valid/027", 400},
      // Two Transfer-Encoding lines are refused as a whole, even when the last says chunked.
      {"valid/025", 400},
      {"valid/029", 400},
      {"valid/030", 400},
      // A coding before chunked on one line: well-formed, just not implemented.
      {"valid/025_line", 501},
      {"valid/rfc9112_smuggle_gzip_chunked_01", 501},
      {"valid/rfc9112_smuggle_te_identity_chunked_01", 501},
      // '-BLARGH' is a token llhttp does not know: 501 (RFC 9110 15.6.2).
      {"valid/031", 501},
  };
  return cases;
}

// The expected request of a case (the case itself, or one of its extra_requests).
void expectRequestMatches(const Parsed& got, const Json& want, const CorpusCase& c) {
  EXPECT_EQ(got.method, want.at("method").get<std::string>());
  EXPECT_EQ(got.target, latin1Bytes(want.at("uri")));
  EXPECT_EQ(got.protocol, want.at("version").get<std::string>());
  if (c.spec.value("path_check", true)) {
    EXPECT_EQ(got.path, latin1Bytes(want.at("path")));
    EXPECT_EQ(got.query, latin1Bytes(want.at("query")));  // '#fragment' is always dropped
  }
  // Names with '_' stay in the parse; the WSGI adapter drops them (tests/embed/environ_test).
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& [name, value] : got.headers) {
    if (name.find('_') == std::string::npos) {
      headers.emplace_back(upper(name), value);
    }
  }
  std::vector<std::pair<std::string, std::string>> expected;
  for (const Json& h : want.at("headers")) {
    expected.emplace_back(h.at(0).get<std::string>(), latin1Bytes(h.at(1)));
  }
  EXPECT_EQ(headers, expected);
  EXPECT_EQ(got.body, base64Decode(want.at("body").get<std::string>()));
  EXPECT_EQ(got.body.size(), want.at("body_len").get<size_t>());
}

void expectOutcomeMatches(const Outcome& out, const CorpusCase& c) {
  if (auto it = refusedValidCases().find(c.name); it != refusedValidCases().end()) {
    EXPECT_EQ(out.last, Result::Error);
    EXPECT_EQ(out.status, it->second);
    return;
  }
  std::vector<Json> wanted{c.spec};
  for (const Json& extra : c.spec.value("extra_requests", Json::array())) {
    wanted.push_back(extra);
  }
  ASSERT_EQ(out.requests.size(), wanted.size()) << "stopped with status " << out.status;
  for (size_t i = 0; i < wanted.size(); ++i) {
    SCOPED_TRACE("request " + std::to_string(i));
    expectRequestMatches(out.requests[i], wanted[i], c);
    // Every request but the last keeps the connection open; the last closes it if the case
    // says the server must close after answering it.
    const bool last = i + 1 == wanted.size();
    EXPECT_EQ(out.requests[i].keep_alive, !(last && c.spec.at("close_after").get<bool>()));
  }
}

size_t wantedRequests(const CorpusCase& c) {
  return 1 + c.spec.value("extra_requests", Json::array()).size();
}

class ValidCorpusCase : public testing::TestWithParam<CorpusCase> {};
class InvalidCorpusCase : public testing::TestWithParam<CorpusCase> {};

// ---------------------------------------------------------------------------------------------
// The corpus

TEST(HttpParserCorpus, HasEveryCase) {
  EXPECT_EQ(loadCases("valid").size(), 50U) << "missing " << kCorpusDir << "/cases.json?";
  EXPECT_EQ(loadCases("invalid").size(), 63U);
}

TEST(HttpParserCorpus, RefusesValidCasesOnlyWithAnAllowedStatus) {
  for (const CorpusCase& c : loadCases("valid")) {
    const auto it = refusedValidCases().find(c.name);
    if (it == refusedValidCases().end()) {
      continue;
    }
    const Json also_ok = c.spec.at("also_ok");
    EXPECT_NE(std::find(also_ok.begin(), also_ok.end(), it->second), also_ok.end()) << c.name;
  }
}

// One test per case, fed whole and then one byte per execute(): split reads must give the
// same requests (or the same refusal).
TEST_P(ValidCorpusCase, ParsesCaseWholeAndByteByByte) {
  const CorpusCase& c = GetParam();
  const std::string raw = readFile(kCorpusDir + "/" + c.spec.at("file").get<std::string>());
  const Outcome whole = parseStream(raw, raw.size(), wantedRequests(c));
  const Outcome split = parseStream(raw, 1, wantedRequests(c));
  {
    SCOPED_TRACE("fed whole");
    expectOutcomeMatches(whole, c);
  }
  SCOPED_TRACE("fed byte by byte");
  expectOutcomeMatches(split, c);
  EXPECT_EQ(split.requests, whole.requests);
  EXPECT_EQ(split.offset, whole.offset);
}

TEST_P(InvalidCorpusCase, RefusesCaseWholeAndByteByByte) {
  const CorpusCase& c = GetParam();
  const std::string raw = readFile(kCorpusDir + "/" + c.spec.at("file").get<std::string>());
  const bool eof = c.spec.value("client_eof", false);
  const Outcome whole = parseStream(raw, raw.size(), std::numeric_limits<size_t>::max(), eof);
  ASSERT_EQ(whole.last, Result::Error) << "the parser accepted or waits for more bytes";
  const Json accept = c.spec.at("accept_status");
  EXPECT_NE(std::find(accept.begin(), accept.end(), whole.status), accept.end())
      << "status " << whole.status;
  const Outcome split = parseStream(raw, 1, std::numeric_limits<size_t>::max(), eof);
  EXPECT_EQ(split.last, Result::Error) << "fed byte by byte";
  EXPECT_EQ(split.status, whole.status) << "fed byte by byte";
}

INSTANTIATE_TEST_SUITE_P(HttpParser, ValidCorpusCase, testing::ValuesIn(loadCases("valid")),
                         testName);
INSTANTIATE_TEST_SUITE_P(HttpParser, InvalidCorpusCase, testing::ValuesIn(loadCases("invalid")),
                         testName);

}  // namespace
}  // namespace appserver::server
