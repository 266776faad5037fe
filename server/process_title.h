// process_title.h: the title `ps` and `top` show for the master and each worker.
//
// Linux has no setproctitle(): /proc/PID/cmdline reads the memory that held argv, and the
// environment strings follow it without a gap. As nginx and PostgreSQL do, init() moves the
// environment to the heap (getenv and setenv keep working) so that set() may write the
// title over argv and environ together, padded with NUL bytes. set() also names the thread
// (prctl PR_SET_NAME, at most 15 bytes: what `top`, `pgrep` and /proc/PID/comm show).
// Thread: the process's only thread, in main() and right after fork().
#pragma once

#include <string_view>

namespace appserver::server {

class ProcessTitle {
 public:
  // Remembers where argv and the environment lie. Call once, from main(), before any
  // other code keeps a pointer into them; argv itself stays intact until set().
  static void init(int argc, char** argv);
  // Shows title (cut to the space argv and environ had) as the process's command line.
  // Without init() only the thread name changes.
  static void set(std::string_view title);
};

}  // namespace appserver::server
