// jwt_verifier.cc: the verification pipeline described in jwt_verifier.h.
//
// Thread: any; verify() only reads the verifier and the key set.
#include "auth/jwt_verifier.h"

#include <algorithm>
#include <utility>

#include "auth/claim_rules.h"
#include "auth/jwt.h"
#include "auth/key.h"
#include "auth/signature.h"

namespace appserver::auth {

namespace {

// A token without kid is tried against at most this many fitting keys, so a large key set
// cannot multiply the cost of one forged token without bound.
constexpr std::size_t kMaxKeyAttempts = 8;

// A key with a kid serves only tokens naming that kid (or none); a key without a kid
// (a configured secret or PEM key) serves any token.
bool kidMatches(const Key& key, const Jwt& jwt) {
  return key.kid.empty() || !jwt.has_kid || key.kid == jwt.kid;
}

Status checkSignature(const Jwt& jwt, const KeySet& keys) {
  bool kid_matched = false;
  std::size_t attempts = 0;
  Status last = Status::KeyNotFound;
  for (std::size_t i = 0; i < keys.size() && attempts < kMaxKeyAttempts; ++i) {
    const Key& key = keys.key(i);
    if (!kidMatches(key, jwt)) {
      continue;
    }
    kid_matched = true;
    if (!keyFitsAlg(key, jwt.alg)) {
      continue;
    }
    ++attempts;
    last = verifySignature(jwt.alg, key, jwt.signing_input, jwt.signature);
    if (last == Status::Ok) {
      return Status::Ok;
    }
  }
  if (attempts == 0) {
    return kid_matched ? Status::KeyAlgMismatch : Status::KeyNotFound;
  }
  return last;
}

}  // namespace

JwtVerifier::JwtVerifier(Policy policy) : policy_(std::move(policy)) {}

bool JwtVerifier::allows(Alg alg) const {
  return std::find(policy_.algorithms.begin(), policy_.algorithms.end(), alg) !=
         policy_.algorithms.end();
}

Result JwtVerifier::verify(std::string_view token, const KeySet& keys, std::int64_t now) const {
  Result result;
  Jwt jwt;
  result.status = parseJwt(token, JwtLimits{policy_.max_token_size, policy_.max_json_depth}, jwt);
  if (result.status != Status::Ok) {
    return result;
  }
  if (!allows(jwt.alg)) {
    result.status = Status::AlgNotAllowed;
    return result;
  }
  result.status = checkSignature(jwt, keys);
  if (result.status != Status::Ok) {
    return result;
  }
  if (!policy_.check_claims) {
    result.claims.json = std::move(jwt.payload);
    return result;
  }
  result.status = checkClaims(std::move(jwt.payload), policy_, now, result.claims, result.claim);
  return result;
}

}  // namespace appserver::auth
