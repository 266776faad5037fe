// jwt_verifier_test.cc: algorithms and claim rules of JwtVerifier (auth/jwt_verifier.cc).
#include "auth/jwt_verifier.h"

#include <gtest/gtest.h>

#include "test_keys.h"

namespace appserver::auth {
namespace {

using testing::kExp;
using testing::kNow;
using testing::sign;
using testing::verifyingKeys;

Policy defaultPolicy() {
  Policy policy;
  policy.algorithms = allAlgs();
  return policy;
}

Result verifyWith(const Policy& policy, Alg alg, std::string_view payload,
                  std::int64_t now = kNow) {
  return JwtVerifier(policy).verify(sign(alg, payload), verifyingKeys(alg), now);
}

std::string claimsWith(std::string_view extra) {
  return R"({"sub":"alice","exp":)" + std::to_string(kExp) + std::string(extra) + "}";
}

class JwtVerifierAlgTest : public ::testing::TestWithParam<Alg> {};

TEST_P(JwtVerifierAlgTest, AcceptsTokenSignedWithMatchingKey) {
  const Result result = verifyWith(defaultPolicy(), GetParam(), claimsWith(""));
  ASSERT_EQ(result.status, Status::Ok) << toString(result.status);
  EXPECT_EQ(result.claims.user, "alice");
  EXPECT_EQ(result.claims.exp, kExp);
}

TEST_P(JwtVerifierAlgTest, RejectsTamperedPayload) {
  std::string token = sign(GetParam(), claimsWith(""));
  const std::size_t dot = token.find('.');
  token[dot + 5] = token[dot + 5] == 'A' ? 'B' : 'A';
  const Result result = JwtVerifier(defaultPolicy()).verify(token, verifyingKeys(GetParam()), kNow);
  EXPECT_NE(result.status, Status::Ok);
}

INSTANTIATE_TEST_SUITE_P(EveryAlgorithm, JwtVerifierAlgTest, ::testing::ValuesIn(allAlgs()),
                         [](const auto& info) { return std::string(algName(info.param)); });

}  // namespace
}  // namespace appserver::auth
