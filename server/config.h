// config.h: the server's settings and the command line that sets them.
//
// Every option Gunicorn also has keeps Gunicorn's spelling, default and meaning, so a
// Gunicorn command line works unchanged (docs/configuration.md lists them all).
// Thread: the master, before any fork.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "auth/jwt_options.h"

namespace appserver::server {

// A setting that cannot be honoured; main() prints it on one line and exits with status 2.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The --jwt-* settings: auth/'s verification options plus the server's per-path rules.
struct JwtConfig {
  auth::JwtOptions verify;
  std::vector<std::string> protect;  // path prefixes that need a token (all when empty)
  std::vector<std::string> exempt;   // path prefixes that never do
  bool optional = false;             // no token passes; a bad one is still refused
  std::string cookie;                // cookie that may carry the token
  std::string header_types = "Bearer";
  bool from_django = false;  // take the rest from the project's SIMPLE_JWT settings
  // Key reloads (server/key_store.h): the IdP's JWKS, fetched by the master, and revoked jtis.
  std::string jwks_url;  // --jwt-jwks-url URL
  std::string denylist;  // --jwt-denylist FILE
};

// --certfile and friends (server/tls_context.h): TLS on every listener when certfile is set.
struct TlsConfig {
  std::string certfile;
  std::string keyfile;              // "" = the private key is in certfile
  std::string ca_certs;             // CAs that client certificates must chain to
  int cert_reqs = 0;                // Gunicorn's: 0 none, 1 optional, 2 required
  std::string ciphers;              // TLS 1.2 cipher list; "" = appserver's default
  std::string ssl_version = "TLS";  // Gunicorn's names; TLS 1.2 and 1.3 only
};

struct Config {
  std::string app;  // MODULE[:CALLABLE]
  std::vector<std::string> binds;
  int workers = 1;
  int threads = 1;
  std::string chdir;
  std::vector<std::string> python_path;
  std::vector<std::string> env;  // KEY=VALUE
  int backlog = 2048;
  double keep_alive = 2;  // seconds an idle keep-alive connection waits for a request
  int worker_connections = 1000;  // open connections per worker (Gunicorn's default)
  bool preload = false;  // import the app in the master, before forking the workers
  double timeout = 30;    // seconds before a silent worker is killed
  double graceful_timeout = 30;
  int limit_request_line = 4094;
  int limit_request_fields = 100;
  int limit_request_field_size = 8190;
  long long limit_request_body = 1LL << 30;  // bytes; above it: 413
  long long body_memory_limit = 1 << 20;     // bytes kept in memory; beyond: a temporary file
  double header_timeout = 30;                // seconds for a whole request head to arrive
  double body_timeout = 30;                  // seconds without progress while reading a body
  double write_timeout = 30;   // seconds without progress while the client does not read
  std::string access_logfile;  // "" = none, "-" = stdout
  std::string access_logformat = R"(%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s")";
  bool access_log_json = false;  // one JSON object per line instead of access_logformat
  std::string error_logfile = "-";  // "-" = stderr
  std::string log_level = "info";
  std::string worker_tmp_dir;  // where large request bodies are spooled; "" = $TMPDIR or /tmp
  std::string config_file;     // -c: a Gunicorn configuration file
  bool check_config = false;
  bool print_config = false;
  std::vector<std::string> unsupported;  // Gunicorn settings in the file appserver lacks
  std::string pidfile;
  std::string forwarded_allow_ips = "127.0.0.1";  // proxies whose X-Forwarded-* are believed
  std::string forwarded_header = "x-forwarded";   // or "forwarded" (RFC 7239)
  bool proxy_protocol = false;             // connections start with a PROXY protocol header
  std::string proxy_allow_ips = "127.0.0.1";  // peers allowed to send one
  std::string worker_class = "sync";              // Gunicorn's -k; sync and gthread are both ours
  long long max_requests = 0;                     // a worker retires after this many (0: never)
  long long max_requests_jitter = 0;  // plus a random 0..jitter, so workers retire apart
  long long max_worker_memory = 0;    // MiB of RSS after which a worker retires (0: never)
  // The processes (server/daemon.h, privileges.h, process_title.h).
  bool daemon = false;
  std::string user;   // the workers' user, a name or a number; "" = the master's
  std::string group;  // the workers' group; "" = the user's primary group
  int umask = 0;      // mask for the Unix socket files created (Gunicorn's default 0)
  std::string name;   // in process titles, "appserver: master [NAME]"; "" = the app
  std::vector<std::string> static_dirs;  // --static URL_PREFIX=DIR (server/static_files.h)
  std::string health_path;               // answered 200 by the worker itself; "" = none
  std::string metrics_bind;  // HOST:PORT where the master serves /metrics; "" = none
  int max_pending = 0;       // requests a worker lets wait for the app (else 503); 0 = any
  double queue_timeout = 0;  // seconds a request may wait for the app (else 503); 0 = any
  JwtConfig jwt;
  TlsConfig tls;
};

// Parses argv. Returns false when the process should exit with status 0 (--help, --version
// printed). Throws ConfigError for anything invalid.
bool parseCommandLine(int argc, char** argv, Config& config);

// Every setting with its value, one "name=value" line each (--print-config). Secrets are
// never printed: the --jwt-* options name where keys come from, not the keys.
std::string describeConfig(const Config& config);

}  // namespace appserver::server
