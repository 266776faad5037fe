// jwt_options.h: the --jwt-* settings, shared by appserver-jwt and the server.
//
// JwtOptions holds the option values as the operator typed them; buildJwtConfig turns
// them into a Policy and a KeySet, reading the secret and key files it names. The CLI11
// wiring is in jwt_cli.h, so this header needs no CLI library.
// Thread: startup or a reload thread; reads files and the environment, never the clock.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "auth/jwt_verifier.h"
#include "auth/key_set.h"
#include "auth/status.h"

namespace appserver::auth {

struct JwtOptions {
  std::string secret_env;                // --jwt-secret-env NAME
  std::string secret_file;               // --jwt-secret-file PATH
  std::vector<std::string> public_keys;  // --jwt-public-key PATH (repeatable)
  std::string jwks;                      // --jwt-jwks PATH
  std::string algorithms;                // --jwt-algorithms LIST ("HS256,RS256")
  std::string issuer;                    // --jwt-issuer
  std::vector<std::string> audiences;    // --jwt-audience (repeatable)
  std::int64_t leeway = 0;               // --jwt-leeway SECONDS
  std::vector<std::string> required;     // --jwt-require CLAIM (repeatable)
  std::string token_type;                // --jwt-token-type VALUE
  std::string user_claim = "sub";        // --jwt-user-claim NAME
  bool no_claims = false;                // --no-claims: header and signature only

  // True when any key source is given, i.e. the operator asked for JWT verification.
  bool enabled() const;
};

// Builds policy and keys from options. On failure returns the Status and, if detail is
// not null, a complete one-line message naming the option, file and reason (never key
// bytes), e.g. "--jwt-jwks keys.json: key 1 (kid \"k2\"): key too weak". Returns ConfigInvalid
// when no key source is given, for an unknown algorithm or a negative leeway; KeySetEmpty
// when an explicit --jwt-algorithms list names no algorithm any key can serve.
Status buildJwtConfig(const JwtOptions& options, Policy& policy, KeySet& keys,
                      std::string* detail = nullptr);

}  // namespace appserver::auth
