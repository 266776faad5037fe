// strict_json_test.cc: duplicate names, depth and well-formedness (auth/strict_json.cc).
#include "auth/strict_json.h"

#include <gtest/gtest.h>

namespace appserver::auth {
namespace {

Status parse(std::string_view text, JsonLimits limits = {}) {
  nlohmann::json value;
  return parseJsonStrict(text, limits, value);
}

TEST(StrictJson, AcceptsObjectWithCrLfWhitespace) {
  EXPECT_EQ(parse("{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}"), Status::Ok);
}

TEST(StrictJson, RejectsDuplicateMemberNames) {
  EXPECT_EQ(parse(R"({"alg":"HS256","alg":"none"})"), Status::JsonDuplicateKey);
}

TEST(StrictJson, RejectsDuplicatesSpelledWithEscapes) {
  EXPECT_EQ(parse(R"({"alg":"HS256","\u0061lg":"none"})"), Status::JsonDuplicateKey);
}

TEST(StrictJson, RejectsDuplicatesInNestedObjects) {
  EXPECT_EQ(parse(R"({"a":{"b":1,"b":2}})"), Status::JsonDuplicateKey);
  EXPECT_EQ(parse(R"({"a":[{"b":1},{"b":2}]})"), Status::Ok);
  EXPECT_EQ(parse(R"({"a":{"b":1},"c":{"b":2}})"), Status::Ok);
}

TEST(StrictJson, RejectsNestingBeyondLimit) {
  const JsonLimits limits{1024, 4};
  EXPECT_EQ(parse(R"({"a":{"b":{"c":[1]}}})", limits), Status::Ok);
  EXPECT_EQ(parse(R"({"a":{"b":{"c":[[1]]}}})", limits), Status::JsonTooDeep);
  EXPECT_EQ(parse(std::string(5000, '[') + std::string(5000, ']')), Status::JsonTooDeep);
}

TEST(StrictJson, RejectsTextBeyondSizeLimit) {
  EXPECT_EQ(parse(R"({"a":"0123456789"})", JsonLimits{10, 4}), Status::JsonInvalid);
}

TEST(StrictJson, RejectsMalformedText) {
  EXPECT_EQ(parse(R"({"a":1,})"), Status::JsonInvalid);
  EXPECT_EQ(parse(R"({"a":1} x)"), Status::JsonInvalid);
  EXPECT_EQ(parse(R"({"a":1}/**/)"), Status::JsonInvalid);
  EXPECT_EQ(parse(R"({'a':1})"), Status::JsonInvalid);
  EXPECT_EQ(parse(""), Status::JsonInvalid);
}

TEST(StrictJson, RejectsInvalidUtf8AndLoneSurrogates) {
  EXPECT_EQ(parse("{\"a\":\"\xff\"}"), Status::JsonInvalid);
  EXPECT_EQ(parse("{\"a\":\"\xc0\xaf\"}"), Status::JsonInvalid);
  EXPECT_EQ(parse(R"({"a":"\ud800"})"), Status::JsonInvalid);
}

TEST(StrictJson, RejectsNumbersOutOfRange) {
  EXPECT_EQ(parse(R"({"exp":1e400})"), Status::JsonInvalid);
}

}  // namespace
}  // namespace appserver::auth
