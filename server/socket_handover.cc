// socket_handover.cc: reading LISTEN_FDS / APPSERVER_FD, and the fork + exec of USR2.
//
// Thread: the master's only thread.
#include "socket_handover.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/close_range.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>

#include "config.h"
#include "log.h"
#include "safe_fork.h"

namespace appserver::server {

namespace {

constexpr int kSystemdFirstFd = 3;  // SD_LISTEN_FDS_START
constexpr const char* kHandoverVariables[] = {"APPSERVER_FD", "APPSERVER_PID", "LISTEN_FDS",
                                              "LISTEN_PID", "LISTEN_FDNAMES"};

// A non-negative decimal number filling all of text, or -1.
long long parseNumber(std::string_view text) {
  long long value = -1;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size() && value >= 0 ? value : -1;
}

std::string variable(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t end; (end = text.find(separator, start)) != std::string::npos; start = end + 1) {
    parts.push_back(text.substr(start, end - start));
  }
  parts.push_back(text.substr(start));
  return parts;
}

std::vector<int> predecessorFds(const std::string& list) {
  std::vector<int> fds;
  for (const std::string& item : split(list, ',')) {
    const long long fd = parseNumber(item);
    if (fd < 0 || fd > INT_MAX) {
      throw ConfigError("APPSERVER_FD=" + list + ": expected descriptor numbers, comma-separated");
    }
    fds.push_back(static_cast<int>(fd));
  }
  return fds;
}

// LISTEN_FDS descriptors when LISTEN_PID is this process (sd_listen_fds), else none.
std::vector<int> systemdFds() {
  const long long pid = parseNumber(variable("LISTEN_PID"));
  const std::string count_text = variable("LISTEN_FDS");
  if (pid != ::getpid() || count_text.empty()) {
    return {};
  }
  const long long count = parseNumber(count_text);
  if (count < 0 || count > 1024) {
    throw ConfigError("LISTEN_FDS=" + count_text + ": expected a number of descriptors");
  }
  std::vector<int> fds(static_cast<size_t>(count));
  std::iota(fds.begin(), fds.end(), kSystemdFirstFd);
  return fds;
}

bool isHandoverVariable(std::string_view entry) {
  return std::any_of(std::begin(kHandoverVariables), std::end(kHandoverVariables),
                     [&](std::string_view name) {
                       return entry.size() > name.size() && entry.starts_with(name) &&
                              entry[name.size()] == '=';
                     });
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) {
    out.push_back(s.data());
  }
  out.push_back(nullptr);
  return out;
}

// The binary as it was invoked, symlinks unresolved, so that USR2 finds whatever is at
// that path now (a replaced file, or a "current" symlink switched to a new release).
std::string invokedPath(const std::string& arg0, const std::string& directory) {
  if (arg0.find('/') != std::string::npos) {
    return arg0.front() == '/' ? arg0 : directory + "/" + arg0;
  }
  for (const std::string& dir : split(variable("PATH"), ':')) {
    const std::string candidate = (dir.empty() ? directory : dir) + "/" + arg0;
    if (::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  char path[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof(path) - 1);
  return std::string(path, n > 0 ? static_cast<size_t>(n) : 0);
}

}  // namespace

LaunchContext LaunchContext::capture(int argc, char** argv) {
  LaunchContext c;
  char path[PATH_MAX];
  c.argv.assign(argv, argv + argc);
  c.directory = ::getcwd(path, sizeof(path)) != nullptr ? path : "/";
  c.executable = invokedPath(argc > 0 ? argv[0] : "", c.directory);
  for (char** e = environ; *e != nullptr; ++e) {
    c.environment.emplace_back(*e);
  }
  return c;
}

InheritedListeners takeInheritedListeners(const std::vector<std::string>& binds) {
  InheritedListeners out;
  std::vector<int> fds;
  if (const std::string list = variable("APPSERVER_FD"); !list.empty()) {
    fds = predecessorFds(list);
    out.source = InheritedListeners::Source::Predecessor;
    const long long pid = parseNumber(variable("APPSERVER_PID"));
    out.predecessor = pid == ::getppid() ? static_cast<pid_t>(pid) : 0;
  } else if (fds = systemdFds(); !fds.empty()) {
    out.source = InheritedListeners::Source::Systemd;
    out.names = split(variable("LISTEN_FDNAMES"), ':');
  }
  const char* origin = out.source == InheritedListeners::Source::Systemd ? "LISTEN_FDS"
                                                                         : "APPSERVER_FD";
  out.names.resize(fds.size());
  for (int fd : fds) {
    Listener l = adoptListeningSocket(fd, origin);
    l.owns_path = out.source == InheritedListeners::Source::Predecessor &&
                  l.kind == Listener::Kind::Unix &&
                  std::find(binds.begin(), binds.end(), "unix:" + l.host) != binds.end();
    out.listeners.push_back(std::move(l));
  }
  for (const char* name : kHandoverVariables) {
    ::unsetenv(name);
  }
  return out;
}

pid_t startSuccessor(const LaunchContext& launch, const std::vector<Listener>& listeners) {
  std::vector<std::string> argv = launch.argv;
  std::vector<std::string> env;
  std::copy_if(launch.environment.begin(), launch.environment.end(), std::back_inserter(env),
               [](const std::string& e) { return !isHandoverVariable(e); });
  std::string fds;
  for (const Listener& l : listeners) {
    fds += (fds.empty() ? "" : ",") + std::to_string(l.fd);
  }
  env.push_back("APPSERVER_FD=" + fds);
  env.push_back("APPSERVER_PID=" + std::to_string(::getpid()));
  std::vector<char*> argv_pointers = pointers(argv);
  std::vector<char*> env_pointers = pointers(env);

  std::fflush(nullptr);
  // The child keeps every signal blocked through exec; the new master unblocks them
  // (Master::installSignals).
  sigset_t previous;
  const pid_t pid = forkWithSignalsBlocked(&previous);
  if (pid != 0) {
    return pid;
  }
  // Nothing but the listeners (and stdio) crosses the exec.
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  for (const Listener& l : listeners) {
    ::fcntl(l.fd, F_SETFD, 0);
  }
  if (::chdir(launch.directory.c_str()) == 0) {
    ::execve(launch.executable.c_str(), argv_pointers.data(), env_pointers.data());
  }
  logAt(LogLevel::Error, "USR2: cannot execute {} in {}: {}", launch.executable, launch.directory,
        std::strerror(errno));
  ::_exit(127);
}

}  // namespace appserver::server
