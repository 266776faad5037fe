// config_sources.h: where settings come from besides the command line, as in Gunicorn.
//
// A Gunicorn configuration file (-c FILE, else ./gunicorn.conf.py when it exists) is plain
// Python: the master does not embed Python, so a helper process evaluates it
// (embed/python/appserver/gunicorn_config.py) and returns the equivalent command-line
// arguments plus the Gunicorn settings appserver does not implement. GUNICORN_CMD_ARGS and
// APPSERVER_CMD_ARGS hold arguments as a shell would split them. Precedence, lowest first:
// defaults, file, GUNICORN_CMD_ARGS, APPSERVER_CMD_ARGS, command line.
// Thread: the master, before any fork.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config.h"

namespace appserver::server {

// One source of arguments, in precedence order.
struct ArgumentSource {
  std::string name;  // for error messages: "gunicorn.conf.py", "GUNICORN_CMD_ARGS", ...
  std::vector<std::string> args;
};

struct ConfigFileResult {
  std::vector<std::string> args;
  std::vector<std::string> unsupported;  // Gunicorn settings set to what appserver lacks
};

// Splits text as a POSIX shell splits words: blanks separate, '...' and "..." quote, a
// backslash escapes. Throws ConfigError for an unterminated quote.
std::vector<std::string> splitShellWords(std::string_view text);

// The configuration file named by -c/--config in the given arguments (the last one wins),
// else ./gunicorn.conf.py if it exists, else "".
std::string findConfigFile(const std::vector<ArgumentSource>& sources);

// Evaluates a Gunicorn configuration file. Throws ConfigError with the file's error.
ConfigFileResult readConfigFile(const std::string& path);

// --check-config: imports the app in a helper process as a worker would (working directory,
// --pythonpath). Throws ConfigError with the traceback's last lines when it fails.
void checkAppImports(const Config& config);

}  // namespace appserver::server
