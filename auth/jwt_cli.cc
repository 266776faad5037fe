// jwt_cli.cc: CLI11 bindings for JwtOptions.
//
// The options carry a help group name instead of living in a CLI11 option group: CLI11
// 2.1 matches an empty argument against the option group's empty name and loops forever
// (`appserver app "" -w 2` never returned; found by fuzz_config).
// Thread: startup only.
#include "auth/jwt_cli.h"

namespace appserver::auth {
namespace {

constexpr const char* kGroup = "JWT verification";

// One value per occurrence, all kept (never the positional after it).
CLI::Option* repeatable(CLI::Option* option) {
  return option->allow_extra_args(false)->expected(1)->multi_option_policy(
      CLI::MultiOptionPolicy::TakeAll);
}

}  // namespace

void addJwtOptions(CLI::App& app, JwtOptions& options) {
  const auto add = [&app](const char* name, auto& value, const char* help) {
    return app.add_option(name, value, help)->group(kGroup);
  };
  add("--jwt-secret-env", options.secret_env,
      "Environment variable holding the HMAC secret (raw bytes, >= 32)");
  add("--jwt-secret-file", options.secret_file,
      "File holding the HMAC secret (one trailing newline is removed)");
  repeatable(add("--jwt-public-key", options.public_keys,
                 "PEM public key file (RSA, EC, Ed25519); repeatable"));
  add("--jwt-jwks", options.jwks, "JWKS document (JSON file)");
  add("--jwt-algorithms", options.algorithms,
      "Comma-separated allow-list, e.g. HS256,RS256 (default: every algorithm the "
      "configured keys can verify)");
  add("--jwt-issuer", options.issuer, "Required iss claim");
  repeatable(add("--jwt-audience", options.audiences,
                 "Accepted aud value; repeatable (any one must match)"));
  add("--jwt-leeway", options.leeway, "Clock skew allowed on exp/nbf/iat, seconds")
      ->check(CLI::NonNegativeNumber);
  repeatable(add("--jwt-require", options.required, "Claim that must be present; repeatable"));
  add("--jwt-token-type", options.token_type,
      "Required token_type claim (simplejwt access tokens: access)");
  add("--jwt-user-claim", options.user_claim,
      "Claim naming the user (default sub; simplejwt: user_id)");
  app.add_flag("--no-claims", options.no_claims,
               "Check only the header and signature, not the claims")
      ->group(kGroup);
}

}  // namespace appserver::auth
