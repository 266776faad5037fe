// master.cc: forking, reaping and signals in the master.
//
// Thread: the master's only thread; onSignal() runs in signal context and only writes
// the signal number into the self-pipe.
#include "master.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "log.h"
#include "process_title.h"
#include "safe_fork.h"
#include "worker.h"

namespace appserver::server {

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kBootWindow = std::chrono::seconds(1);  // a death this soon counts as a boot failure
constexpr int kMaxQuickDeaths = 5;
constexpr int kPollMs = 1000;
// While a worker boots the master looks more often: a worker that dropped to --user may
// not signal a root master that it is ready (kill() needs the same user).
constexpr int kBootPollMs = 50;
constexpr size_t kScoreboardSlots = 2048;  // --workers tops out at 1024; HUP briefly doubles it
constexpr int kHandledSignals[] = {SIGTERM, SIGINT,  SIGQUIT, SIGHUP,  SIGTTIN,
                                   SIGTTOU, SIGCHLD, SIGUSR1, SIGUSR2, SIGWINCH};

int g_signal_pipe[2] = {-1, -1};  // the self-pipe: signal handler -> main loop

void onSignal(int signum) {
  const int saved = errno;
  const char byte = static_cast<char>(signum);
  [[maybe_unused]] const ssize_t n = ::write(g_signal_pipe[1], &byte, 1);
  errno = saved;
}

// A worker's INT or QUIT: the fast stop, also while the app runs on the loop thread.
void onFastStop(int) { ::_exit(0); }

// Waits up to timeout_ms for signals; returns the ones that arrived, in order.
std::vector<int> waitForSignals(int timeout_ms) {
  pollfd p{g_signal_pipe[0], POLLIN, 0};
  std::vector<int> out;
  if (::poll(&p, 1, timeout_ms) <= 0) {
    return out;
  }
  char buf[64];
  ssize_t n;
  while ((n = ::read(g_signal_pipe[0], buf, sizeof(buf))) > 0) {
    out.insert(out.end(), buf, buf + n);
  }
  return out;
}

std::string describeExit(int status) {
  if (WIFSIGNALED(status)) {
    const char* name = ::sigabbrev_np(WTERMSIG(status));
    return std::string("was sent SIG") +
           (name != nullptr ? name : std::to_string(WTERMSIG(status)));
  }
  return "exited with code " + std::to_string(WEXITSTATUS(status));
}

}  // namespace

Master::Master(const Config& config, std::vector<Listener>& listeners, AuthGate* gate,
               TlsContext* tls, MasterContext context)
    : config_(config),
      listeners_(listeners),
      gate_(gate),
      tls_(tls),
      context_(std::move(context)),
      name_(config.name.empty() ? config.app : config.name),
      pid_file_(config.pidfile),
      scoreboard_(kScoreboardSlots),
      target_workers_(config.workers) {}

