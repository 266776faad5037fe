// django_jwt.h: --jwt-from-django, the JWT settings read from a Django project.
//
// Thread: the master, before any fork.
#pragma once

#include "config.h"

namespace appserver::server {

// Fills config.jwt from the project's djangorestframework-simplejwt settings so the server
// accepts exactly the access tokens the project issues. Throws ConfigError on failure.
void applyDjangoJwtSettings(Config& config);

}  // namespace appserver::server
