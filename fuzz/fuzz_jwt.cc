// fuzz_jwt.cc: libFuzzer target for JWT verification (auth/).
//
// The input is a token as a client would send it after "Bearer ". It is verified against
// fixed keys, the ones of RFC 7515 A.1-A.3 and RFC 8037 A.4 (HS256, RS256, ES256, EdDSA), read
// at start-up from the shared corpus (../shared/corpus/jose-rfc/vectors.json, never copied
// into the repository), under three policies (JWS only; a lenient JWT policy; a strict one
// with issuer, audiences, required claims and token_type). A mutated token almost never
// carries a valid signature, so the input's header and payload are also re-signed with the
// HS256 key and verified again: that reaches the claim rules with arbitrary JSON.
// Oracles beside the sanitizers: verification is deterministic; an Ok result carries the
// payload it verified; the per-worker TokenCache never answers differently from a fresh
// verification at a later time; the strict JSON scanner reads the decoded header and payload
// exactly as nlohmann plus the checks it replaced do (tests/auth/json_reference.h).
// Thread: libFuzzer's (one).
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "auth/base64url.h"
#include "auth/jwt.h"
#include "auth/jwt_signer.h"
#include "auth/jwt_verifier.h"
#include "auth/key.h"
#include "auth/key_set.h"
#include "auth/token_cache.h"
#include "tests/auth/json_reference.h"

namespace appserver::auth {
namespace {

using fuzz::check;
using fuzz::fail;

// Before the RFC tokens' exp (1300819380), so that they verify in full.
constexpr int64_t kNow = 1300819000;

struct Fixture {
  std::vector<KeySet> key_sets;  // one per RFC key, and all asymmetric ones together
  Key hmac;                      // the HS256 key, for re-signing
  std::vector<JwtVerifier> verifiers;
  size_t hmac_set = 0;  // index into key_sets
};

std::string sharedDir() {
  const char* dir = std::getenv("APPSERVER_SHARED_DIR");
  return dir != nullptr && *dir != '\0' ? dir : APPSERVER_SHARED_DIR;
}

std::vector<Policy> policies() {
  const std::vector<Alg> algs = {Alg::Hs256, Alg::Rs256, Alg::Es256, Alg::EdDsa};
  Policy jws;
  jws.algorithms = algs;
  jws.check_claims = false;
  Policy lenient;
  lenient.algorithms = algs;
  lenient.require_exp = false;
  lenient.user_claim = "iss";
  Policy strict;
  strict.algorithms = algs;
  strict.issuer = "joe";
  strict.audiences = {"api", "web"};
  strict.required_claims = {"jti", "iat"};
  strict.token_type = "access";
  strict.user_claim = "user_id";
  strict.leeway = 30;
  strict.max_json_depth = 4;
  return {jws, lenient, strict};
}

Fixture load() {
  const std::string path = sharedDir() + "/corpus/jose-rfc/vectors.json";
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json vectors = nlohmann::json::parse(text.str(), nullptr, false);
  if (!vectors.is_array()) {
    fail("cannot read the RFC keys", path);
  }
  Fixture f;
  KeySet asymmetric;
  for (const nlohmann::json& v : vectors) {
    const std::string alg = v.value("alg", "");
    if (alg != "HS256" && alg != "RS256" && alg != "ES256" && alg != "EdDSA") {
      continue;
    }
    const std::string jwk = v["key_jwk"].dump();
    KeySet one;
    if (one.addJwks(jwk) != Status::Ok) {
      fail("an RFC key does not load", jwk);
    }
    if (alg == "HS256") {
      std::string secret;
      if (base64UrlDecode(v["key_jwk"]["k"].get<std::string>(), secret) != Status::Ok ||
          makeHmacKey(secret, f.hmac) != Status::Ok) {
        fail("the RFC HMAC key");
      }
      f.hmac_set = f.key_sets.size();
    } else if (asymmetric.addJwks(jwk) != Status::Ok) {
      fail("an RFC public key does not join the others", jwk);
    }
    f.key_sets.push_back(std::move(one));
  }
  f.key_sets.push_back(std::move(asymmetric));
  for (Policy& p : policies()) {
    f.verifiers.emplace_back(std::move(p));
  }
  return f;
}

Fixture& fixture() {
  static Fixture f = load();
  return f;
}

bool sameResult(const Result& a, const Result& b) {
  return a.status == b.status && a.claim == b.claim && a.claims.json == b.claims.json &&
         a.claims.user == b.claims.user && a.claims.fields == b.claims.fields &&
         a.claims.exp == b.claims.exp;
}

void checkOk(const Result& r, const JwtVerifier& v, std::string_view payload) {
  if (r.status != Status::Ok) {
    return;
  }
  if (r.claims.json != payload) {
    fail("Ok with claims other than the payload", r.claims.json);
  }
  if (v.policy().check_claims && r.claims.user.empty()) {
    fail("Ok without the user claim");
  }
}

// verify() twice, then through a TokenCache at kNow and at a later time.
void verifyEverywhere(std::string_view token, const KeySet& keys, const JwtVerifier& v,
                      int64_t later, std::string_view payload) {
  const Result first = v.verify(token, keys, kNow);
  if (!sameResult(first, v.verify(token, keys, kNow))) {
    fail("verify() is not deterministic", token);
  }
  if (!payload.empty()) {
    checkOk(first, v, payload);
  }
  TokenCache cache(4);
  if (!sameResult(first, verifyCached(v, cache, token, keys, kNow))) {
    fail("verifyCached() differs on a miss", token);
  }
  const Result fresh = v.verify(token, keys, later);
  if (!sameResult(fresh, verifyCached(v, cache, token, keys, later))) {
    fail("the token cache answers differently from a fresh verification", token);
  }
}

// The scanner against the reference, with the limits a token gets and the strict policy's.
void checkScannerAgrees(std::string_view json) {
  for (const int depth : {JwtLimits{}.max_json_depth, 4}) {
    const std::string difference =
        testing::differenceFromReference(json, JsonLimits{JwtLimits{}.max_token_size, depth});
    check(difference.empty(), "the strict JSON scanner disagrees with nlohmann", difference);
  }
}

}  // namespace
}  // namespace appserver::auth

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)appserver::auth::fixture();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  using namespace appserver::auth;
  const std::string_view token(reinterpret_cast<const char*>(bytes), size);
  Fixture& f = fixture();
  const int64_t later = kNow + static_cast<int64_t>(size % 7) * 97;
  for (const KeySet& keys : f.key_sets) {
    for (const JwtVerifier& v : f.verifiers) {
      verifyEverywhere(token, keys, v, later, {});
    }
  }
  // The same header and payload with a valid HS256 signature: the claim rules get the JSON.
  std::string header;
  std::string payload;
  if (decodeJwtUnverified(token, JwtLimits{}, header, payload) != Status::Ok) {
    return 0;
  }
  checkScannerAgrees(header);
  checkScannerAgrees(payload);
  std::string signed_token;
  if (signJws(Alg::Hs256, f.hmac, header, payload, signed_token) != Status::Ok) {
    return 0;
  }
  Jwt parsed;
  if (parseJwt(signed_token, JwtLimits{}, parsed) == Status::Ok && parsed.payload != payload) {
    fail("parseJwt() decodes another payload than was signed");
  }
  for (const JwtVerifier& v : f.verifiers) {
    verifyEverywhere(signed_token, f.key_sets[f.hmac_set], v, later, payload);
  }
  return 0;
}
