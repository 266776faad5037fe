// daemon.cc: the double fork.
//
// Thread: the master's only thread.
#include "daemon.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "config.h"

namespace appserver::server {

namespace {

// Forks; the parent exits 0 at once (its stdio buffers were flushed before).
void forkAndLeaveParent() {
  const pid_t pid = ::fork();
  if (pid < 0) {
    throw ConfigError(std::string("--daemon: fork failed: ") + std::strerror(errno));
  }
  if (pid > 0) {
    ::_exit(0);
  }
}

}  // namespace

void daemonize() {
  std::fflush(nullptr);
  forkAndLeaveParent();
  if (::setsid() < 0) {
    throw ConfigError(std::string("--daemon: setsid failed: ") + std::strerror(errno));
  }
  forkAndLeaveParent();
  ::umask(022);
  const int null = ::open("/dev/null", O_RDWR);  // inheritable, as stdio must be
  if (null >= 0) {
    for (int fd : {0, 1, 2}) {
      ::dup2(null, fd);
    }
    if (null > 2) {
      ::close(null);
    }
  }
}

}  // namespace appserver::server
