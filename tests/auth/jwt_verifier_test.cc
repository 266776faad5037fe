// jwt_verifier_test.cc: algorithms and claim rules of JwtVerifier (auth/jwt_verifier.cc).
#include "auth/jwt_verifier.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

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

Status statusOf(std::string_view payload, const Policy& policy = defaultPolicy(),
                std::int64_t now = kNow) {
  return verifyWith(policy, Alg::Hs256, payload, now).status;
}

TEST(JwtVerifier, RejectsTokenAtExpInstant) {
  EXPECT_EQ(statusOf(claimsWith(""), defaultPolicy(), kExp - 1), Status::Ok);
  EXPECT_EQ(statusOf(claimsWith(""), defaultPolicy(), kExp), Status::Expired);
}

TEST(JwtVerifier, AppliesLeewayToExp) {
  Policy policy = defaultPolicy();
  policy.leeway = 30;
  EXPECT_EQ(statusOf(claimsWith(""), policy, kExp + 29), Status::Ok);
  EXPECT_EQ(statusOf(claimsWith(""), policy, kExp + 30), Status::Expired);
}

TEST(JwtVerifier, RequiresExpByDefault) {
  EXPECT_EQ(statusOf(R"({"sub":"alice"})"), Status::ClaimMissing);
  Policy policy = defaultPolicy();
  policy.require_exp = false;
  EXPECT_EQ(statusOf(R"({"sub":"alice"})", policy), Status::Ok);
}

TEST(JwtVerifier, RejectsNonNumericExp) {
  EXPECT_EQ(statusOf(R"({"sub":"a","exp":"1800000000"})"), Status::ClaimInvalid);
  EXPECT_EQ(statusOf(R"({"sub":"a","exp":true})"), Status::ClaimInvalid);
  EXPECT_EQ(statusOf(R"({"sub":"a","exp":null})"), Status::ClaimInvalid);
}

TEST(JwtVerifier, RoundsFractionalExpDown) {
  const std::string payload = R"({"sub":"a","exp":)" + std::to_string(kNow) + ".9}";
  EXPECT_EQ(statusOf(payload), Status::Expired);
}

TEST(JwtVerifier, SaturatesHugeTimesInsteadOfOverflowing) {
  Policy policy = defaultPolicy();
  policy.leeway = 60;
  EXPECT_EQ(statusOf(R"({"sub":"a","exp":18446744073709551615})", policy), Status::Ok);
  EXPECT_EQ(statusOf(R"({"sub":"a","exp":1e300})", policy), Status::Ok);
  EXPECT_EQ(statusOf(R"({"sub":"a","exp":-9223372036854775808})", policy), Status::Expired);
}

TEST(JwtVerifier, RejectsTokenBeforeNbf) {
  const std::string nbf = ",\"nbf\":" + std::to_string(kNow + 10);
  EXPECT_EQ(statusOf(claimsWith(nbf)), Status::NotYetValid);
  EXPECT_EQ(statusOf(claimsWith(nbf), defaultPolicy(), kNow + 10), Status::Ok);
  Policy policy = defaultPolicy();
  policy.leeway = 10;
  EXPECT_EQ(statusOf(claimsWith(nbf), policy), Status::Ok);
}

TEST(JwtVerifier, RejectsIatInTheFuture) {
  const std::string iat = ",\"iat\":" + std::to_string(kNow + 5);
  EXPECT_EQ(statusOf(claimsWith(iat)), Status::IssuedInFuture);
  Policy policy = defaultPolicy();
  policy.leeway = 5;
  EXPECT_EQ(statusOf(claimsWith(iat), policy), Status::Ok);
  EXPECT_EQ(statusOf(claimsWith(",\"iat\":\"now\"")), Status::ClaimInvalid);
}

