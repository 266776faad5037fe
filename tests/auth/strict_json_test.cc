// strict_json_test.cc: the strict scanner and parser (auth/strict_json.cc): each rule, what a
// scan reports, and differential tests holding the scanner to nlohmann::json plus the
// duplicate and depth checks it replaced (json_reference.h) on tricky texts, on the JOSE
// texts of the shared corpus and on mutations of them.
#include "auth/strict_json.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "allocation_count.h"
#include "auth/base64url.h"
#include "json_reference.h"
#include "test_keys.h"

namespace appserver::auth {
namespace {

using Json = nlohmann::json;

Status parse(std::string_view text, JsonLimits limits = {}) {
  nlohmann::json value;
  return parseJsonStrict(text, limits, value);
}

Status scan(std::string_view text, JsonLimits limits = {}) {
  JsonType root = JsonType::Null;
  return scanJsonStrict(text, limits, root, {});
}

struct Child {
  std::string name;
  JsonType type;
  std::string text;
  bool operator==(const Child&) const = default;
};

std::vector<Child> children(std::string_view text, JsonType* root_type = nullptr) {
  std::vector<Child> out;
  JsonType root = JsonType::Null;
  EXPECT_EQ(
      scanJsonStrict(text, {}, root,
                     [&out](std::string_view name, const JsonValue& value) {
                       out.push_back({std::string(name), value.type, std::string(value.text)});
                     }),
      Status::Ok);
  if (root_type != nullptr) {
    *root_type = root;
  }
  return out;
}

// --- the rules ---

TEST(StrictJson, AcceptsObjectWithCrLfWhitespace) {
  EXPECT_EQ(parse("{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}"), Status::Ok);
}

TEST(StrictJson, RejectsDuplicateMemberNames) {
  EXPECT_EQ(parse(R"({"alg":"HS256","alg":"none"})"), Status::JsonDuplicateKey);
}

TEST(StrictJson, RejectsDuplicatesSpelledWithEscapes) {
  EXPECT_EQ(parse(R"({"alg":"HS256","\u0061lg":"none"})"), Status::JsonDuplicateKey);
  EXPECT_EQ(scan(R"({"a/b":1,"a\/b":2})"), Status::JsonDuplicateKey);
  EXPECT_EQ(scan("{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}"), Status::JsonDuplicateKey);
  EXPECT_EQ(scan(R"({"\u0000":1,"":2})"), Status::Ok);
}

TEST(StrictJson, RejectsDuplicatesInNestedObjects) {
  EXPECT_EQ(parse(R"({"a":{"b":1,"b":2}})"), Status::JsonDuplicateKey);
  EXPECT_EQ(parse(R"({"a":[{"b":1},{"b":2}]})"), Status::Ok);
  EXPECT_EQ(parse(R"({"a":{"b":1},"c":{"b":2}})"), Status::Ok);
  EXPECT_EQ(parse(R"({"a":{"a":1}})"), Status::Ok);
}

TEST(StrictJson, RejectsDuplicateAmongManyMembers) {
  std::string text = "{";
  for (int i = 0; i < 3000; ++i) {
    text += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  }
  EXPECT_EQ(scan(text + "\"last\":0}"), Status::Ok);
  EXPECT_EQ(scan(text + "\"k1234\":0}"), Status::JsonDuplicateKey);
}

TEST(StrictJson, ReportsTheFirstViolationInTextOrder) {
  const JsonLimits limits{1024, 3};
  EXPECT_EQ(scan(R"({"a":1,"a":[[[[1]]]]})", limits), Status::JsonDuplicateKey);
  EXPECT_EQ(scan(R"({"a":[[[[1]]]],"a":1})", limits), Status::JsonTooDeep);
  EXPECT_EQ(scan(R"({"a":1,"a":2 x)"), Status::JsonDuplicateKey);
  EXPECT_EQ(scan(R"({"a":1,"a")"), Status::JsonDuplicateKey);
  EXPECT_EQ(scan(R"({"a":1 x,"a":2})"), Status::JsonInvalid);
  EXPECT_EQ(scan(R"({"a":{"b":1,"b":2},"c":[[[[1]]]]})", limits), Status::JsonDuplicateKey);
}

TEST(StrictJson, RejectsNestingBeyondLimit) {
  const JsonLimits limits{1024, 4};
  EXPECT_EQ(parse(R"({"a":{"b":{"c":[1]}}})", limits), Status::Ok);
  EXPECT_EQ(parse(R"({"a":{"b":{"c":[[1]]}}})", limits), Status::JsonTooDeep);
  EXPECT_EQ(parse(std::string(5000, '[') + std::string(5000, ']')), Status::JsonTooDeep);
  EXPECT_EQ(scan("1", JsonLimits{16, 0}), Status::Ok);
  EXPECT_EQ(scan("{}", JsonLimits{16, 0}), Status::JsonTooDeep);
}

TEST(StrictJson, AcceptsDeepDocumentsWithinAHighLimit) {
  const std::string deep = std::string(300, '[') + std::string(300, ']');
  EXPECT_EQ(scan(deep, JsonLimits{1024, 300}), Status::Ok);
  EXPECT_EQ(scan(deep, JsonLimits{1024, 299}), Status::JsonTooDeep);
}

TEST(StrictJson, RejectsTextBeyondSizeLimit) {
  EXPECT_EQ(parse(R"({"a":"0123456789"})", JsonLimits{10, 4}), Status::JsonInvalid);
  EXPECT_EQ(scan("[1,2]", JsonLimits{5, 4}), Status::Ok);
  EXPECT_EQ(scan("[1,22]", JsonLimits{5, 4}), Status::JsonInvalid);
}

TEST(StrictJson, RejectsMalformedText) {
  EXPECT_EQ(parse(R"({"a":1,})"), Status::JsonInvalid);
  EXPECT_EQ(parse(R"({"a":1} x)"), Status::JsonInvalid);
  EXPECT_EQ(parse(R"({"a":1}/**/)"), Status::JsonInvalid);
  EXPECT_EQ(parse(R"({'a':1})"), Status::JsonInvalid);
  EXPECT_EQ(parse(""), Status::JsonInvalid);
  for (const char* text : {"[1,]", "[,1]", "{,}", R"({"a"})", R"({"a":})", R"({"a" 1})", "{a:1}",
                           "[[]", "[]]", "{}{}", " ", "\f{}", "nul", "True"}) {
    EXPECT_EQ(scan(text), Status::JsonInvalid) << text;
  }
}

TEST(StrictJson, FollowsTheNumberGrammar) {
  for (const char* text : {"0", "-0", "1", "-1.5e+10", "1E5", "1e-5", "0.0", "123456789012345678",
                           "1234567890123456789", "18446744073709551616", "1e-400"}) {
    EXPECT_EQ(scan(text), Status::Ok) << text;
  }
  for (const char* text : {"01", "-01", "1.", ".5", "+1", "-", "1e", "1e+", "0x10", "NaN",
                           "Infinity", "-Infinity", "1_000"}) {
    EXPECT_EQ(scan(text), Status::JsonInvalid) << text;
  }
}

TEST(StrictJson, RejectsNumbersOutOfRange) {
  EXPECT_EQ(parse(R"({"exp":1e400})"), Status::JsonInvalid);
  EXPECT_EQ(scan("-1e400"), Status::JsonInvalid);
  EXPECT_EQ(scan(std::string(308, '9')), Status::Ok);  // below DBL_MAX, about 1.8e308
  EXPECT_EQ(scan(std::string(309, '9')), Status::JsonInvalid);
}

// nlohmann takes a NUL byte for the end of its input and ignores what follows, so the old
// parser accepted {"alg":"HS256"}\0{"alg":"none"}; the scanner refuses trailing bytes.
TEST(StrictJson, RejectsBytesAfterANulByte) {
  using namespace std::string_literals;
  EXPECT_EQ(scan("{}\0"s), Status::JsonInvalid);
  EXPECT_EQ(scan("{\"alg\":\"HS256\"}\0{\"alg\":\"none\"}"s), Status::JsonInvalid);
  EXPECT_EQ(scan("12\0400"s), Status::JsonInvalid);
  EXPECT_EQ(scan("{\"a\":1,\"a\":2\0}"s), Status::JsonDuplicateKey);
}

TEST(StrictJson, RejectsBadEscapesAndControlCharacters) {
  for (const char* text : {R"("\x41")", R"("\a")", R"("\'")", R"("\u12")", R"("\uZZZZ")", "\"\t\"",
                           "\"\x1f\"", "\"unterminated", "\"\\", "\"\\u"}) {
    EXPECT_EQ(scan(text), Status::JsonInvalid) << text;
  }
  EXPECT_EQ(scan("\"\x7f\""), Status::Ok);
  EXPECT_EQ(scan(R"("\"\\\/\b\f\n\r\t\u0000")"), Status::Ok);
}

TEST(StrictJson, RejectsInvalidUtf8AndLoneSurrogates) {
  EXPECT_EQ(parse("{\"a\":\"\xff\"}"), Status::JsonInvalid);
  EXPECT_EQ(parse("{\"a\":\"\xc0\xaf\"}"), Status::JsonInvalid);
  EXPECT_EQ(parse(R"({"a":"\ud800"})"), Status::JsonInvalid);
  for (const char* text :
       {"\"\xc1\xbf\"", "\"\xe0\x80\xaf\"", "\"\xed\xa0\x80\"", "\"\xf0\x80\x80\x80\"",
        "\"\xf4\x90\x80\x80\"", "\"\xf5\x80\x80\x80\"", "\"\x80\"", "\"\xc3\"", "\"\xe2\x82\"",
        "\"\xf0\x9f\x98\"", "\xc3\xa9", R"("\ude00")", R"("\ud83d\u0041")", R"("\ude00\ud83d")",
        R"("\ud83dx")"}) {
    EXPECT_EQ(scan(text), Status::JsonInvalid) << text;
  }
  for (const char* text :
       {"\"\xc2\x80\"", "\"\xe0\xa0\x80\"", "\"\xed\x9f\xbf\"", "\"\xef\xbf\xbf\"",
        "\"\xf0\x90\x80\x80\"", "\"\xf4\x8f\xbf\xbf\"", R"("\ud83d\ude00")"}) {
    EXPECT_EQ(scan(text), Status::Ok) << text;
  }
}

TEST(StrictJson, SkipsOneLeadingByteOrderMarkAsNlohmannDoes) {
  EXPECT_EQ(scan("\xEF\xBB\xBF{}"), Status::Ok);
  EXPECT_EQ(scan("\xEF\xBB{}"), Status::JsonInvalid);
  EXPECT_EQ(scan(" \xEF\xBB\xBF{}"), Status::JsonInvalid);
  EXPECT_EQ(scan("\xEF\xBB\xBF\xEF\xBB\xBF{}"), Status::JsonInvalid);
}

// --- what a scan reports ---

TEST(StrictJson, VisitsTopLevelMembersInTextOrderWithDecodedNames) {
  JsonType root = JsonType::Null;
  const std::vector<Child> expected = {
      {"z", JsonType::Number, "-1.5"},
      {"bc", JsonType::String, R"("x\"y")"},
      {"n", JsonType::Object, R"({"d" : [1, {"e":null}]})"},
      {"t", JsonType::Boolean, "true"},
      {"a", JsonType::Null, "null"},
  };
  EXPECT_EQ(children(R"( {"z":-1.5, "b\u0063" : "x\"y","n":{"d" : [1, {"e":null}]},)"
                     R"("t":true,"a":null} )",
                     &root),
            expected);
  EXPECT_EQ(root, JsonType::Object);
}

TEST(StrictJson, VisitsArrayElementsWithEmptyNames) {
  JsonType root = JsonType::Null;
  const std::vector<Child> expected = {{"", JsonType::String, R"("a")"},
                                       {"", JsonType::Array, "[]"},
                                       {"", JsonType::Object, R"({"k":1})"}};
  EXPECT_EQ(children(R"(["a",[],{"k":1}])", &root), expected);
  EXPECT_EQ(root, JsonType::Array);
  EXPECT_TRUE(children("\"s\"", &root).empty());
  EXPECT_EQ(root, JsonType::String);
}

TEST(StrictJson, DecodesStringsAndViewsThemWhenUnescaped) {
  std::string scratch;
  const JsonValue plain{JsonType::String, R"("plain")"};
  const std::string_view view = jsonString(plain, scratch);
  EXPECT_EQ(view, "plain");
  EXPECT_EQ(view.data(), plain.text.data() + 1);
  EXPECT_EQ(jsonString({JsonType::String, R"("\"\\\/\b\f\n\r\t")"}, scratch), "\"\\/\b\f\n\r\t");
  EXPECT_EQ(jsonString({JsonType::String, R"("\u00e9\u20ac\ud83d\ude00\u0000")"}, scratch),
            std::string("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9) + std::string(1, '\0'));
}

TEST(StrictJson, ClassifiesNumbersAsNlohmannDoes) {
  using Kind = JsonNumber::Kind;
  const auto number = [](std::string_view text) { return jsonNumber({JsonType::Number, text}); };
  EXPECT_EQ(number("0").kind, Kind::Unsigned);
  EXPECT_EQ(number("18446744073709551615").unsigned_value, 18446744073709551615u);
  EXPECT_EQ(number("-0").kind, Kind::Integer);
  EXPECT_EQ(number("-9223372036854775807").integer_value, -9223372036854775807);
  EXPECT_EQ(number("18446744073709551616").kind, Kind::Float);
  EXPECT_EQ(number("18446744073709551616").float_value, 18446744073709551616.0);
  EXPECT_EQ(number("-9223372036854775809").kind, Kind::Float);
  EXPECT_EQ(number("1e3").kind, Kind::Float);
  EXPECT_EQ(number("1.5").float_value, 1.5);
}

TEST(StrictJson, PrintsValuesAsNlohmannDoes) {
  const auto canonical = [](JsonType type, std::string_view text) {
    return canonicalJson({type, text});
  };
  EXPECT_EQ(canonical(JsonType::Number, "1.50"), "1.5");
  EXPECT_EQ(canonical(JsonType::Number, "1e3"), "1000.0");
  EXPECT_EQ(canonical(JsonType::Number, "-0"), "0");
  EXPECT_EQ(canonical(JsonType::Number, "-0.0"), "-0.0");
  EXPECT_EQ(canonical(JsonType::Boolean, "false"), "false");
  EXPECT_EQ(canonical(JsonType::String, R"("\u0041\/")"), R"("A/")");
  EXPECT_EQ(canonical(JsonType::Object, R"({ "b":1, "a":[1.0E0] })"), R"({"a":[1.0],"b":1})");
}

TEST(StrictJson, ScansATokenSizedObjectWithoutAllocating) {
  const std::string_view payload =
      R"({"token_type":"access","exp":1800000000,"iat":1700000000,"jti":"0f3c5e9a1b2d4c6e8f)"
      R"(0a1b2c3d4e5f6a","user_id":42,"aud":["api","web"],"n\u0061me":"J\u00f6rg"})";
  int visited = 0;
  JsonType root = JsonType::Null;
  const long before = testing::allocationCount();
  const Status status = scanJsonStrict(
      payload, {}, root, [&visited](std::string_view, const JsonValue&) { ++visited; });
  const long made = testing::allocationCount() - before;
  EXPECT_EQ(status, Status::Ok);
  EXPECT_EQ(visited, 7);
  EXPECT_EQ(made, 0);
}

// --- differential: the scanner against nlohmann + the old checks ---

TEST(StrictJsonDifferential, AgreesOnTrickyTexts) {
  const std::string tricky[] = {
      "",
      " ",
      "{}",
      "[]",
      "null",
      "true",
      "false",
      "0",
      "-0",
      "\"s\"",
      " \t\r\n{ \"a\" : [ 1 , 2 ] } \n",
      "\xEF\xBB\xBF{}",
      "\xEF\xBB\xBF",
      "\xEF\xBB{}",
      "\xEF{}",
      " \xEF\xBB\xBF{}",
      "{\"a\":1,}",
      "[1,]",
      "[,1]",
      "{,}",
      "{\"a\"}",
      "{\"a\":}",
      "{\"a\" 1}",
      "{a:1}",
      "{'a':1}",
      "{\"a\":1}}",
      "[[]",
      "[]]",
      "{\"a\":1} x",
      "{}{}",
      std::string("{}\0", 3),
      "//\n{}",
      "# {}",
      "01",
      "-01",
      "1.",
      ".5",
      "+1",
      "-",
      "1e",
      "1e+",
      "1E5",
      "1e-5",
      "-1.5e+10",
      "0.0",
      "1e400",
      "-1e400",
      "1e-400",
      "4.9e-324",
      "2e-324",
      "1.7976931348623157e308",
      "1.7976931348623159e308",
      "18446744073709551615",
      "18446744073709551616",
      "-9223372036854775808",
      "-9223372036854775809",
      "123456789012345678",
      "-123456789012345678",
      std::string(309, '9'),
      std::string(310, '9'),
      "0." + std::string(400, '0') + "1",
      "0x10",
      "NaN",
      "Infinity",
      "1_000",
      "[1.0,1e2,-0,-0.0,100000000000000000000]",
      "tru",
      "truee",
      "True",
      "nul",
      "nulll",
      "[true,false,null]",
      "\"\\u0000\"",
      "\"\\ud83d\\ude00\"",
      "\"\\ud83d\"",
      "\"\\ude00\"",
      "\"\\ud83d\\u0041\"",
      "\"\\ude00\\ud83d\"",
      "\"\\ud83dx\"",
      "\"\\u12\"",
      "\"\\uZZZZ\"",
      "\"\\x41\"",
      "\"\\a\"",
      "\"\\'\"",
      "\"\t\"",
      "\"\x1f\"",
      "\"\x7f\"",
      "\"\\/\"",
      "\"unterminated",
      "\"\\",
      "\"\\u",
      "\"\xc3\xa9\"",
      "\"\xc0\xaf\"",
      "\"\xc1\xbf\"",
      "\"\xc2\x80\"",
      "\"\xe0\x80\xaf\"",
      "\"\xe0\xa0\x80\"",
      "\"\xed\xa0\x80\"",
      "\"\xed\x9f\xbf\"",
      "\"\xee\x80\x80\"",
      "\"\xef\xbf\xbf\"",
      "\"\xf0\x80\x80\x80\"",
      "\"\xf0\x90\x80\x80\"",
      "\"\xf4\x8f\xbf\xbf\"",
      "\"\xf4\x90\x80\x80\"",
      "\"\xf5\x80\x80\x80\"",
      "\"\xff\"",
      "\"\x80\"",
      "\"\xc3\"",
      "\"\xe2\x82\"",
      "\"\xf0\x9f\x98\"",
      "\xc3\xa9",
      "\f{}",
      "\v{}",
      "\xc2\xa0{}",
      R"({"a":1,"a":2})",
      R"({"a":1,"\u0061":2})",
      R"({"a":{"b":1,"b":2}})",
      R"({"a":[{"b":1},{"b":2}]})",
      R"({"a":{"b":1},"c":{"b":2}})",
      R"({"a":1,"a":2)",
      R"({"a":1,"a":2,)",
      R"({"a":1,"a")",
      R"({"a":1,"a":2 x)",
      R"({"":1,"":2})",
      R"({"\u0000":1,"":2})",
      R"({"\u0000":1,"\u0000":2})",
      R"({"a":{"a":1}})",
      "{\"\xc3\xa9\":1,\"\\u00e9\":2}",
      "{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}",
      R"({"a\/b":1,"a/b":2})",
      R"({"alg":"HS256","typ":"JWT","crit":["b64"],"b64":false})",
      R"({"alg":"none"})",
      R"({"alg":"HS256","jwk":{"kty":"oct","k":"AAAA"},"jku":"http://x"})",
      R"({"sub":"a","aud":["x",1],"exp":1.5,"nested":{"z":[{"y":{}}],"a":"\u00e9"}})",
      std::string(17, '[') + std::string(17, ']'),
      std::string(16, '[') + std::string(16, ']'),
      std::string(5000, '['),
      std::string(5000, '{'),
      "{\"a\":" + std::string(20, '[')};
  for (const std::string& text : tricky) {
    EXPECT_EQ(testing::differenceFromReference(text, {}), "");
  }
  for (const std::string& text : tricky) {
    EXPECT_EQ(testing::differenceFromReference(text, JsonLimits{8, 2}), "");
  }
}

// The header and payload of every compact token in the shared corpus.
std::set<std::string> corpusJoseTexts() {
  std::vector<std::string> tokens;
  for (const Json& vector : Json::parse(testing::readCorpus("jose-rfc/vectors.json"))) {
    tokens.push_back(vector.at("token").get<std::string>());
  }
  for (const char* file :
       {"json_web_signature_test.json", "json_web_key_test.json", "json_web_crypto_test.json"}) {
    const Json document = Json::parse(testing::readCorpus(std::string("wycheproof/") + file));
    for (const Json& group : document.at("testGroups")) {
      for (const Json& test : group.at("tests")) {
        if (test.contains("jws") && test.at("jws").is_string()) {
          tokens.push_back(test.at("jws").get<std::string>());
        }
      }
    }
  }
  std::set<std::string> texts;
  for (const std::string& token : tokens) {
    std::string_view rest = token;
    for (int segment = 0; segment < 2 && !rest.empty(); ++segment) {
      const std::string_view part = rest.substr(0, rest.find('.'));
      std::string decoded;
      if (base64UrlDecode(part, decoded) == Status::Ok) {
        texts.insert(decoded);
      }
      rest.remove_prefix(std::min(rest.size(), part.size() + 1));
    }
  }
  return texts;
}

TEST(StrictJsonDifferential, AgreesOnTheCorpusJoseTexts) {
  const std::set<std::string> texts = corpusJoseTexts();
  ASSERT_GT(texts.size(), 40u);
  int objects = 0;
  for (const std::string& text : texts) {
    EXPECT_EQ(testing::differenceFromReference(text, {}), "");
    objects += scan(text) == Status::Ok ? 1 : 0;
  }
  EXPECT_GT(objects, 20);  // headers, claim sets and JWKs, not only opaque payloads
}

TEST(StrictJsonDifferential, AgreesOnWholeCorpusDocuments) {
  const JsonLimits large{1 << 20, 64};
  for (const char* file :
       {"jose-rfc/vectors.json", "wycheproof/json_web_key_test.json",
        "wycheproof/json_web_signature_test.json", "wycheproof/hmac_sha256_test.json"}) {
    EXPECT_EQ(testing::differenceFromReference(testing::readCorpus(file), large), "") << file;
  }
}

// Every truncation of each corpus text, and each byte replaced by each of a few that matter
// to the grammar: the scanner and the reference must give the same status and values.
TEST(StrictJsonDifferential, AgreesOnMutatedCorpusJoseTexts) {
  const std::string replacements[] = {"\"",   "\\",   "{",   "}", "[",
                                      "]",    ",",    ":",   " ", "0",
                                      "-",    "e",    ".",   "u", std::string(1, '\0'),
                                      "\x7f", "\xc3", "\xff"};
  const JsonLimits shallow{4096, 2};
  int cases = 0;
  std::vector<std::string> differences;
  const auto check = [&](const std::string& text) {
    for (const JsonLimits& limits : {JsonLimits{}, shallow}) {
      ++cases;
      std::string difference = testing::differenceFromReference(text, limits);
      if (!difference.empty() && differences.size() < 10) {
        differences.push_back(std::move(difference));
      }
    }
  };
  for (const std::string& text : corpusJoseTexts()) {
    for (std::size_t i = 0; i < text.size(); ++i) {
      check(text.substr(0, i));
      for (const std::string& replacement : replacements) {
        check(text.substr(0, i) + replacement + text.substr(i + 1));
      }
      check(text.substr(0, i) + "," + text.substr(i));
    }
  }
  EXPECT_GT(cases, 50000);
  EXPECT_EQ(differences, std::vector<std::string>{});
}

}  // namespace
}  // namespace appserver::auth
