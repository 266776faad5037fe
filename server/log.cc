// log.cc: log files, error-line prefixes, and the way lines reach the files.
//
// Thread: any. The state is set by open() before fork; a worker's writer is started and
// stopped on its loop thread while no app thread runs.
#include "log.h"

#include <fcntl.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "config.h"
#include "log_writer.h"

namespace appserver::server {

namespace {

constexpr auto kExitFlushWait = std::chrono::seconds(5);  // for a stalled disk at exit

struct State {
  int error_fd = 2;
  int access_fd = -1;
  std::string error_path;   // "-" or a file name
  std::string access_path;  // "", "-" or a file name
  LogLevel level = LogLevel::Info;
  AccessFormat access_format = AccessFormat::gunicorn("");
  std::unique_ptr<LogWriter> writer;  // a worker's, between startWriter() and stopWriter()
};

State& state() {
  static State s;
  return s;
}

// This process's id for every line: getpid() is a system call, and a refused request must
// not pay one. A forked child (worker, daemon) has its own set by fork() itself.
struct ProcessId {
  pid_t value = ::getpid();
  ProcessId() {
    ::pthread_atfork(nullptr, nullptr, [] { get().value = ::getpid(); });
  }
  static ProcessId& get() {
    static ProcessId id;
    return id;
  }
};

int openAppend(const std::string& path, int std_fd) {
  if (path == "-") {
    return std_fd;
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw ConfigError("cannot open log file " + path + ": " + std::strerror(errno));
  }
  return fd;
}

constexpr const char* kLevelNames[] = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"};

std::string errorLine(LogLevel level, std::string_view message) {
  const time_t now = ::time(nullptr);
  tm local{};
  ::localtime_r(&now, &local);
  char stamp[64];
  const size_t n = ::strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S %z", &local);
  std::string line = fmt::format("[{}] [{}] [{}] {}", std::string_view(stamp, n),
                                 ProcessId::get().value, kLevelNames[static_cast<int>(level)],
                                 message);
  if (line.back() != '\n') {
    line.push_back('\n');
  }
  return line;
}

// A line to fd: through the writer when this process has one, else at once.
void emit(int fd, std::string line) {
  const auto& writer = state().writer;
  if (writer == nullptr || !writer->append(fd, std::move(line))) {
    writeFully(fd, line);
  }
}

void reopenFiles() {
  State& s = state();
  for (auto [path, fd] : {std::pair{s.error_path, s.error_fd}, {s.access_path, s.access_fd}}) {
    if (path.empty() || path == "-") {
      continue;
    }
    const int fresh = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fresh < 0) {
      Log::write(LogLevel::Error, fmt::format("cannot reopen {}: {}", path, std::strerror(errno)));
      return;
    }
    ::dup3(fresh, fd, O_CLOEXEC);
    ::close(fresh);
  }
}

}  // namespace

void Log::open(const Config& config) {
  State& s = state();
  s.error_path = config.error_logfile;
  s.access_path = config.access_logfile;
  s.error_fd = openAppend(config.error_logfile, 2);
  s.access_fd = config.access_logfile.empty() ? -1 : openAppend(config.access_logfile, 1);
  s.access_format = config.access_log_json ? AccessFormat::json()
                                           : AccessFormat::gunicorn(config.access_logformat);
  const std::string& l = config.log_level;
  s.level = l == "debug"      ? LogLevel::Debug
            : l == "warning"  ? LogLevel::Warning
            : l == "error"    ? LogLevel::Error
            : l == "critical" ? LogLevel::Critical
                              : LogLevel::Info;
}

void Log::startWriter() {
  state().writer = std::make_unique<LogWriter>([](uint64_t dropped) {
    // On the writer thread, straight to the file: the queue has just had room again.
    writeFully(state().error_fd,
               errorLine(LogLevel::Warning,
                         fmt::format("{} log lines dropped: the log files could not keep up",
                                     dropped)));
  });
}

void Log::stopWriter() {
  // The writer object stays: an app thread that outlived the worker's loop may still log
  // (directly, once the writer has stopped), and a thread stuck in write() still uses it.
  if (state().writer != nullptr) {
    state().writer->stop(kExitFlushWait);
  }
}

void Log::reopen() {
  const auto& writer = state().writer;
  if (writer == nullptr || !writer->post(reopenFiles)) {
    reopenFiles();
  }
}

bool Log::enabled(LogLevel level) { return level >= state().level; }

int Log::errorFd() { return state().error_fd; }

void Log::write(LogLevel level, std::string_view message) {
  emit(state().error_fd, errorLine(level, message));
}

bool Log::accessEnabled() { return state().access_fd >= 0; }

void Log::access(const AccessEntry& entry, pid_t pid) {
  const pid_t about = pid != 0 ? pid : ProcessId::get().value;
  emit(state().access_fd, state().access_format.line(entry, about));
}

}  // namespace appserver::server
