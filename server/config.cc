// config.cc: the command line, on CLI11.
//
// Thread: the master, before any fork.
#include "config.h"

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdlib>
#include <iostream>

#include "auth/jwt_cli.h"
#include "config_sources.h"
#include "tls_context.h"

namespace appserver::server {

namespace {

constexpr const char* kVersion = "appserver 0.1.0";
constexpr int kMaxWorkers = 1024;
constexpr const char* kDescription =
    "appserver: a pre-fork WSGI server with built-in JWT verification";
constexpr const char* kCommandLine = "command line";

int defaultWorkers() {
  const char* value = std::getenv("WEB_CONCURRENCY");  // Gunicorn's default, kept
  if (value == nullptr || *value == '\0') {
    return 1;
  }
  int workers = 0;
  try {
    size_t used = 0;
    workers = std::stoi(value, &used);
    if (value[used] != '\0') {
      throw std::invalid_argument(value);
    }
  } catch (const std::exception&) {
    throw ConfigError(std::string("WEB_CONCURRENCY is not a number: '") + value + "'");
  }
  if (workers < 1 || workers > kMaxWorkers) {
    throw ConfigError("WEB_CONCURRENCY " + std::to_string(workers) + " not in [1 - " +
                      std::to_string(kMaxWorkers) + "]");
  }
  return workers;
}

// Gunicorn keeps the last value of an option given twice (a wrapper script's default, then
// the operator's); repeatable options (-b, -e, ...) keep them all.
void takeLastValues(CLI::App& cli) {
  for (CLI::Option* option : cli.get_options()) {
    if (option->get_items_expected_max() == 1 &&
        option->get_multi_option_policy() == CLI::MultiOptionPolicy::Throw) {
      option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    }
  }
}

// A repeatable option: one value per occurrence (never the MODULE after it), all kept.
CLI::Option* repeatable(CLI::Option* option) {
  return option->allow_extra_args(false)->expected(1)->multi_option_policy(
      CLI::MultiOptionPolicy::TakeAll);
}

void addServerOptions(CLI::App& cli, Config& c) {
  repeatable(cli.add_option("-b,--bind", c.binds,
                            "Socket to bind: HOST:PORT, [IPV6]:PORT, unix:PATH, fd://N "
                            "(repeatable; default 127.0.0.1:8000)"));
  cli.add_option("-w,--workers", c.workers, "Worker processes (default $WEB_CONCURRENCY or 1)")
      ->check(CLI::Range(1, kMaxWorkers));
  cli.add_option("--threads", c.threads, "Threads per worker running the app")
      ->check(CLI::Range(1, 1024));
  cli.add_option("--chdir", c.chdir, "Change to this directory before loading the app");
  repeatable(cli.add_option("--pythonpath", c.python_path,
                            "Comma-separated directories to add to sys.path"))
      ->delimiter(',');
  repeatable(cli.add_option("-e,--env", c.env, "KEY=VALUE set in the environment (repeatable)"))
      ->check([](const std::string& v) {
        return v.find('=') == std::string::npos || v.front() == '=' ? "expected KEY=VALUE" : "";
      });
  cli.add_option("--backlog", c.backlog, "Listen queue length")->check(CLI::Range(1, 65535));
  cli.add_flag("--preload", c.preload,
               "Import the app in the master before forking: workers share its memory "
               "copy-on-write; HUP then keeps the imported code");
  cli.add_option("--worker-connections", c.worker_connections,
                 "Open connections per worker; beyond it idle keep-alive ones are closed, "
                 "else new ones wait in the listen queue")
      ->check(CLI::Range(1, 1 << 20));
  cli.add_option("--keep-alive", c.keep_alive,
                 "Seconds to wait for the next request on a "
                 "keep-alive connection")
      ->check(CLI::Range(0.0, 3600.0));
  cli.add_option("-t,--timeout", c.timeout, "Seconds of silence before a worker is killed")
      ->check(CLI::Range(0.0, 86400.0));
  cli.add_option("-p,--pid", c.pidfile, "Write the master's pid to this file");
  cli.add_option("--forwarded-allow-ips", c.forwarded_allow_ips,
                 "Proxies (comma-separated, or '*') whose Forwarded / X-Forwarded-For / "
                 "X-Forwarded-Proto headers are believed (default $FORWARDED_ALLOW_IPS or "
                 "127.0.0.1)");
  cli.add_option("--forwarded-header", c.forwarded_header,
                 "Which headers the trusted proxy writes: x-forwarded (X-Forwarded-For and "
                 "X-Forwarded-Proto, as nginx) or forwarded (RFC 7239)")
      ->transform(CLI::IsMember({"x-forwarded", "forwarded"}, CLI::ignore_case));
  cli.add_flag("--proxy-protocol", c.proxy_protocol,
               "Every connection starts with a PROXY protocol header (v1 or v2) naming the "
               "client; without one it is closed");
  cli.add_option("--proxy-allow-from", c.proxy_allow_ips,
                 "Peers (comma-separated, or '*') allowed to send a PROXY protocol header; "
                 "others are closed (default 127.0.0.1)");
  cli.add_option("-k,--worker-class", c.worker_class,
                 "sync or gthread: both are appserver's workers (--threads picks the pool)")
      ->transform(CLI::IsMember({"sync", "gthread"}, CLI::ignore_case));
  cli.add_option("--max-requests", c.max_requests,
                 "Requests a worker serves before it is replaced (0: no limit)")
      ->check(CLI::Range(0LL, 1LL << 40));
  cli.add_option("--max-requests-jitter", c.max_requests_jitter,
                 "Random extra requests per worker, so workers are not replaced together")
      ->check(CLI::Range(0LL, 1LL << 40));
  cli.add_option("--max-worker-memory", c.max_worker_memory,
                 "MiB of RSS after which a worker is replaced (0: no limit)")
      ->check(CLI::Range(0LL, 1LL << 30));
  cli.add_option("--graceful-timeout", c.graceful_timeout,
                 "Seconds workers get to finish "
                 "in-flight requests on a graceful stop")
      ->check(CLI::Range(0.0, 86400.0));
}

// A mask as Gunicorn reads one (Python's int(value, 0): 0o22, 0x12, 18) or as C does (022).
std::string parseMask(std::string& value) {
  const bool python_octal = value.starts_with("0o") || value.starts_with("0O");
  const std::string digits = python_octal ? "0" + value.substr(2) : value;
  char* end = nullptr;
  errno = 0;
  const long mask = digits.empty() ? -1 : std::strtol(digits.c_str(), &end, 0);
  if (errno != 0 || end == nullptr || *end != '\0' || mask < 0 || mask > 0777) {
    return "expected a mask from 0 to 0o777 (0o22, 0x12, 022 or 18), got '" + value + "'";
  }
  value = std::to_string(mask);
  return "";
}

// Who and how the processes run (server/daemon.h, privileges.h, process_title.h).
void addProcessOptions(CLI::App& cli, Config& c) {
  cli.add_flag("-D,--daemon", c.daemon, "Detach from the terminal and run in the background");
  cli.add_option("-u,--user", c.user, "Run the workers as this user (name or number)");
  cli.add_option("-g,--group", c.group,
                 "Run the workers as this group (name or number; default: the user's)");
  cli.add_option("-m,--umask", c.umask, "Mask for the Unix socket files bound (default 0)")
      ->transform(CLI::Validator(parseMask, "MASK"));
  cli.add_option("-n,--name", c.name, "Name in the process titles (default: the app)");
}

void addLimitOptions(CLI::App& cli, Config& c) {
  cli.add_option("--limit-request-line", c.limit_request_line,
                 "Longest request line in bytes (0 = 8190 max)")
      ->check(CLI::Range(0, 8190));
  cli.add_option("--limit-request-fields", c.limit_request_fields,
                 "Most header fields in a request")
      ->check(CLI::Range(0, 32768));
  cli.add_option("--limit-request-field_size", c.limit_request_field_size,
                 "Largest header field in bytes (0 = no limit beyond 64 KiB)")
      ->check(CLI::Range(0, 65536));
  cli.add_option("--limit-request-body", c.limit_request_body,
                 "Largest request body in bytes (above: 413)")
      ->check(CLI::Range(0LL, 1LL << 40));
  cli.add_option("--body-memory-limit", c.body_memory_limit,
                 "Body bytes kept in memory; "
                 "larger bodies are spooled to a file in --worker-tmp-dir")
      ->check(CLI::Range(0LL, 1LL << 32));
  cli.add_option("--header-timeout", c.header_timeout, "Seconds for a request head to arrive")
      ->check(CLI::Range(0.1, 3600.0));
  cli.add_option("--body-timeout", c.body_timeout, "Seconds without progress reading a body")
      ->check(CLI::Range(0.1, 3600.0));
  cli.add_option("--write-timeout", c.write_timeout,
                 "Seconds without progress writing to a "
                 "client")
      ->check(CLI::Range(0.1, 3600.0));
  cli.add_option("--worker-tmp-dir", c.worker_tmp_dir, "Directory for spooled request bodies");
}

void addLogOptions(CLI::App& cli, Config& c) {
  cli.add_option("--access-logfile", c.access_logfile, "Access log file ('-' = stdout)");
  cli.add_option("--access-logformat", c.access_logformat, "Access log format (Gunicorn atoms)");
  cli.add_flag("--access-log-json", c.access_log_json,
               "Access log lines as JSON objects (instead of --access-logformat)");
  cli.add_option("--error-logfile,--log-file", c.error_logfile, "Error log file ('-' = stderr)");
  cli.add_option("--log-level", c.log_level, "debug, info, warning, error or critical")
      ->transform(
          CLI::IsMember({"debug", "info", "warning", "error", "critical"}, CLI::ignore_case));
}

void addJwtServerOptions(CLI::App& cli, JwtConfig& c) {
  auth::addJwtOptions(cli, c.verify);
  const std::string group = "JWT verification";
  repeatable(cli.add_option("--jwt-protect", c.protect,
                            "Path prefix that needs a token (repeatable; default: every path)"))
      ->group(group);
  repeatable(
      cli.add_option("--jwt-exempt", c.exempt, "Path prefix that never needs a token (repeatable)"))
      ->group(group);
  cli.add_flag("--jwt-optional", c.optional,
               "Requests without a token pass (a bad token is still refused)")
      ->group(group);
  cli.add_option("--jwt-cookie", c.cookie, "Also take the token from this cookie")->group(group);
  cli.add_option("--jwt-header-types", c.header_types,
                 "Authorization schemes accepted, comma-separated (default Bearer)")
      ->group(group);
  cli.add_flag("--jwt-from-django", c.from_django,
               "Accept exactly the access tokens the project's simplejwt issues (SIMPLE_JWT)")
      ->group(group);
  // Key reloads (server/key_store.h, docs/auth.md "Key reloads").
  cli.add_option("--jwt-jwks-url", c.jwks_url,
                 "JWKS URL the master fetches and refreshes (https://, or http:// to loopback)")
      ->group(group);
  cli.add_option("--jwt-denylist", c.denylist,
                 "File of revoked jti values, one per line; re-read when it changes")
      ->group(group);
}

void applyDefaults(Config& c) {
  if (c.binds.empty()) {
    c.binds.push_back("127.0.0.1:8000");
  }
  // Gunicorn reads 0 as "the largest allowed".
  if (c.limit_request_line == 0) {
    c.limit_request_line = 8190;
  }
  if (c.limit_request_field_size == 0) {
    c.limit_request_field_size = 65536;
  }
  if (c.limit_request_fields == 0) {
    c.limit_request_fields = 32768;
  }
}

// What the worker answers itself, without Python (server/static_files.h, connection.cc).
void addWorkerAnswerOptions(CLI::App& cli, Config& c) {
  repeatable(cli.add_option("--static", c.static_dirs,
                            "URL_PREFIX=DIR: serve the files below DIR under URL_PREFIX "
                            "without Python, e.g. /static/=STATIC_ROOT (repeatable)"));
  cli.add_option("--health-path", c.health_path,
                 "Path answered 200 by the worker itself, without Python or JWT (probes)")
      ->check([](const std::string& v) { return v.starts_with('/') ? "" : "expected /PATH"; });
}

// Metrics and load shedding (server/metrics_endpoint.h, app_runner.h).
void addLoadOptions(CLI::App& cli, Config& c) {
  cli.add_option("--metrics-bind", c.metrics_bind,
                 "HOST:PORT where the master serves Prometheus metrics at /metrics");
  cli.add_option("--max-pending", c.max_pending,
                 "Requests a worker lets wait for the app; more get 503 (0: no limit)")
      ->check(CLI::Range(0, 1 << 20));
  cli.add_option("--queue-timeout", c.queue_timeout,
                 "Seconds a request may wait for the app before it gets 503 (0: no limit)")
      ->check(CLI::Range(0.0, 3600.0));
}

// Gunicorn's SSL settings (server/tls_context.h): TLS on every listener.
void addTlsOptions(CLI::App& cli, TlsConfig& c) {
  const std::string group = "TLS";
  cli.add_option("--certfile", c.certfile,
                 "PEM certificate (chain) file: TLS on every listener; may hold the key too")
      ->group(group);
  cli.add_option("--keyfile", c.keyfile, "PEM private key file (default: in --certfile)")
      ->group(group);
  cli.add_option("--ca-certs", c.ca_certs, "PEM file of the CAs client certificates chain to")
      ->group(group);
  cli.add_option("--cert-reqs", c.cert_reqs,
                 "Client certificates: 0 not asked for, 1 verified when sent, 2 required")
      ->check(CLI::Range(0, 2))
      ->group(group);
  cli.add_option("--ciphers", c.ciphers,
                 "OpenSSL cipher list for TLS 1.2 (default: ECDHE with AES-GCM or ChaCha20)")
      ->group(group);
  cli.add_option("--ssl-version", c.ssl_version,
                 "TLS (1.2 or 1.3; also SSLv23, TLS_SERVER), TLSv1_2 or TLSv1_3")
      ->check([](const std::string& v) {
        TlsVersionRange range;
        return parseSslVersion(v, range);
      })
      ->group(group);
}

// Every option, bound to config.
void addAllOptions(CLI::App& cli, Config& config) {
  cli.set_version_flag("-v,--version", kVersion);
  cli.add_option("app", config.app, "The WSGI application, MODULE[:CALLABLE]");
  cli.add_option("-c,--config", config.config_file,
                 "Gunicorn configuration file (Python; default ./gunicorn.conf.py if present)");
  cli.add_flag("--check-config", config.check_config,
               "Check the configuration and that the app imports, then exit");
  cli.add_flag("--print-config", config.print_config, "Print the configuration, then exit");
  addServerOptions(cli, config);
  addProcessOptions(cli, config);
  addLimitOptions(cli, config);
  addLogOptions(cli, config);
  addWorkerAnswerOptions(cli, config);
  addLoadOptions(cli, config);
  addJwtServerOptions(cli, config.jwt);
  addTlsOptions(cli, config.tls);
  takeLastValues(cli);
}

// Applies one source's arguments; options it does not name keep their values.
void parseSource(const ArgumentSource& source, Config& config) {
  CLI::App cli(kDescription, "appserver");
  addAllOptions(cli, config);
  std::vector<std::string> args(source.args.rbegin(), source.args.rend());  // CLI11's order
  try {
    cli.parse(args);
  } catch (const CLI::ParseError& e) {
    throw ConfigError(source.name == kCommandLine ? e.what() : source.name + ": " + e.what());
  }
}

// --help and --version answer before any other source is read. Returns false for them.
bool checkCommandLine(const ArgumentSource& command) {
  Config scratch;
  CLI::App cli(kDescription, "appserver");
  addAllOptions(cli, scratch);
  std::vector<std::string> args(command.args.rbegin(), command.args.rend());
  try {
    cli.parse(args);
  } catch (const CLI::CallForHelp&) {
    std::cout << cli.help();
    return false;
  } catch (const CLI::CallForVersion&) {
    std::cout << kVersion << "\n";
    return false;
  } catch (const CLI::ParseError& e) {
    throw ConfigError(e.what());
  }
  return true;
}

}  // namespace

std::string describeConfig(const Config& config) {
  Config copy = config;
  CLI::App cli(kDescription, "appserver");
  cli.option_defaults()->always_capture_default();
  addAllOptions(cli, copy);
  return cli.config_to_str(/*default_also=*/true, /*write_description=*/false);
}

bool parseCommandLine(int argc, char** argv, Config& config) {
  const ArgumentSource command{kCommandLine, {argv + 1, argv + argc}};
  if (!checkCommandLine(command)) {
    return false;
  }
  config.workers = defaultWorkers();
  if (const char* ips = std::getenv("FORWARDED_ALLOW_IPS"); ips != nullptr && *ips != '\0') {
    config.forwarded_allow_ips = ips;  // Gunicorn's environment default, kept
  }
  std::vector<ArgumentSource> sources;
  for (const char* name : {"GUNICORN_CMD_ARGS", "APPSERVER_CMD_ARGS"}) {
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0') {
      try {
        sources.push_back({name, splitShellWords(value)});
      } catch (const ConfigError& e) {
        throw ConfigError(std::string(name) + ": " + e.what());
      }
    }
  }
  sources.push_back(command);
  if (const std::string file = findConfigFile(sources); !file.empty()) {
    ConfigFileResult read = readConfigFile(file);
    config.config_file = file;  // also when it is ./gunicorn.conf.py, read by default
    config.unsupported = std::move(read.unsupported);
    sources.insert(sources.begin(), {file, std::move(read.args)});
  }
  for (const ArgumentSource& source : sources) {
    parseSource(source, config);
  }
  if (config.app.empty()) {
    throw ConfigError("no application given: appserver [OPTIONS] MODULE[:CALLABLE]");
  }
  if (config.jwt.verify.no_claims) {
    throw ConfigError("--no-claims belongs to appserver-jwt: the server always checks claims");
  }
  applyDefaults(config);
  return true;
}

}  // namespace appserver::server
