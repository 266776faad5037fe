// jwt_verifier.h: verify a compact JWT against a policy and a key set.
//
// This is the one call server/ makes per request:
//
//   JwtVerifier verifier(policy);                       // at startup
//   Result result = verifier.verify(token, *keys, now);  // per request
//   if (result.status != Status::Ok) -> 401 with toString(result.status)
//
// Order of checks: size, shape, header (alg allow-list, never none, no crit), key selection
// by kid and key type, signature, and only then the payload's JSON and claims (exp, nbf,
// iat, iss, aud, token_type, required claims, user claim). auth/ never reads the clock:
// `now` is passed in. Public header: no OpenSSL or JSON library types.
// Thread: a JwtVerifier is immutable; verify() may run on many threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/alg.h"
#include "auth/key_set.h"
#include "auth/status.h"

namespace appserver::auth {

// What a token must satisfy. Plain aggregate (Google style: public struct fields carry no
// trailing underscore).
struct Policy {
  // Allow-list of algorithms. Empty allows nothing (fails closed); jwt_options.h fills it
  // from the keys when the operator names none.
  std::vector<Alg> algorithms;
  // Required "iss" value; empty means iss is not checked.
  std::string issuer;
  // Accepted audiences: the token's aud (string or array) must contain one of them. When
  // empty, a token that carries aud is refused (RFC 7519 section 4.1.3), as PyJWT does.
  std::vector<std::string> audiences;
  // Clock skew tolerated on exp, nbf and iat, in seconds (>= 0).
  std::int64_t leeway = 0;
  // Refuse tokens without exp.
  bool require_exp = true;
  // Claims that must be present (any value).
  std::vector<std::string> required_claims;
  // Required value of the "token_type" claim (simplejwt access tokens: "access"); empty
  // means unchecked.
  std::string token_type;
  // The claim naming the user (string, or integer as simplejwt's user_id may be); required.
  std::string user_claim = "sub";
  // False checks only the header and signature: the payload need not be JSON.
  bool check_claims = true;
  // Longest accepted token in bytes, checked before any decoding.
  std::size_t max_token_size = 8192;
  // Deepest accepted JSON nesting in header and payload.
  int max_json_depth = 16;
};

// The verified payload.
struct Claims {
  // The payload exactly as signed (a JSON object when claims were checked).
  std::string json;
  // The user claim as a string (an integer user_id becomes its decimal text).
  std::string user;
  // Top-level members sorted by name: a string value as is, any other value as compact
  // JSON text. Ready to become a Python dict of str.
  std::vector<std::pair<std::string, std::string>> fields;
  // exp in seconds since the epoch (rounded down), when present.
  std::optional<std::int64_t> exp;
};

struct Result {
  Status status = Status::InternalError;
  // Filled only when status is Ok.
  Claims claims;
  // For ClaimMissing, ClaimInvalid and the claim mismatches: the claim's name ("exp",
  // "user_id"), taken from the policy or the registered names, never from the token.
  std::string claim;
};

class JwtVerifier {
 public:
  explicit JwtVerifier(Policy policy);

  // Verifies token with keys at time now.
  // @param token the compact JWS, without "Bearer "
  // @param now seconds since the Unix epoch
  // @return Ok and the claims, or the first rule the token breaks. Never throws.
  Result verify(std::string_view token, const KeySet& keys, std::int64_t now) const;

  const Policy& policy() const { return policy_; }

 private:
  bool allows(Alg alg) const;

  Policy policy_;
};

}  // namespace appserver::auth
