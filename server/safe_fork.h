// safe_fork.h: fork() for a process that handles signals, as the master does.
//
// A signal that arrives in the child before it has set its own dispositions would run the
// parent's handler there (and, through the inherited self-pipe, be lost or misdelivered).
// So every signal is blocked across fork(); the parent gets its mask back at once, the
// child only when it is ready (or never: exec keeps the mask, see socket_handover.cc).
// Thread: the master's only thread.
#pragma once

#include <signal.h>
#include <sys/types.h>

namespace appserver::server {

// fork() with every signal blocked. In the parent (and on failure, errno kept) the mask is
// restored before returning; in the child it stays blocked and *previous holds the mask to
// restore with sigprocmask(SIG_SETMASK, previous, nullptr).
pid_t forkWithSignalsBlocked(sigset_t* previous);

}  // namespace appserver::server
