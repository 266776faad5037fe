// main.cc: the appserver binary: read the configuration, bind (or take the sockets systemd
// or the old master passed down), detach with --daemon, hand over to the Master.
//
// Configuration problems (unknown option, bad value, unbindable address, unwritable log)
// end here with one line on stderr and exit status 2, before any worker is forked.
// Thread: the master's only thread.
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "auth_gate.h"
#include "config.h"
#include "config_sources.h"
#include "daemon.h"
#include "django_jwt.h"
#include "listener.h"
#include "log.h"
#include "master.h"
#include "metrics_endpoint.h"
#include "privileges.h"
#include "process_title.h"
#include "socket_handover.h"
#include "static_files.h"
#include "tls_context.h"

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

// The listening sockets: those passed down (USR2, systemd), else --bind's, whose Unix
// socket files are created under --umask and given to --user/--group, as in Gunicorn.
std::vector<appserver::server::Listener> openListeners(
    const appserver::server::Config& config, const appserver::server::RunAs& run_as,
    appserver::server::InheritedListeners& inherited) {
  using namespace appserver::server;
  if (inherited.source == InheritedListeners::Source::Systemd) {
    for (size_t i = 0; i < inherited.listeners.size(); ++i) {
      logAt(LogLevel::Info, "Socket activation: fd {}{} is {}; --bind is not used",
            inherited.listeners[i].fd,
            inherited.names[i].empty() ? "" : " (" + inherited.names[i] + ")",
            inherited.listeners[i].name);
    }
  }
  if (inherited.source != InheritedListeners::Source::None) {
    return std::move(inherited.listeners);
  }
  const mode_t previous = ::umask(static_cast<mode_t>(config.umask));
  std::vector<Listener> listeners;
  try {
    listeners = bindListeners(config.binds, config.backlog);
  } catch (const ConfigError&) {
    ::umask(previous);
    throw;
  }
  ::umask(previous);
  for (const Listener& l : listeners) {
    if (const std::string error = l.owns_path ? run_as.giveTo(l.host) : ""; !error.empty()) {
      closeListeners(listeners, /*remove_files=*/true);
      throw ConfigError(error);
    }
  }
  return listeners;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace appserver::server;
  MasterContext context;
  context.launch = LaunchContext::capture(argc, argv);  // before anything changes
  ProcessTitle::init(argc, argv);
  Config config;
  std::vector<Listener> listeners;
  std::unique_ptr<AuthGate> gate;
  std::unique_ptr<TlsContext> tls;
  try {
    if (!parseCommandLine(argc, argv, config)) {
      return 0;
    }
    applyEnvironment(config);
    StaticFiles::open(config.static_dirs);  // a bad --static stops here; workers reopen DIR
    Log::open(config);
    for (const std::string& name : config.unsupported) {
      logAt(LogLevel::Warning, "{}: Gunicorn setting '{}' is not supported by appserver; ignored",
            config.config_file.empty() ? "gunicorn.conf.py" : config.config_file, name);
    }
    if (config.print_config) {
      std::printf("%s\n", describeConfig(config).c_str());
      return 0;
    }
    context.run_as = RunAs::resolve(config.user, config.group);
    // --jwt-jwks-url: the master fetches the JWKS once now; its copy stands for --jwt-jwks.
    std::unique_ptr<JwksFetcher> jwks = JwksFetcher::startIfConfigured(config.jwt);
    if (config.jwt.from_django) {
      applyDjangoJwtSettings(config);
    }
    gate = AuthGate::create(config.jwt, std::move(jwks));  // keys load before any fork
    tls = TlsContext::createIfConfigured(config.tls);     // so do certificates
    if (config.check_config) {
      checkAppImports(config);
      if (!config.unsupported.empty()) {
        throw ConfigError("the configuration sets Gunicorn settings appserver lacks (above)");
      }
      std::printf("configuration OK; %s imports\n", config.app.c_str());
      return 0;
    }
    InheritedListeners inherited = takeInheritedListeners(config.binds);
    context.predecessor = inherited.predecessor;
    listeners = openListeners(config, context.run_as, inherited);
    if (!config.metrics_bind.empty() &&
        inherited.source != InheritedListeners::Source::Predecessor) {  // else: Master
      context.metrics = MetricsEndpoint::bind(config.metrics_bind);
    }
    if (tls != nullptr) {
      for (Listener& l : listeners) {  // for the logs, as Gunicorn names them
        if (l.name.starts_with("http://")) {
          l.name = "https://" + l.name.substr(7);
        }
      }
    }
    // A new master started by USR2 is already detached: its pid must stay the one the old
    // master forked.
    if (config.daemon && inherited.source != InheritedListeners::Source::Predecessor) {
      if (config.error_logfile == "-") {
        logAt(LogLevel::Warning,
              "--daemon: the error log goes to stderr, which is /dev/null once detached; "
              "give --error-logfile FILE");
      }
      daemonize();
    }
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "appserver: error: %s\n", e.what());
    return 2;
  }
  // A client that hangs up must cost an EPIPE on that connection, not the process.
  ::signal(SIGPIPE, SIG_IGN);
  try {
    return Master(config, listeners, gate.get(), tls.get(), std::move(context)).run();
  } catch (const ConfigError& e) {  // the pid file cannot be written, and the like
    std::fprintf(stderr, "appserver: error: %s\n", e.what());
    return 2;
  }
}
