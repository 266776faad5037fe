// jwt_verifier_rfc_test.cc: the RFC 7515 appendix A and RFC 8037 example tokens
// (shared/corpus/jose-rfc) against JwtVerifier.
//
// The JWS layer is checked with claims off (two payloads are not JSON). The A.1-A.3
// payloads are JWT claim sets with exp 1300819380 and no sub, so the claim layer is checked
// with the clock fixed around that instant and iss as the user claim.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "auth/jwt_verifier.h"
#include "auth/key_set.h"
#include "test_keys.h"

namespace appserver::auth {
namespace {

using Json = nlohmann::json;

constexpr std::int64_t kRfcExp = 1300819380;

Json vectors() { return Json::parse(testing::readCorpus("jose-rfc/vectors.json")); }

Policy rfcPolicy(bool check_claims) {
  Policy policy;
  policy.algorithms = allAlgs();
  policy.check_claims = check_claims;
  policy.user_claim = "iss";
  return policy;
}

Status verifyVector(const Json& vector, bool check_claims, std::int64_t now) {
  KeySet keys;
  if (!vector.at("key_jwk").is_null()) {
    const Status status = keys.addJwks(vector.at("key_jwk").dump());
    if (status != Status::Ok) {
      return status;
    }
  }
  return JwtVerifier(rfcPolicy(check_claims))
      .verify(vector.at("token").get<std::string>(), keys, now)
      .status;
}

TEST(JwtVerifierRfc, VerifiesEveryExampleSignatureAsTheRfcExpects) {
  int checked = 0;
  for (const Json& vector : vectors()) {
    const Status status = verifyVector(vector, /*check_claims=*/false, 0);
    EXPECT_EQ(status == Status::Ok, vector.at("expected_valid").get<bool>())
        << vector.at("name") << ": " << toString(status);
    ++checked;
  }
  EXPECT_EQ(checked, 6);
}

TEST(JwtVerifierRfc, RefusesTheUnsecuredExampleAsAlgNone) {
  for (const Json& vector : vectors()) {
    if (vector.at("alg") == "none") {
      EXPECT_EQ(verifyVector(vector, false, 0), Status::AlgNone);
    }
  }
}

TEST(JwtVerifierRfc, AppliesClaimsToJwtExamplesBeforeAndAtExp) {
  int checked = 0;
  for (const Json& vector : vectors()) {
    const std::string name = vector.at("name").get<std::string>();
    if (name.find("A.1") == std::string::npos && name.find("A.2") == std::string::npos &&
        name.find("A.3") == std::string::npos) {
      continue;
    }
    EXPECT_EQ(verifyVector(vector, true, kRfcExp - 1), Status::Ok) << name;
    EXPECT_EQ(verifyVector(vector, true, kRfcExp), Status::Expired) << name;
    ++checked;
  }
  EXPECT_EQ(checked, 3);
}

TEST(JwtVerifierRfc, RefusesNonJsonPayloadsWhenClaimsAreChecked) {
  for (const Json& vector : vectors()) {
    const std::string name = vector.at("name").get<std::string>();
    if (name.find("A.4") != std::string::npos || name.find("8037") != std::string::npos) {
      EXPECT_EQ(verifyVector(vector, true, 0), Status::PayloadInvalid) << name;
    }
  }
}

}  // namespace
}  // namespace appserver::auth
