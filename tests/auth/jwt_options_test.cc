// jwt_options_test.cc: JwtOptions to Policy + KeySet (auth/jwt_options.cc).
#include "auth/jwt_options.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "test_keys.h"

namespace appserver::auth {
namespace {

std::string writeTemp(const std::string& name, const std::string& content) {
  const std::string path = ::testing::TempDir() + "/jwt_options_test_" + name;
  std::ofstream(path) << content;
  return path;
}

Status build(const JwtOptions& options, Policy& policy, KeySet& keys,
             std::string* detail = nullptr) {
  return buildJwtConfig(options, policy, keys, detail);
}

// The status alone, for tests that only check refusals.
Status buildStatus(const JwtOptions& options) {
  Policy policy;
  KeySet keys;
  return buildJwtConfig(options, policy, keys);
}

TEST(JwtOptions, RequiresAKeySource) {
  Policy policy;
  KeySet keys;
  std::string detail;
  EXPECT_FALSE(JwtOptions{}.enabled());
  EXPECT_EQ(build(JwtOptions{}, policy, keys, &detail), Status::ConfigInvalid);
  EXPECT_NE(detail.find("no key given"), std::string::npos);
}

TEST(JwtOptions, BuildsPolicyFromSecretInEnvironment) {
  ::setenv("JWT_OPTIONS_TEST_SECRET", testing::kSecret.c_str(), 1);
  JwtOptions options;
  options.secret_env = "JWT_OPTIONS_TEST_SECRET";
  options.issuer = "me";
  options.audiences = {"api"};
  options.leeway = 5;
  options.required = {"jti"};
  options.token_type = "access";
  options.user_claim = "user_id";
  Policy policy;
  KeySet keys;
  ASSERT_EQ(build(options, policy, keys), Status::Ok);
  EXPECT_EQ(keys.size(), 1u);
  EXPECT_EQ(policy.algorithms, (std::vector<Alg>{Alg::Hs256, Alg::Hs384, Alg::Hs512}));
  EXPECT_EQ(policy.issuer, "me");
  EXPECT_EQ(policy.audiences, std::vector<std::string>{"api"});
  EXPECT_EQ(policy.leeway, 5);
  EXPECT_EQ(policy.required_claims, std::vector<std::string>{"jti"});
  EXPECT_EQ(policy.token_type, "access");
  EXPECT_EQ(policy.user_claim, "user_id");
  EXPECT_TRUE(policy.check_claims);
  ::unsetenv("JWT_OPTIONS_TEST_SECRET");
}

TEST(JwtOptions, LoadsPublicKeysAndJwksTogether) {
  JwtOptions options;
  options.public_keys = {writeTemp("rsa.pem", testing::publicPem(Alg::Rs256)),
                         writeTemp("ed.pem", testing::publicPem(Alg::EdDsa))};
  // The RFC 7515 A.3 public key.
  options.jwks = writeTemp("jwks.json", R"({"keys":[{"kty":"EC","crv":"P-256","kid":"rfc",)"
                                        R"("x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
                                        R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]})");
  options.algorithms = "RS256, ES256";
  options.no_claims = true;
  Policy policy;
  KeySet keys;
  ASSERT_EQ(build(options, policy, keys), Status::Ok);
  EXPECT_EQ(keys.size(), 3u);
  EXPECT_EQ(policy.algorithms, (std::vector<Alg>{Alg::Rs256, Alg::Es256}));
  EXPECT_FALSE(policy.check_claims);
}

TEST(JwtOptions, NamesTheFailingOptionAndFile) {
  JwtOptions options;
  options.public_keys = {"/nonexistent/key.pem"};
  Policy policy;
  KeySet keys;
  std::string detail;
  EXPECT_EQ(build(options, policy, keys, &detail), Status::FileUnreadable);
  EXPECT_EQ(detail, "--jwt-public-key /nonexistent/key.pem: file cannot be read");
}

TEST(JwtOptions, RefusesUnknownAlgorithmAndNegativeLeeway) {
  JwtOptions options;
  options.secret_file = writeTemp("secret", testing::kSecret + "\n");
  options.algorithms = "HS256,none";
  EXPECT_EQ(buildStatus(options), Status::ConfigInvalid);
  options.algorithms = "HS256";
  options.leeway = -1;
  EXPECT_EQ(buildStatus(options), Status::ConfigInvalid);
  options.leeway = 0;
  EXPECT_EQ(buildStatus(options), Status::Ok);
}

TEST(JwtOptions, RefusesAllowListNoKeyCanServe) {
  JwtOptions options;
  options.secret_file = writeTemp("secret2", testing::kSecret);
  options.algorithms = "RS256";
  EXPECT_EQ(buildStatus(options), Status::KeySetEmpty);
}

TEST(JwtOptions, RefusesBothSecretSources) {
  JwtOptions options;
  options.secret_file = writeTemp("secret3", testing::kSecret);
  options.secret_env = "HOME";
  EXPECT_EQ(buildStatus(options), Status::ConfigInvalid);
}

TEST(JwtOptions, ReportsWeakSecretWithoutPrintingIt) {
  JwtOptions options;
  options.secret_file = writeTemp("short", "hunter2");
  Policy policy;
  KeySet keys;
  std::string detail;
  EXPECT_EQ(build(options, policy, keys, &detail), Status::KeyWeak);
  EXPECT_EQ(detail.find("hunter2"), std::string::npos);
  EXPECT_NE(detail.find("--jwt-secret-file"), std::string::npos);
}

}  // namespace
}  // namespace appserver::auth