void Master::installSignals() {
  if (::pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    throw ConfigError(std::string("cannot create the signal pipe: ") + std::strerror(errno));
  }
  struct sigaction sa {};
  sa.sa_handler = onSignal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (int signum : kHandledSignals) {
    ::sigaction(signum, &sa, nullptr);
  }
  // A master started by USR2 arrives with every signal blocked (startSuccessor); the
  // workers inherit this mask, and the app may rely on any signal (SIGALRM, say).
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

int Master::run() {
  installSignals();
  if (const std::string error = giveLogFiles(); !error.empty()) {
    throw ConfigError(error);
  }
  pid_file_.write();
  ProcessTitle::set("appserver: master [" + name_ + "]");
  logAt(LogLevel::Info, "Starting appserver 0.1.0");
  if (context_.predecessor != 0) {
    logAt(LogLevel::Info, "Taking over from the old master (pid:{}); it serves until stopped",
          context_.predecessor);
    ::prctl(PR_SET_PDEATHSIG, SIGCHLD);  // its exit wakes this master: watchPredecessor()
  }
  for (const Listener& l : listeners_) {
    logAt(LogLevel::Info, "Listening at: {} ({})", l.name, ::getpid());
  }
  logAt(LogLevel::Info, "Using worker: {}", config_.threads > 1 ? "threads" : "sync");
  if (tls_ != nullptr) {
    logAt(LogLevel::Info, "TLS on every listener: {}", tls_->describe());
  }
  maintainWorkers();
  while (halt_status_ < 0) {
    for (int signum : waitForSignals(workersBooting() ? kBootPollMs : kPollMs)) {
      handleSignal(signum);
    }
    reap();
    if (halt_status_ < 0) {
      checkTimeouts();
      if (gate_ != nullptr) {
        gate_->poll();  // JWT key files, JWKS URL, denylist (key_store.h)
      }
      rotateWorkers();
      maintainWorkers();
      announceReadiness();
      watchPredecessor();
    }
  }
  if (!workers_.empty()) {
    stopWorkers(false);
  }
  // While another master serves on the same sockets, their files must stay.
  closeListeners(listeners_, successor_ == 0 && context_.predecessor == 0);
  pid_file_.remove();
  logAt(LogLevel::Info, "Shutting down: Master");
  return halt_status_;
}

bool Master::workersBooting() const {
  for (const auto& [pid, info] : workers_) {
    if (!info.slot->ready.load()) {
      return true;
    }
  }
  return false;
}

int Master::activeWorkers() const {
  int n = 0;
  for (const auto& [pid, info] : workers_) {
    n += info.retiring ? 0 : 1;
  }
  return n;
}

void Master::maintainWorkers() {
  for (int n = activeWorkers(); n < target_workers_; ++n) {
    spawnWorker();
  }
}

pid_t Master::spawnWorker() {
  const pid_t master = ::getpid();
  WorkerSlot* slot = scoreboard_.claim();
  if (slot == nullptr) {
    logAt(LogLevel::Error, "no scoreboard slot left for another worker");
    return 0;
  }
  std::fflush(nullptr);
  sigset_t previous;
  const pid_t pid = forkWithSignalsBlocked(&previous);  // the child unblocks them below
  if (pid < 0) {
    logAt(LogLevel::Error, "fork failed: {}", std::strerror(errno));
    slot->pid.store(0);
    return 0;
  }
  if (pid > 0) {
    slot->pid.store(pid);
    workers_[pid] = WorkerInfo{Clock::now(), slot};
    logAt(LogLevel::Info, "Booting worker with pid: {}", pid);
    return pid;
  }
  // The child: default signal dispositions (the worker's loop installs its own for TERM),
  // INT and QUIT stop it at once even inside the app, no pipe, never outliving the master.
  for (int signum : kHandledSignals) {
    ::signal(signum, SIG_DFL);
  }
  for (int signum : {SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH, SIGTTIN, SIGTTOU}) {
    ::signal(signum, SIG_IGN);  // the master's signals; USR1 gets its handler in the loop
  }
  ::signal(SIGINT, onFastStop);
  ::signal(SIGQUIT, onFastStop);
  ::sigprocmask(SIG_SETMASK, &previous, nullptr);
  ::close(g_signal_pipe[0]);
  ::close(g_signal_pipe[1]);
  ProcessTitle::set("appserver: worker [" + name_ + "]");
  if (const std::string error = context_.run_as.drop(); !error.empty()) {
    logAt(LogLevel::Error, "cannot run the worker as --user/--group: {}", error);
    ::_exit(kExitBootError);
  }
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // after drop(): a change of user clears it
  if (::getppid() != master) {
    ::_exit(0);
  }
  int status = kExitBootError;
  {
    Worker worker(config_, listeners_, master, *slot, gate_, tls_);
    status = worker.run();
  }
  std::fflush(nullptr);
  ::_exit(status);
}

void Master::reap() {
  int status = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
    if (pid == successor_) {
      logAt(LogLevel::Error, "New master (pid:{}) {}; this master serves on", pid,
            describeExit(status));
      successor_ = 0;
      pid_file_.moveAside(false);
      continue;
    }
    const auto it = workers_.find(pid);
    if (it == workers_.end()) {
      continue;
    }
    const WorkerInfo info = it->second;
    workers_.erase(it);
    info.slot->pid.store(0);
    const bool expected = info.retiring || stopping_ || info.timed_out;
    const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!clean || !expected) {
      logAt(expected ? LogLevel::Info : LogLevel::Error, "Worker (pid:{}) {}", pid,
            describeExit(status));
    }
    if (WIFEXITED(status) &&
        (WEXITSTATUS(status) == kExitAppLoadError || WEXITSTATUS(status) == kExitBootError)) {
      logAt(LogLevel::Error, "{}; shutting down",
            WEXITSTATUS(status) == kExitAppLoadError ? "App failed to load"
                                                     : "Worker failed to boot");
      halt_status_ = halt_status_ < 0 ? WEXITSTATUS(status) : halt_status_;
      continue;
    }
    if (expected) {
      continue;
    }
    quick_deaths_ = Clock::now() - info.started < kBootWindow ? quick_deaths_ + 1 : 0;
    if (quick_deaths_ >= kMaxQuickDeaths) {
      logAt(LogLevel::Error, "workers keep dying right after they start; shutting down");
      halt_status_ = kExitBootError;
    }
  }
}

