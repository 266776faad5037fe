// main.cc: the appserver binary: read the configuration, bind, hand over to the Master.
//
// Configuration problems (unknown option, bad value, unbindable address, unwritable log)
// end here with one line on stderr and exit status 2, before any worker is forked.
// Thread: the master's only thread.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "auth_gate.h"
#include "config.h"
#include "config_sources.h"
#include "django_jwt.h"
#include "listener.h"
#include "log.h"
#include "master.h"

namespace {

using appserver::server::ConfigError;

// -e KEY=VALUE, and --chdir: both before the app is imported in any worker.
void applyEnvironment(const appserver::server::Config& config) {
  for (const std::string& entry : config.env) {
    const size_t eq = entry.find('=');
    ::setenv(entry.substr(0, eq).c_str(), entry.substr(eq + 1).c_str(), 1);
  }
  if (!config.chdir.empty() && ::chdir(config.chdir.c_str()) != 0) {
    throw ConfigError("cannot change directory to " + config.chdir + ": " + std::strerror(errno));
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace appserver::server;
  Config config;
  std::vector<Listener> listeners;
  std::unique_ptr<AuthGate> gate;
  try {
    if (!parseCommandLine(argc, argv, config)) {
      return 0;
    }
    applyEnvironment(config);
    Log::open(config);
    for (const std::string& name : config.unsupported) {
      logAt(LogLevel::Warning, "{}: Gunicorn setting '{}' is not supported by appserver; ignored",
            config.config_file.empty() ? "gunicorn.conf.py" : config.config_file, name);
    }
    if (config.print_config) {
      std::printf("%s\n", describeConfig(config).c_str());
      return 0;
    }
    // --jwt-jwks-url: the master fetches the JWKS once now; its copy stands for --jwt-jwks.
    std::unique_ptr<JwksFetcher> jwks = JwksFetcher::startIfConfigured(config.jwt);
    if (config.jwt.from_django) {
      applyDjangoJwtSettings(config);
    }
    gate = AuthGate::create(config.jwt, std::move(jwks));  // keys load before any fork
    if (config.check_config) {
      checkAppImports(config);
      if (!config.unsupported.empty()) {
        throw ConfigError("the configuration sets Gunicorn settings appserver lacks (above)");
      }
      std::printf("configuration OK; %s imports\n", config.app.c_str());
      return 0;
    }
    listeners = bindListeners(config.binds, config.backlog);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "appserver: error: %s\n", e.what());
    return 2;
  }
  // A client that hangs up must cost an EPIPE on that connection, not the process.
  ::signal(SIGPIPE, SIG_IGN);
  try {
    return Master(config, listeners, gate.get()).run();
  } catch (const ConfigError& e) {  // the pid file cannot be written, and the like
    std::fprintf(stderr, "appserver: error: %s\n", e.what());
    return 2;
  }
}
