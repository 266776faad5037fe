// token_cache_test.cc: expiry, bounds and LRU order of TokenCache (auth/token_cache.cc).
#include "auth/token_cache.h"

#include <gtest/gtest.h>

#include "test_keys.h"

namespace appserver::auth {
namespace {

Claims claimsExpiringAt(std::int64_t exp, std::string user = "alice") {
  Claims claims;
  claims.user = std::move(user);
  claims.exp = exp;
  return claims;
}

TEST(TokenCache, ReturnsInsertedClaimsBeforeExp) {
  TokenCache cache(4);
  cache.insert("t1", claimsExpiringAt(1000), 900);
  const Claims* found = cache.find("t1", 999);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->user, "alice");
}

TEST(TokenCache, NeverReturnsEntryAtOrAfterExp) {
  TokenCache cache(4);
  cache.insert("t1", claimsExpiringAt(1000), 900);
  EXPECT_EQ(cache.find("t1", 1000), nullptr);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(TokenCache, BoundsEntryLifetimeByMaxAge) {
  TokenCache cache(4, /*max_age_seconds=*/60);
  cache.insert("t1", claimsExpiringAt(100000), 1000);
  EXPECT_NE(cache.find("t1", 1059), nullptr);
  EXPECT_EQ(cache.find("t1", 1060), nullptr);
  Claims no_exp;
  cache.insert("t2", no_exp, 1000);
  EXPECT_NE(cache.find("t2", 1059), nullptr);
  EXPECT_EQ(cache.find("t2", 1060), nullptr);
}

TEST(TokenCache, SkipsAlreadyExpiredClaims) {
  TokenCache cache(4);
  cache.insert("t1", claimsExpiringAt(1000), 1000);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(TokenCache, EvictsLeastRecentlyUsedEntryWhenFull) {
  TokenCache cache(2);
  cache.insert("a", claimsExpiringAt(5000, "a"), 0);
  cache.insert("b", claimsExpiringAt(5000, "b"), 0);
  ASSERT_NE(cache.find("a", 1), nullptr);  // b is now the least recently used
  cache.insert("c", claimsExpiringAt(5000, "c"), 1);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_NE(cache.find("a", 2), nullptr);
  EXPECT_EQ(cache.find("b", 2), nullptr);
  EXPECT_NE(cache.find("c", 2), nullptr);
}

TEST(TokenCache, MatchesWholeTokenExactly) {
  TokenCache cache(4);
  cache.insert("abc", claimsExpiringAt(5000), 0);
  EXPECT_EQ(cache.find("ab", 1), nullptr);
  EXPECT_EQ(cache.find("abcd", 1), nullptr);
}

TEST(TokenCache, StoresNothingWithZeroCapacity) {
  TokenCache cache(0);
  cache.insert("a", claimsExpiringAt(5000), 0);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(TokenCache, CachesOnlySuccessfulVerifications) {
  Policy policy;
  policy.algorithms = allAlgs();
  const JwtVerifier verifier(policy);
  const KeySet keys = testing::verifyingKeys(Alg::Hs256);
  TokenCache cache(8);
  const std::string good = testing::sign(Alg::Hs256, R"({"sub":"alice","exp":1700000100})");
  const std::string bad = testing::sign(Alg::Hs256, R"({"sub":"alice","exp":1600000000})");
  EXPECT_EQ(verifyCached(verifier, cache, good, keys, testing::kNow).status, Status::Ok);
  EXPECT_EQ(verifyCached(verifier, cache, bad, keys, testing::kNow).status, Status::Expired);
  EXPECT_EQ(cache.size(), 1u);
  const Result hit = verifyCached(verifier, cache, good, keys, testing::kNow + 1);
  EXPECT_EQ(hit.status, Status::Ok);
  EXPECT_EQ(hit.claims.user, "alice");
  EXPECT_EQ(verifyCached(verifier, cache, good, keys, 1700000100).status, Status::Expired);
}

}  // namespace
}  // namespace appserver::auth
