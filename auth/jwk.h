// jwk.h: one JSON Web Key (RFC 7517, RFC 7518 section 6, RFC 8037) to a Key.
//
// Only public verification keys and symmetric secrets are read. A JWK that carries
// asymmetric private members ("d", primes, CRT values) is refused: private keys do not
// belong in a verifier's configuration. Key strength is checked by makeKeyFromPkey (RSA,
// EC) and by the key set (HMAC length).
// Internal header (exposes nlohmann). Thread: any; never throws.
#pragma once

#include <nlohmann/json.hpp>

#include "auth/key.h"
#include "auth/status.h"

namespace appserver::auth {

// What parseJwk decided about a well-formed JWK.
enum class JwkUsability {
  Verify,         // a signature verification key
  NotForSigning,  // "use" is not "sig", "key_ops" lacks "verify", or "alg" is not a JWS alg
  Unsupported,    // a kty or crv this library does not implement (e.g. Ed448, P-192)
};

// Parses jwk into out. Returns KeyInvalid for a malformed member, KeyPrivateMaterial,
// KeyWeak, or KeyAlgMismatch when the JWK's alg cannot use its key type or curve. On Ok,
// usability says whether out may be used; out is only filled when it is Verify.
Status parseJwk(const nlohmann::json& jwk, Key& out, JwkUsability& usability);

}  // namespace appserver::auth