void Master::replace(WorkerInfo& info) {
  info.successor = spawnWorker();
  info.retiring = info.successor != 0;  // without a successor it serves on
}

void Master::replaceAll() {
  std::vector<WorkerInfo*> active;
  for (auto& [pid, info] : workers_) {
    if (!info.retiring) {
      active.push_back(&info);
    }
  }
  for (WorkerInfo* info : active) {
    replace(*info);
  }
}

void Master::rotateWorkers() {
  for (auto& [pid, info] : workers_) {
    if (!info.retiring && info.slot->retire.load()) {
      logAt(LogLevel::Info, "Worker (pid:{}) is retiring; starting its replacement", pid);
      replace(info);
    }
  }
  // Each replaced worker stops once its own successor accepts (or is gone), so capacity
  // never drops and a successor that retires in turn cannot hold its predecessor back.
  for (auto& [pid, info] : workers_) {
    if (info.successor == 0) {
      continue;
    }
    const auto successor = workers_.find(info.successor);
    if (successor == workers_.end() || successor->second.slot->ready.load()) {
      info.successor = 0;
      ::kill(pid, SIGTERM);
    }
  }
}

std::string Master::giveLogFiles() const {
  for (const std::string& path : {config_.error_logfile, config_.access_logfile}) {
    if (!path.empty() && path != "-") {
      if (std::string error = context_.run_as.giveTo(path); !error.empty()) {
        return error;
      }
    }
  }
  return "";
}

void Master::checkTimeouts() {
  if (config_.timeout <= 0) {
    return;  // Gunicorn: 0 disables the check
  }
  const int64_t stale_before = Scoreboard::nowMs() - static_cast<int64_t>(config_.timeout * 1000);
  for (auto& [pid, info] : workers_) {
    if (!info.timed_out && info.slot->heartbeat_ms.load() < stale_before) {
      logAt(LogLevel::Critical, "WORKER TIMEOUT (pid:{}): silent for more than {}s; killing it",
            pid, config_.timeout);
      info.timed_out = true;
      ::kill(pid, SIGKILL);
    }
  }
}

void Master::signalWorkers(int signum, bool only_active) {
  for (const auto& [pid, info] : workers_) {
    if (!only_active || !info.retiring) {
      ::kill(pid, signum);
    }
  }
}

void Master::handleSignal(int signum) {
  switch (signum) {
    case SIGCHLD:
      return;  // reap() runs after every wake-up
    case SIGTERM:
    case SIGINT:
    case SIGQUIT:
      logAt(LogLevel::Info, "Handling signal: {}", ::sigabbrev_np(signum));
      if (successor_ == 0) {  // else systemd follows the new master (MAINPID) already
        notifier_.notify("STOPPING=1");
      }
      stopWorkers(signum == SIGTERM);
      halt_status_ = 0;
      return;
    case SIGHUP:
      reload();
      return;
    case SIGUSR1:
      logAt(LogLevel::Info, "Handling signal: usr1; reopening log files");
      Log::reopen();
      if (const std::string error = giveLogFiles(); !error.empty()) {
        logAt(LogLevel::Warning, "{}", error);
      }
      signalWorkers(SIGUSR1, false);
      return;
    case SIGUSR2:
      startNewMaster();
      return;
    case SIGWINCH:
      stopWorkersForWinch();
      return;
    case SIGTTIN:
      ++target_workers_;
      logAt(LogLevel::Info, "Handling signal: ttin; {} workers", target_workers_);
      return;
    case SIGTTOU:
      if (target_workers_ > 1) {
        --target_workers_;
        logAt(LogLevel::Info, "Handling signal: ttou; {} workers", target_workers_);
        retireOldest();
      }
      return;
  }
}

