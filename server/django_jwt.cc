// django_jwt.cc: reading SIMPLE_JWT from the project.
//
// Thread: the master, before any fork.
#include "django_jwt.h"

namespace appserver::server {

void applyDjangoJwtSettings(Config&) {
  throw ConfigError("--jwt-from-django is not available yet");
}

}  // namespace appserver::server
