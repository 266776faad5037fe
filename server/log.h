// log.h: the error log and the access log, the only logging in the codebase.
//
// Gunicorn's formats: error lines are "[2026-01-02 03:04:05 +0000] [pid] [LEVEL] message",
// access lines follow --access-logformat with Gunicorn's atoms. Each line goes out in one
// write(2) on an O_APPEND descriptor, so lines from several workers never interleave.
// Thread: any; the descriptors are set before the workers fork and not changed after.
#pragma once

#include <fmt/format.h>

#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "embed/wsgi_app.h"

namespace appserver::server {

struct Config;

enum class LogLevel { Debug, Info, Warning, Error, Critical };

// One request as the access log sees it. Header lists are name/value pairs.
struct AccessEntry {
  std::string_view remote_addr;
  std::string_view method;
  std::string_view target;
  std::string_view protocol;
  int status = 0;
  uint64_t body_bytes = 0;
  std::chrono::system_clock::time_point start;
  std::chrono::microseconds duration{0};
  std::span<const embed::HeaderView> request_headers;
  std::span<const embed::ResponseHeader> response_headers;
  std::string_view remote_user;
};

class Log {
 public:
  // Opens the files named in config. Throws ConfigError when one cannot be opened.
  static void open(const Config& config);
  // USR1 (logrotate): opens the log files again under their names. The descriptors keep
  // their numbers (dup2), so a writer on another thread never sees a closed one. Returns
  // false, keeping the old files, when one cannot be opened.
  static bool reopen();
  static bool enabled(LogLevel level);
  static void write(LogLevel level, std::string_view message);
  static bool accessEnabled();
  static void access(const AccessEntry& entry);
};

template <typename... Args>
void logAt(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  if (Log::enabled(level)) {
    Log::write(level, fmt::format(format, std::forward<Args>(args)...));
  }
}

}  // namespace appserver::server
