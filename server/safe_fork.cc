// safe_fork.cc: fork() with every signal blocked.
//
// Thread: the master's only thread.
#include "safe_fork.h"

#include <unistd.h>

#include <cerrno>

namespace appserver::server {

pid_t forkWithSignalsBlocked(sigset_t* previous) {
  sigset_t all;
  sigfillset(&all);
  ::sigprocmask(SIG_BLOCK, &all, previous);
  const pid_t pid = ::fork();
  if (pid != 0) {
    const int saved = errno;
    ::sigprocmask(SIG_SETMASK, previous, nullptr);
    errno = saved;
  }
  return pid;
}

}  // namespace appserver::server