void Master::reload() {
  logAt(LogLevel::Info, "Hang up: Master");
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  notifier_.notify(fmt::format("RELOADING=1\nMONOTONIC_USEC={}",
                               now.tv_sec * 1000000LL + now.tv_nsec / 1000));
  ready_announced_ = false;
  if (gate_ != nullptr) {
    gate_->reload();  // JWT keys re-read before the new workers fork; bad ones are kept out
  }
  if (tls_ != nullptr) {
    tls_->reload();  // likewise the certificate and key: bad new files leave the old ones
  }
  target_workers_ = config_.workers;  // as Gunicorn: TTIN, TTOU and WINCH are undone
  while (activeWorkers() > target_workers_) {
    retireOldest();
  }
  replaceAll();  // the new generation first; each old worker stops once its successor accepts
}

void Master::startNewMaster() {
  if (successor_ != 0) {
    logAt(LogLevel::Warning, "Ignoring signal: usr2; the new master (pid:{}) still runs",
          successor_);
    return;
  }
  if (context_.predecessor != 0) {
    logAt(LogLevel::Warning,
          "Ignoring signal: usr2; the old master (pid:{}) still runs and must stop first",
          context_.predecessor);
    return;
  }
  if (!pid_file_.moveAside(true)) {
    logAt(LogLevel::Warning, "cannot rename the pid file to {}.oldbin: {}", config_.pidfile,
          std::strerror(errno));
  }
  const pid_t pid = startSuccessor(context_.launch, listeners_);
  if (pid < 0) {
    logAt(LogLevel::Error, "Ignoring signal: usr2; fork failed: {}", std::strerror(errno));
    pid_file_.moveAside(false);
    return;
  }
  successor_ = pid;
  logAt(LogLevel::Info, "Handling signal: usr2; new master (pid:{}) starting from {}", pid,
        context_.launch.executable);
}

void Master::stopWorkersForWinch() {
  // A foreground master gets WINCH whenever its terminal is resized (Gunicorn's reason).
  if (!config_.daemon) {
    logAt(LogLevel::Debug, "Ignoring signal: winch; the master is not daemonized");
    return;
  }
  logAt(LogLevel::Info, "Handling signal: winch; stopping the workers gracefully");
  target_workers_ = 0;
  while (activeWorkers() > 0) {
    retireOldest();
  }
}

void Master::announceReadiness() {
  if (ready_announced_ || target_workers_ == 0 || activeWorkers() < target_workers_) {
    return;
  }
  for (const auto& [pid, info] : workers_) {
    if (!info.retiring && !info.slot->ready.load()) {
      return;
    }
  }
  ready_announced_ = true;
  std::string state = fmt::format("READY=1\nSTATUS={} workers serving", activeWorkers());
  if (context_.predecessor != 0) {
    state = fmt::format("MAINPID={}\n{}", ::getpid(), state);  // systemd follows this master
  }
  if (!notifier_.notify(state)) {
    logAt(LogLevel::Warning, "cannot notify systemd (NOTIFY_SOCKET): {}", std::strerror(errno));
  }
}

void Master::watchPredecessor() {
  if (context_.predecessor != 0 && ::getppid() != context_.predecessor) {
    logAt(LogLevel::Info, "Master has been promoted: the old master (pid:{}) is gone",
          context_.predecessor);
    context_.predecessor = 0;
  }
}

void Master::retireOldest() {
  auto oldest = workers_.end();
  for (auto it = workers_.begin(); it != workers_.end(); ++it) {
    if (!it->second.retiring &&
        (oldest == workers_.end() || it->second.started < oldest->second.started)) {
      oldest = it;
    }
  }
  if (oldest != workers_.end()) {
    oldest->second.retiring = true;
    ::kill(oldest->first, SIGTERM);
  }
}

void Master::stopWorkers(bool graceful) {
  stopping_ = true;
  signalWorkers(graceful ? SIGTERM : SIGQUIT, false);
  const auto deadline = Clock::now() + std::chrono::duration<double>(config_.graceful_timeout);
  while (!workers_.empty() && Clock::now() < deadline) {
    for (int signum : waitForSignals(100)) {
      if (signum == SIGINT || signum == SIGQUIT) {
        signalWorkers(SIGQUIT, false);  // impatient operator: from graceful to fast
      }
    }
    reap();
  }
  if (!workers_.empty()) {
    logAt(LogLevel::Warning, "{} worker(s) did not stop within {}s: killing", workers_.size(),
          config_.graceful_timeout);
    signalWorkers(SIGKILL, false);
    for (const auto& [pid, info] : workers_) {
      ::waitpid(pid, nullptr, 0);
    }
    workers_.clear();
  }
}

}  // namespace appserver::server
