// master.h: the pre-fork arbiter. Forks the workers, replaces those that die, and turns
// signals into actions, as Gunicorn's arbiter does.
//
// TERM: graceful stop (workers finish in-flight requests, bounded by --graceful-timeout).
// INT, QUIT: fast stop. HUP: a new generation of workers, then the old ones stop
// gracefully. TTIN / TTOU: one worker more / fewer. USR1: log files reopened (also by the
// workers). USR2: a new master from the (possibly new) binary, on the same sockets
// (socket_handover.h); both serve until the old one is stopped. WINCH, when daemonized: the
// workers stop gracefully, the master stays. systemd hears READY=1, RELOADING=1 and
// STOPPING=1 (systemd_notifier.h). A worker that exits with
// kExitAppLoadError or kExitBootError, or workers that keep dying right after they start,
// halt the master with an error instead of a fork loop. A worker whose call in progress
// (with --threads 1) or whose heartbeat in the Scoreboard is older than --timeout gets
// SIGABRT (abort_handler.h: its client gets 504, the log its Python stacks), SIGKILL if it
// has not exited two seconds later, and a replacement.
// Plain POSIX: sigaction, a self-pipe, poll() and waitpid(); never a uv loop (STYLE.md).
// Thread: the master's only thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <vector>

#include "auth_gate.h"
#include "config.h"
#include "listener.h"
#include "metrics.h"
#include "metrics_endpoint.h"
#include "pid_file.h"
#include "privileges.h"
#include "scoreboard.h"
#include "socket_handover.h"
#include "systemd_notifier.h"
#include "tls_context.h"
#include "worker.h"

namespace appserver::server {

// What the master knows beyond the configuration about how it was started (main.cc).
struct MasterContext {
  LaunchContext launch;    // how USR2 starts the new master
  pid_t predecessor = 0;   // the old master this one took over from (USR2), while it runs
  RunAs run_as;            // who the workers become (--user, --group)
  Listener metrics;        // --metrics-bind's socket (MetricsEndpoint::bind); fd -1 when none
};

class Master {
 public:
  // gate: the JWT check the workers inherit, or null when JWT verification is off. tls:
  // the TLS context they inherit, reloaded on HUP, or null when TLS is off.
  // Throws ConfigError when $NOTIFY_SOCKET is malformed.
  Master(const Config& config, std::vector<Listener>& listeners, AuthGate* gate,
         TlsContext* tls = nullptr, MasterContext context = {});
  // Runs until stopped. Returns the process exit status.
  int run();

 private:
  struct WorkerInfo {
    std::chrono::steady_clock::time_point started;
    WorkerSlot* slot = nullptr;
    bool retiring = false;   // replaced or told to stop: not counted as a live worker
    pid_t successor = 0;     // a replaced worker stops (TERM) once this one accepts
    int64_t aborted_ms = 0;  // when it got SIGABRT for --timeout (Scoreboard::nowMs()); 0: not
    bool killed = false;     // SIGKILL followed, after kAbortGraceMs
  };

  void installSignals();
  // Forks a worker. Returns its pid, or 0 when none could be started (logged).
  pid_t spawnWorker();
  void maintainWorkers();
  void reap();
  // Aborts workers past --timeout, and kills those that do not exit after the abort.
  void checkTimeouts();
  // Replaces workers that ask to retire, and stops replaced workers once their successors
  // are ready, so capacity never drops (HUP, --max-requests, --max-worker-memory).
  void rotateWorkers();
  // Replaces every active worker (HUP).
  void replaceAll();
  // Starts a successor for a worker, which stops once the successor accepts.
  void replace(WorkerInfo& info, RestartCause cause);
  // Waits up to timeout_ms for signals, serving scrapes meanwhile; returns the signals.
  std::vector<int> waitForSignals(int timeout_ms);
  // --metrics-bind: starts serving on the socket main() bound, or binds it now (a master
  // started by USR2, once the old one has released the port).
  void openMetrics();
  // Hands the log files to the workers' user, so that they can reopen them on USR1.
  // Returns "" or what failed.
  std::string giveLogFiles() const;
  void handleSignal(int signum);
  void reload();              // HUP
  void startNewMaster();      // USR2
  void stopWorkersForWinch();  // WINCH
  // READY=1 to systemd once every active worker accepts (after start and after HUP).
  void announceReadiness();
  // After USR2, in the new master: notices that the old master has exited.
  void watchPredecessor();
  void signalWorkers(int signum, bool only_active);
  // TTOU: the longest-running active worker stops gracefully.
  void retireOldest();
  // Stops every worker (graceful: TERM, else QUIT) and waits, KILLing after the timeout.
  void stopWorkers(bool graceful);
  // Closes the listening sockets (their files too, unless another master uses them), so
  // that new connections are refused rather than queued behind workers that stop accepting.
  void stopListening();
  int activeWorkers() const;
  bool workersBooting() const;
  bool workersAborted() const;  // SIGABRT sent, exit not yet seen: the master looks more often
  // --preload: imports the app here, before any fork. False (logged) when it fails.
  bool preload();

  const Config& config_;
  std::vector<Listener>& listeners_;
  AuthGate* gate_;
  TlsContext* tls_;
  MasterContext context_;
  std::string name_;  // --name, or the app: in process titles
  PidFile pid_file_;
  SystemdNotifier notifier_;
  Scoreboard scoreboard_;
  Metrics metrics_;
  std::unique_ptr<MetricsEndpoint> metrics_endpoint_;  // null without --metrics-bind
  std::map<pid_t, WorkerInfo> workers_;
  int target_workers_;
  int quick_deaths_ = 0;  // consecutive workers that died within kBootWindow of starting
  int halt_status_ = -1;  // >= 0: stop with this exit status
  bool stopping_ = false;
  bool ready_announced_ = false;
  pid_t successor_ = 0;  // USR2: the new master, while it runs
  PythonApp preloaded_;  // --preload: the app every worker inherits; else empty
};

}  // namespace appserver::server