TEST(JwtVerifier, ChecksIssuer) {
  Policy policy = defaultPolicy();
  policy.issuer = "https://issuer.example";
  EXPECT_EQ(statusOf(claimsWith(R"(,"iss":"https://issuer.example")"), policy), Status::Ok);
  EXPECT_EQ(statusOf(claimsWith(R"(,"iss":"https://evil.example")"), policy),
            Status::IssuerMismatch);
  EXPECT_EQ(statusOf(claimsWith(""), policy), Status::ClaimMissing);
  EXPECT_EQ(statusOf(claimsWith(R"(,"iss":["https://issuer.example"])"), policy),
            Status::ClaimInvalid);
}

TEST(JwtVerifier, AcceptsAnyConfiguredAudienceInStringOrList) {
  Policy policy = defaultPolicy();
  policy.audiences = {"api", "admin"};
  EXPECT_EQ(statusOf(claimsWith(R"(,"aud":"admin")"), policy), Status::Ok);
  EXPECT_EQ(statusOf(claimsWith(R"(,"aud":["other","api"])"), policy), Status::Ok);
  EXPECT_EQ(statusOf(claimsWith(R"(,"aud":["other"])"), policy), Status::AudienceMismatch);
  EXPECT_EQ(statusOf(claimsWith(R"(,"aud":"API")"), policy), Status::AudienceMismatch);
  EXPECT_EQ(statusOf(claimsWith(R"(,"aud":["api",1])"), policy), Status::ClaimInvalid);
  EXPECT_EQ(statusOf(claimsWith(""), policy), Status::ClaimMissing);
}

TEST(JwtVerifier, RejectsAudienceWhenNoneIsConfigured) {
  EXPECT_EQ(statusOf(claimsWith(R"(,"aud":"api")")), Status::AudienceMismatch);
}

TEST(JwtVerifier, RequiresConfiguredClaims) {
  Policy policy = defaultPolicy();
  policy.required_claims = {"jti", "scope"};
  EXPECT_EQ(statusOf(claimsWith(R"(,"jti":"1","scope":null)"), policy), Status::Ok);
  EXPECT_EQ(statusOf(claimsWith(R"(,"jti":"1")"), policy), Status::ClaimMissing);
}

TEST(JwtVerifier, ChecksTokenType) {
  Policy policy = defaultPolicy();
  policy.token_type = "access";
  EXPECT_EQ(statusOf(claimsWith(R"(,"token_type":"access")"), policy), Status::Ok);
  EXPECT_EQ(statusOf(claimsWith(R"(,"token_type":"refresh")"), policy), Status::TokenTypeMismatch);
  EXPECT_EQ(statusOf(claimsWith(""), policy), Status::ClaimMissing);
}

TEST(JwtVerifier, ExposesNumericOrStringUserIdAsString) {
  Policy policy = defaultPolicy();
  policy.user_claim = "user_id";
  const std::string exp = std::to_string(kExp);
  Result result = verifyWith(policy, Alg::Hs256, R"({"user_id":42,"exp":)" + exp + "}");
  ASSERT_EQ(result.status, Status::Ok);
  EXPECT_EQ(result.claims.user, "42");
  result = verifyWith(policy, Alg::Hs256, R"({"user_id":"u-7","exp":)" + exp + "}");
  EXPECT_EQ(result.claims.user, "u-7");
}

TEST(JwtVerifier, RejectsMissingOrNonScalarUserClaim) {
  EXPECT_EQ(statusOf(R"({"exp":1800000000})"), Status::ClaimMissing);
  EXPECT_EQ(statusOf(R"({"sub":1.5,"exp":1800000000})"), Status::ClaimInvalid);
  EXPECT_EQ(statusOf(R"({"sub":{"id":1},"exp":1800000000})"), Status::ClaimInvalid);
  EXPECT_EQ(statusOf(R"({"sub":"","exp":1800000000})"), Status::ClaimInvalid);
}

TEST(JwtVerifier, FlattensTopLevelClaimsToStrings) {
  const Result result =
      verifyWith(defaultPolicy(), Alg::Hs256, claimsWith(R"(,"roles":["a","b"],"n":7)"));
  ASSERT_EQ(result.status, Status::Ok);
  EXPECT_EQ(result.claims.json, claimsWith(R"(,"roles":["a","b"],"n":7)"));
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"exp", std::to_string(kExp)}, {"n", "7"}, {"roles", R"(["a","b"])"}, {"sub", "alice"}};
  EXPECT_EQ(result.claims.fields, expected);
}

TEST(JwtVerifier, FlattensEveryKindOfValueAsNlohmannPrintedIt) {
  const Result result =
      verifyWith(defaultPolicy(), Alg::Hs256,
                 claimsWith(R"(,"f":1.50,"big":18446744073709551616,"neg":-0,"t":true,"z":null,)"
                            R"("o":{"b":[1E2],"a":"\u00e9"},"s":"\u0041\n")"));
  ASSERT_EQ(result.status, Status::Ok);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"big", "1.8446744073709552e+19"},
      {"exp", std::to_string(kExp)},
      {"f", "1.5"},
      {"neg", "0"},
      {"o", "{\"a\":\"\xc3\xa9\",\"b\":[100.0]}"},
      {"s", "A\n"},
      {"sub", "alice"},
      {"t", "true"},
      {"z", "null"}};
  EXPECT_EQ(result.claims.fields, expected);
}

TEST(JwtVerifier, ReadsHeaderAndClaimNamesSpelledWithEscapes) {
  const std::string header = R"({"\u0061lg":"HS\u0032\u00356","k\u0069d":"k\/1"})";
  KeySet keys;
  ASSERT_EQ(keys.addHmacSecret(testing::kSecret, "k/1"), Status::Ok);
  const std::string payload = R"({"s\u0075b":"\u0061lice","\u0065xp":)" + std::to_string(kExp) +
                              R"(,"aud":["x","\u0061pi"],"token_typ\u0065":"access"})";
  Policy policy = defaultPolicy();
  policy.audiences = {"api"};
  policy.token_type = "access";
  const Result result =
      JwtVerifier(policy).verify(testing::signWithHeader(Alg::Hs256, header, payload), keys, kNow);
  ASSERT_EQ(result.status, Status::Ok) << toString(result.status);
  EXPECT_EQ(result.claims.user, "alice");
  EXPECT_EQ(result.claims.exp, kExp);
}

TEST(JwtVerifier, NamesTheClaimThatFailed) {
  Policy policy = defaultPolicy();
  policy.user_claim = "user_id";
  EXPECT_EQ(verifyWith(policy, Alg::Hs256, claimsWith("")).claim, "user_id");
  EXPECT_EQ(verifyWith(defaultPolicy(), Alg::Hs256, R"({"sub":"a"})").claim, "exp");
  policy = defaultPolicy();
  policy.required_claims = {"scope"};
  const Result result = verifyWith(policy, Alg::Hs256, claimsWith(""));
  EXPECT_EQ(result.status, Status::ClaimMissing);
  EXPECT_EQ(result.claim, "scope");
  EXPECT_EQ(verifyWith(defaultPolicy(), Alg::Hs256, claimsWith("")).claim, "");
}

TEST(JwtVerifier, RejectsPayloadThatIsNotAnObject) {
  EXPECT_EQ(statusOf(R"(["sub","alice"])"), Status::PayloadInvalid);
  EXPECT_EQ(statusOf("Payload"), Status::PayloadInvalid);
}

TEST(JwtVerifier, ChecksOnlySignatureWhenClaimsAreOff) {
  Policy policy = defaultPolicy();
  policy.check_claims = false;
  const Result result = verifyWith(policy, Alg::Hs256, "not json at all");
  ASSERT_EQ(result.status, Status::Ok);
  EXPECT_EQ(result.claims.json, "not json at all");
}

TEST(JwtVerifier, RejectsAlgorithmOutsideAllowList) {
  Policy policy = defaultPolicy();
  policy.algorithms = {Alg::Rs256};
  EXPECT_EQ(statusOf(claimsWith(""), policy), Status::AlgNotAllowed);
}

TEST(JwtVerifier, FailsClosedWithEmptyAllowList) {
  Policy policy = defaultPolicy();
  policy.algorithms.clear();
  EXPECT_EQ(statusOf(claimsWith(""), policy), Status::AlgNotAllowed);
}

TEST(JwtVerifier, SelectsKeyByKid) {
  KeySet keys;
  ASSERT_EQ(keys.addHmacSecret(std::string(32, 'a'), "old"), Status::Ok);
  ASSERT_EQ(keys.addHmacSecret(testing::kSecret, "new"), Status::Ok);
  const JwtVerifier verifier(defaultPolicy());
  EXPECT_EQ(verifier.verify(sign(Alg::Hs256, claimsWith(""), "new"), keys, kNow).status,
            Status::Ok);
  EXPECT_EQ(verifier.verify(sign(Alg::Hs256, claimsWith(""), "old"), keys, kNow).status,
            Status::SignatureInvalid);
  EXPECT_EQ(verifier.verify(sign(Alg::Hs256, claimsWith("")), keys, kNow).status, Status::Ok);
}

TEST(JwtVerifier, VerifiesConcurrentlyFromManyThreads) {
  // One verifier and one key set shared by several threads, as in a --threads worker.
  const JwtVerifier verifier(defaultPolicy());
  KeySet keys = verifyingKeys(Alg::Hs256);
  ASSERT_EQ(keys.addPublicKeyPem(testing::publicPem(Alg::Es256)), Status::Ok);
  const std::string tokens[] = {sign(Alg::Hs256, claimsWith("")), sign(Alg::Es256, claimsWith(""))};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        if (verifier.verify(tokens[(t + i) % 2], keys, kNow).status != Status::Ok) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(failures.load(), 0);
}

TEST(JwtVerifier, RejectsKeyOfWrongCurve) {
  const std::string token = sign(Alg::Es384, claimsWith(""));
  EXPECT_EQ(JwtVerifier(defaultPolicy()).verify(token, verifyingKeys(Alg::Es256), kNow).status,
            Status::KeyAlgMismatch);
}

}  // namespace
}  // namespace appserver::auth
