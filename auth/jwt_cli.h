// jwt_cli.h: register the --jwt-* options on a CLI11 app.
//
// The server's command line and `appserver-jwt verify` accept the same options; both call
// addJwtOptions and then buildJwtConfig (jwt_options.h) on the filled JwtOptions.
// Lives in its own library (appserver_auth_cli) so appserver_auth needs no CLI11.
// Thread: startup only.
#pragma once

#include <CLI/CLI.hpp>

#include "auth/jwt_options.h"

namespace appserver::auth {

// Adds --jwt-secret-env, --jwt-secret-file, --jwt-public-key, --jwt-jwks, --jwt-algorithms,
// --jwt-issuer, --jwt-audience, --jwt-leeway, --jwt-require, --jwt-token-type,
// --jwt-user-claim and --no-claims to app, bound to options (which must outlive app), under
// the help heading "JWT verification".
void addJwtOptions(CLI::App& app, JwtOptions& options);

}  // namespace appserver::auth
