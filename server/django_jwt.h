// django_jwt.h: --jwt-from-django, the JWT settings read from a Django project.
//
// Thread: the master, before any fork.
#pragma once

#include "config.h"

namespace appserver::server {

// Fills config.jwt from the project's djangorestframework-simplejwt settings so the server
// accepts exactly the access tokens the project issues (docs/auth.md, "--jwt-from-django"):
// runs `APPSERVER_PYTHON -m appserver.simplejwt_settings MODULE` in the current directory,
// keeps every option the operator set, and adds the project's token views to
// config.jwt.exempt. Throws ConfigError (with the helper's last stderr lines, never a key)
// when the helper fails or a setting cannot be honoured.
//
// The project's key reaches auth/ through a pipe named in config.jwt.verify.secret_file or
// public_keys ("/proc/self/fd/N") that can be read once: call AuthGate::create(config.jwt)
// once afterwards; anything that rebuilds the gate (a reload) must call this again first.
void applyDjangoJwtSettings(Config& config);

}  // namespace appserver::server
