// jwt_verifier_bench.cc: micro-benchmark of JwtVerifier::verify and TokenCache.
//
// Run: build/appserver-jwt-bench. Not part of ctest. Keys are generated at start-up, so
// the numbers measure verification only. Thread: benchmark's main thread.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <string>

#include "auth/jwt_signer.h"
#include "auth/jwt_verifier.h"
#include "auth/key.h"
#include "auth/key_set.h"
#include "auth/token_cache.h"

namespace appserver::auth {
namespace {

constexpr std::int64_t kNow = 1700000000;
constexpr const char* kClaims =
    R"({"token_type":"access","exp":1800000000,"iat":1700000000,"jti":"0f3c","user_id":42})";

struct Fixture {
  KeySet keys;
  std::string token;
};

Fixture makeFixture(Alg alg) {
  Fixture fixture;
  Key signer;
  if (algFamily(alg) == AlgFamily::Hmac) {
    const std::string secret(64, 'k');
    makeHmacKey(secret, signer);
    fixture.keys.addHmacSecret(secret);
  } else {
    EVP_PKEY* pkey = alg == Alg::Rs256   ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048})
                     : alg == Alg::EdDsa ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                                         : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    makeKeyFromPkey(EvpPkeyPtr(pkey), /*allow_private=*/true, signer);
    std::string pem;
    publicKeyToPem(signer, pem);
    fixture.keys.addPublicKeyPem(pem);
  }
  signJwt(alg, signer, kClaims, "", fixture.token);
  return fixture;
}

Policy benchPolicy() {
  Policy policy;
  policy.algorithms = allAlgs();
  policy.token_type = "access";
  policy.user_claim = "user_id";
  return policy;
}

void BM_Verify(benchmark::State& state, Alg alg) {
  const Fixture fixture = makeFixture(alg);
  const JwtVerifier verifier(benchPolicy());
  for (auto _ : state) {
    Result result = verifier.verify(fixture.token, fixture.keys, kNow);
    if (result.status != Status::Ok) {
      state.SkipWithError("verification failed");
    }
    benchmark::DoNotOptimize(result);
  }
}

void BM_VerifyCachedHit(benchmark::State& state) {
  const Fixture fixture = makeFixture(Alg::Rs256);
  const JwtVerifier verifier(benchPolicy());
  TokenCache cache(1024);
  for (auto _ : state) {
    Result result = verifyCached(verifier, cache, fixture.token, fixture.keys, kNow);
    benchmark::DoNotOptimize(result);
  }
}

BENCHMARK_CAPTURE(BM_Verify, HS256, Alg::Hs256);
BENCHMARK_CAPTURE(BM_Verify, RS256, Alg::Rs256);
BENCHMARK_CAPTURE(BM_Verify, ES256, Alg::Es256);
BENCHMARK_CAPTURE(BM_Verify, EdDSA, Alg::EdDsa);
BENCHMARK(BM_VerifyCachedHit);

}  // namespace
}  // namespace appserver::auth

BENCHMARK_MAIN();
