// daemon.h: --daemon, detaching the master from the terminal that started it.
//
// What Gunicorn's daemonize does: fork (the command returns to the shell), setsid (no
// controlling terminal), fork again (never a session leader, so no terminal can be
// acquired again), umask 022, and standard input, output and error on /dev/null. The
// working directory stays where --chdir left it. Called after the listeners are bound, so
// a bad address still fails on the terminal with exit status 2.
// Thread: the master, before any worker is forked and before the pid file is written.
#pragma once

namespace appserver::server {

// Returns in the daemon only; the two processes before it exit with status 0. Throws
// ConfigError when a fork or setsid fails (still in the process the shell started).
void daemonize();

}  // namespace appserver::server
