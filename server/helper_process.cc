// helper_process.cc: posix_spawn, two pipes, poll with a deadline, kill the group, reap.
//
// Thread: the master, before any fork.
#include "helper_process.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "config.h"

namespace appserver::server {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kPollSliceMs = 100;  // how often a still-running child is checked for exit

// A pipe whose ends are closed when it goes out of scope (unless taken).
struct Pipe {
  int read = -1;
  int write = -1;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      throw ConfigError(fmt::format("cannot create a pipe: {}", std::strerror(errno)));
    }
    read = fds[0];
    write = fds[1];
  }
  ~Pipe() {
    closeWrite();
    if (read >= 0) {
      ::close(read);
    }
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  void closeWrite() {
    if (write >= 0) {
      ::close(write);
      write = -1;
    }
  }
};

std::vector<char*> pointers(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const std::string& s : strings) {
    out.push_back(const_cast<char*>(s.c_str()));
  }
  out.push_back(nullptr);
  return out;
}

// Own process group, default dispositions for every signal, nothing blocked.
void setAttributes(posix_spawnattr_t& attr) {
  sigset_t all;
  sigset_t none;
  ::sigfillset(&all);
  ::sigemptyset(&none);
  ::posix_spawnattr_setsigdefault(&attr, &all);
  ::posix_spawnattr_setsigmask(&attr, &none);
  ::posix_spawnattr_setpgroup(&attr, 0);
  ::posix_spawnattr_setflags(
      &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
}

pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
            const Pipe& out, const Pipe& err) {
  std::vector<char*> args = pointers(argv);
  std::vector<char*> envp = pointers(env);
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_adddup2(&actions, out.write, 1);
  ::posix_spawn_file_actions_adddup2(&actions, err.write, 2);
  ::posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attr;
  ::posix_spawnattr_init(&attr);
  setAttributes(attr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, args[0], &actions, &attr, args.data(), envp.data());
  ::posix_spawn_file_actions_destroy(&actions);
  ::posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    throw ConfigError(fmt::format("cannot run {}: {}", argv[0], std::strerror(rc)));
  }
  return pid;
}

// Reads what is there on fd. Returns false at end of file or on an error.
bool drain(int fd, std::string& sink, size_t keep_tail) {
  char buffer[4096];
  const ssize_t n = ::read(fd, buffer, sizeof(buffer));
  if (n < 0 && errno == EINTR) {
    return true;
  }
  if (n <= 0) {
    return false;
  }
  sink.append(buffer, static_cast<size_t>(n));
  ::explicit_bzero(buffer, sizeof(buffer));  // it may have held a key
  if (keep_tail != 0 && sink.size() > keep_tail) {
    sink.erase(0, sink.size() - keep_tail);
  }
  return true;
}

// Whether the child has exited, without reaping it: while it is a zombie its pid, and so
// its process group id, cannot be reused, and the group can still be killed safely.
bool exited(pid_t pid) {
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid == pid;
}

// Reads both pipes until they close, the child exits (then only what is buffered is read:
// a grandchild may hold the pipes open), the output grows too large or the deadline passes.
void collect(pid_t pid, const Pipe& out, const Pipe& err, Clock::time_point deadline,
             size_t max_output, HelperProcessResult& result) {
  pollfd fds[2] = {{out.read, POLLIN, 0}, {err.read, POLLIN, 0}};
  bool finishing = false;
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      result.end = HelperProcessResult::End::TimedOut;
      return;
    }
    const int wait_ms =
        finishing ? 0 : static_cast<int>(std::min<int64_t>(left.count(), kPollSliceMs));
    const int ready = ::poll(fds, 2, wait_ms);
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    if (ready <= 0 && (finishing || ready < 0)) {
      return;  // exited and nothing more is buffered, or poll failed
    }
    for (int i = 0; i < 2 && ready > 0; ++i) {
      std::string& sink = i == 0 ? result.out : result.err;
      if (fds[i].fd >= 0 && fds[i].revents != 0 &&
          !drain(fds[i].fd, sink, i == 0 ? 0 : kHelperErrorTail)) {
        fds[i].fd = -1;
      }
    }
    if (result.out.size() > max_output) {
      result.end = HelperProcessResult::End::TooLarge;
      return;
    }
    finishing = finishing || exited(pid);
  }
}

}  // namespace

HelperProcessResult runHelperProcess(const std::vector<std::string>& argv,
                                     const std::vector<std::string>& env,
                                     std::chrono::milliseconds timeout, size_t max_output) {
  const Clock::time_point deadline = Clock::now() + timeout;
  Pipe out;
  Pipe err;
  const pid_t pid = spawn(argv, env, out, err);
  out.closeWrite();
  err.closeWrite();
  HelperProcessResult result;
  collect(pid, out, err, deadline, max_output, result);
  ::kill(-pid, SIGKILL);  // the child if it overran, and whatever it left behind
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const bool normal = result.end == HelperProcessResult::End::Exited && WIFEXITED(status);
  result.status = normal ? WEXITSTATUS(status) : -1;
  return result;
}

std::string lastLines(std::string_view text, size_t count) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const size_t end = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
      line.remove_prefix(1);
    }
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
      line.remove_suffix(1);
    }
    if (!line.empty()) {
      lines.push_back(line);
    }
  }
  std::string joined;
  for (size_t i = lines.size() > count ? lines.size() - count : 0; i < lines.size(); ++i) {
    joined += fmt::format("{}{}", joined.empty() ? "" : " | ", lines[i]);
  }
  return joined.empty() ? "no message" : joined;
}

}  // namespace appserver::server
