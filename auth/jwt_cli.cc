// jwt_cli.cc: CLI11 bindings for JwtOptions.
//
// Thread: startup only.
#include "auth/jwt_cli.h"

namespace appserver::auth {

void addJwtOptions(CLI::App& app, JwtOptions& options) {
  CLI::Option_group* group = app.add_option_group("JWT verification");
  group->add_option("--jwt-secret-env", options.secret_env,
                    "Environment variable holding the HMAC secret (raw bytes, >= 32)");
  group->add_option("--jwt-secret-file", options.secret_file,
                    "File holding the HMAC secret (one trailing newline is removed)");
  group
      ->add_option("--jwt-public-key", options.public_keys,
                   "PEM public key file (RSA, EC, Ed25519); repeatable")
      ->allow_extra_args(false)
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  group->add_option("--jwt-jwks", options.jwks, "JWKS document (JSON file)");
  group->add_option("--jwt-algorithms", options.algorithms,
                    "Comma-separated allow-list, e.g. HS256,RS256 (default: every "
                    "algorithm the configured keys can verify)");
  group->add_option("--jwt-issuer", options.issuer, "Required iss claim");
  group
      ->add_option("--jwt-audience", options.audiences,
                   "Accepted aud value; repeatable (any one must match)")
      ->allow_extra_args(false)
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  group->add_option("--jwt-leeway", options.leeway, "Clock skew allowed on exp/nbf/iat, seconds")
      ->check(CLI::NonNegativeNumber);
  group->add_option("--jwt-require", options.required, "Claim that must be present; repeatable")
      ->allow_extra_args(false)
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  group->add_option("--jwt-token-type", options.token_type,
                    "Required token_type claim (simplejwt access tokens: access)");
  group->add_option("--jwt-user-claim", options.user_claim,
                    "Claim naming the user (default sub; simplejwt: user_id)");
  group->add_flag("--no-claims", options.no_claims,
                  "Check only the header and signature, not the claims");
}

}  // namespace appserver::auth
