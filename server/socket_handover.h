// socket_handover.h: listening sockets a master did not bind itself, and the re-execution
// (USR2) that passes its own on.
//
// USR2: the master forks a child that executes the binary again, from the path the master
// was started from, symlinks unresolved (a binary replaced there since, or a symlink that
// now points to a new release, is the new one), with the master's
// original arguments, environment and working directory, plus
//   APPSERVER_FD=3,4    the listening descriptors, left open across exec
//   APPSERVER_PID=N     the old master, which goes on serving until it is told to stop.
// The new master adopts those sockets instead of binding, so no connection is refused
// while both masters run.
// systemd socket activation: LISTEN_PID=<this pid> and LISTEN_FDS=N pass descriptors
// 3 .. 3+N-1 (LISTEN_FDNAMES may name them, colon-separated), which stand for --bind, as in
// Gunicorn. Every descriptor must be a listening TCP or Unix stream socket.
// All of these variables are removed from the environment once read, so neither workers
// nor the app nor a later new master sees stale ones.
// Thread: the master's only thread.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "listener.h"

namespace appserver::server {

// The process as the shell or service manager started it, kept for USR2.
struct LaunchContext {
  std::string executable;                // the binary's path as invoked (argv[0], or $PATH's)
  std::vector<std::string> argv;         // argv as given
  std::string directory;                 // working directory before --chdir
  std::vector<std::string> environment;  // KEY=VALUE entries before -e

  // Call first thing in main(), before the environment or directory change.
  static LaunchContext capture(int argc, char** argv);
};

struct InheritedListeners {
  enum class Source {
    None,         // nothing inherited: bind --bind
    Predecessor,  // APPSERVER_FD from the old master (USR2)
    Systemd,      // LISTEN_FDS from systemd
  };
  Source source = Source::None;
  std::vector<Listener> listeners;
  std::vector<std::string> names;  // LISTEN_FDNAMES, one per listener ("" when unnamed)
  pid_t predecessor = 0;           // the old master while it is this process's parent
};

// Takes the sockets passed down to this process and clears the variables. A Unix socket
// from the old master whose path is a --bind unix:PATH counts as this master's own (its
// file is removed at exit once no other master uses it). Throws ConfigError when a
// descriptor named is not a listening stream socket, or the variables are malformed.
InheritedListeners takeInheritedListeners(const std::vector<std::string>& binds);

// USR2: starts the new master on listeners (see above). Returns its pid, or -1 when fork
// failed (errno set). A child whose exec fails logs why and exits with status 127.
pid_t startSuccessor(const LaunchContext& launch, const std::vector<Listener>& listeners);

}  // namespace appserver::server
