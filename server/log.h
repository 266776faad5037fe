// log.h: the error log and the access log, the only logging in the codebase.
//
// Gunicorn's formats: error lines are "[2026-01-02 03:04:05 +0000] [pid] [LEVEL] message",
// access lines follow --access-logformat with Gunicorn's atoms, or are JSON
// (access_log.h). Each line goes out whole in one write(2) on an O_APPEND descriptor, so
// lines from several workers never interleave. The master writes its lines itself; a
// worker hands them to its LogWriter thread, so a slow disk never stops its loop.
// Thread: any; the descriptors are set before the workers fork and keep their numbers.
#pragma once

#include <fmt/format.h>
#include <sys/types.h>

#include <string_view>
#include <utility>

#include "access_log.h"

namespace appserver::server {

struct Config;

enum class LogLevel { Debug, Info, Warning, Error, Critical };

class Log {
 public:
  // Opens the files named in config. Throws ConfigError when one cannot be opened.
  static void open(const Config& config);
  // From now on this process's lines go through a LogWriter thread (a worker, after fork:
  // the master never runs threads, because it forks).
  static void startWriter();
  // Writes what the writer holds, waiting at most a few seconds for a stalled disk, and
  // goes back to writing directly. Called before a worker exits.
  static void stopWriter();
  // USR1 (logrotate): opens the log files again under their names. The descriptors keep
  // their numbers (dup2), so a line is never written to a closed one. With a writer the
  // files are reopened on its thread, after the lines queued before. A file that cannot be
  // opened is reported in the error log, and its old file kept.
  static void reopen();
  static bool enabled(LogLevel level);
  // The error log's descriptor, for writers that cannot go through write(): a fatal
  // signal's handler. Its number stays the same across reopen().
  static int errorFd();
  static void write(LogLevel level, std::string_view message);
  static bool accessEnabled();
  // pid: the process the line is about (%(p)s); 0 for this one.
  static void access(const AccessEntry& entry, pid_t pid = 0);
};

template <typename... Args>
void logAt(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  if (Log::enabled(level)) {
    Log::write(level, fmt::format(format, std::forward<Args>(args)...));
  }
}

}  // namespace appserver::server
