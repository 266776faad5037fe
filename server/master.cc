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

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "abort_handler.h"
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
// How long a worker aborted for --timeout has to answer, log its stacks and exit before it
// is killed.
constexpr int64_t kAbortGraceMs = 2000;
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

// Why a worker has overrun --timeout (limit_ms), or "" if it has not. With --threads 1 the
// call in progress is judged by its own age: the loop that runs it cannot beat meanwhile.
// Otherwise the loop must beat; a pool's calls are timed by the worker itself (worker.cc),
// and only a loop stuck too (say on a GIL a C extension keeps) is the master's to end.
std::string overdue(const WorkerSlot& slot, int64_t now, int64_t limit_ms, bool inline_calls) {
  const double seconds = static_cast<double>(limit_ms) / 1000;
  RequestRecord::Snapshot call;
  if (inline_calls && slot.requests[0].read(call)) {
    return now - call.started_ms <= limit_ms
               ? ""
               : fmt::format("{} (request id {}) has run for more than {}s", call.line,
                             call.id, seconds);
  }
  if (now - slot.heartbeat_ms.load() <= limit_ms) {
    return "";
  }
  std::string why = fmt::format("silent for more than {}s", seconds);
  const RequestRecord* oldest = nullptr;
  for (const RequestRecord& record : slot.requests) {
    const int64_t started = record.startedMs();
    if (started != 0 && (oldest == nullptr || started < oldest->startedMs())) {
      oldest = &record;
    }
  }
  if (oldest != nullptr && oldest->read(call)) {
    why += fmt::format(", running {} (request id {}) for {}s", call.line, call.id,
                       static_cast<double>(now - call.started_ms) / 1000);
  }
  return why;
}

// The access lines of the calls a worker aborted for --timeout cannot write itself: each
// 504 its SIGABRT handler writes, and with --threads 1 a response already under way, which
// the abort cuts short (499, the status a worker logs for a response it cuts). A pool call
// that its loop answered has withdrawn its socket and has its line. Written once the worker
// is gone: on a shared stderr, its faulthandler stacks would otherwise split the lines.
// `ended` is when the worker was aborted.
void logAbortedCalls(pid_t pid, const WorkerSlot& slot, bool inline_calls,
                     std::chrono::system_clock::time_point ended) {
  if (!Log::accessEnabled()) {
    return;
  }
  for (const RequestRecord& record : slot.requests) {
    RequestRecord::Snapshot call;
    if (!record.read(call) || (call.answer_fd < 0 && !inline_calls)) {
      continue;
    }
    // The record keeps "METHOD target protocol", cut to fit: a cut line has no protocol.
    const std::string_view line = call.line;
    const size_t method_end = std::min(line.find(' '), line.size());
    std::string_view rest = line.substr(std::min(method_end + 1, line.size()));
    std::string_view protocol;
    if (const size_t space = rest.rfind(' ');
        space != std::string_view::npos && rest.substr(space + 1).starts_with("HTTP/")) {
      protocol = rest.substr(space + 1);
      rest = rest.substr(0, space);
    }
    AccessEntry e;
    e.remote_addr = call.remote;
    e.method = line.substr(0, method_end);
    e.target = rest;
    e.protocol = protocol;
    e.status = call.answer_fd >= 0 ? 504 : 499;
    e.body_bytes = call.answer_fd >= 0 ? AbortHandler::answerBodyBytes(line) : call.body_sent;
    e.start = std::chrono::system_clock::time_point(
        std::chrono::microseconds(call.request_start_us));
    e.duration = std::max(std::chrono::microseconds(0),
                          std::chrono::duration_cast<std::chrono::microseconds>(ended - e.start));
    e.request_id = call.id;
    Log::access(e, pid);
  }
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
      scoreboard_(kScoreboardSlots, static_cast<size_t>(std::max(1, config.threads))),
      metrics_(config.threads),
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
  openMetrics();
  logAt(LogLevel::Info, "Using worker: {}", config_.threads > 1 ? "threads" : "sync");
  if (tls_ != nullptr) {
    logAt(LogLevel::Info, "TLS on every listener: {}", tls_->describe());
  }
  if (config_.preload && !preload()) {
    halt_status_ = kExitAppLoadError;  // as a worker that cannot import it: no fork loop
  } else {
    maintainWorkers();
  }
  while (halt_status_ < 0) {
    for (int signum : waitForSignals(workersBooting() || workersAborted() ? kBootPollMs : kPollMs)) {
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
  stopListening();
  pid_file_.remove();
  logAt(LogLevel::Info, "Shutting down: Master");
  return halt_status_;
}

bool Master::preload() {
  preloaded_ = PythonApp::load(config_, /*preload=*/true);
  if (!preloaded_.app) {
    logAt(LogLevel::Error, "Exception in master process: cannot load {}\n{}", config_.app,
          preloaded_.error);
    logAt(LogLevel::Error, "App failed to load; shutting down");
    return false;
  }
  logAt(LogLevel::Info, "Preloaded {}: workers share its imported heap", config_.app);
  return true;
}

bool Master::workersBooting() const {
  for (const auto& [pid, info] : workers_) {
    if (!info.slot->ready.load()) {
      return true;
    }
  }
  return false;
}

bool Master::workersAborted() const {
  for (const auto& [pid, info] : workers_) {
    if (info.aborted_ms != 0) {
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
  embed::Interpreter* python = preloaded_.interpreter.get();
  if (python != nullptr) {
    python->beforeFork();
  }
  sigset_t previous;
  const pid_t pid = forkWithSignalsBlocked(&previous);  // the child unblocks them below
  if (python != nullptr) {
    pid == 0 ? python->afterForkInChild() : python->afterForkInParent();
  }
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
  if (metrics_endpoint_ != nullptr) {
    metrics_endpoint_->closeInChild();
  }
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
  Log::startWriter();  // the worker's own thread: the master, which forks, has none
  {
    Worker worker(config_, listeners_, master, scoreboard_, *slot, gate_, tls_,
                  python != nullptr ? &preloaded_ : nullptr);
    status = worker.run();
  }
  Log::stopWriter();
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
    metrics_.workerGone(*info.slot);  // before the slot can serve another worker
    // A worker that served exits with the app's status, which may happen to be 3 or 4.
    const bool booted = info.slot->ready.load();
    info.slot->pid.store(0);
    const bool timed_out = info.aborted_ms != 0;
    if (timed_out) {
      const auto aborted_ago = std::chrono::milliseconds(Scoreboard::nowMs() - info.aborted_ms);
      logAbortedCalls(pid, *info.slot, config_.threads <= 1,
                      std::chrono::system_clock::now() - aborted_ago);
    }
    const bool expected = info.retiring || stopping_ || timed_out;
    const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!clean || !expected) {
      // Nobody here sends SIGKILL unasked: the kernel's OOM killer is the likely sender.
      const bool oom = !expected && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
      logAt(expected ? LogLevel::Info : LogLevel::Error, "Worker (pid:{}) {}{}", pid,
            describeExit(status), oom ? "! Perhaps out of memory?" : "");
    }
    if (!booted && WIFEXITED(status) &&
        (WEXITSTATUS(status) == kExitAppLoadError || WEXITSTATUS(status) == kExitBootError)) {
      logAt(LogLevel::Error, "{}; shutting down",
            WEXITSTATUS(status) == kExitAppLoadError ? "App failed to load"
                                                     : "Worker failed to boot");
      halt_status_ = halt_status_ < 0 ? WEXITSTATUS(status) : halt_status_;
      continue;
    }
    if (timed_out && !info.retiring && !stopping_) {
      metrics_.restarted(RestartCause::Timeout);  // maintainWorkers() starts the replacement
    }
    if (expected) {
      continue;
    }
    metrics_.restarted(WIFSIGNALED(status) ? RestartCause::Signal : RestartCause::Exit);
    quick_deaths_ = Clock::now() - info.started < kBootWindow ? quick_deaths_ + 1 : 0;
    if (quick_deaths_ >= kMaxQuickDeaths) {
      logAt(LogLevel::Error, "workers keep dying right after they start; shutting down");
      halt_status_ = kExitBootError;
    }
  }
}

void Master::replace(WorkerInfo& info, RestartCause cause) {
  info.successor = spawnWorker();
  info.retiring = info.successor != 0;  // without a successor it serves on
  if (info.retiring) {
    metrics_.restarted(cause);
  }
}

void Master::replaceAll() {
  std::vector<WorkerInfo*> active;
  for (auto& [pid, info] : workers_) {
    if (!info.retiring) {
      active.push_back(&info);
    }
  }
  for (WorkerInfo* info : active) {
    replace(*info, RestartCause::Reload);
  }
}

void Master::rotateWorkers() {
  for (auto& [pid, info] : workers_) {
    if (!info.retiring && info.slot->retire.load()) {
      logAt(LogLevel::Info, "Worker (pid:{}) is retiring; starting its replacement", pid);
      replace(info, info.slot->retire_cause.load());
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
  const int64_t now = Scoreboard::nowMs();
  const auto limit_ms = static_cast<int64_t>(config_.timeout * 1000);
  for (auto& [pid, info] : workers_) {
    if (info.aborted_ms != 0) {
      if (!info.killed && now - info.aborted_ms >= kAbortGraceMs) {
        logAt(LogLevel::Warning, "Worker (pid:{}) did not exit within {}s of SIGABRT; killing it",
              pid, kAbortGraceMs / 1000);
        info.killed = true;
        ::kill(pid, SIGKILL);
      }
      continue;
    }
    const std::string why = overdue(*info.slot, now, limit_ms, config_.threads <= 1);
    if (!why.empty()) {
      // Before the signal, so that the worker's stacks follow this line in the log.
      logAt(LogLevel::Critical, "WORKER TIMEOUT (pid:{}): {}; aborting it", pid, why);
      info.aborted_ms = now;
      info.slot->timed_out.store(true);  // read by the worker's SIGABRT handler
      ::kill(pid, SIGABRT);
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
      // Refused, a connection goes to another instance (nginx retries even a POST then);
      // queued while the workers drain, it would be reset when this master exits.
      stopListening();
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
  if (preloaded_.app) {
    logAt(LogLevel::Info,
          "--preload: new workers run the code imported at start; USR2 loads new code");
  }
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
    openMetrics();
  }
}

std::vector<int> Master::waitForSignals(int timeout_ms) {
  std::vector<pollfd> fds{{g_signal_pipe[0], POLLIN, 0}};
  if (metrics_endpoint_ != nullptr) {
    metrics_endpoint_->addPollFds(fds);
  }
  std::vector<int> out;
  if (::poll(fds.data(), fds.size(), timeout_ms) < 0) {
    return out;  // EINTR: a signal, read from the pipe on the next wake-up
  }
  if (metrics_endpoint_ != nullptr) {
    metrics_endpoint_->handle(std::span(fds).subspan(1), Clock::now());
  }
  char buf[64];
  ssize_t n;
  while ((n = ::read(g_signal_pipe[0], buf, sizeof(buf))) > 0) {
    out.insert(out.end(), buf, buf + n);
  }
  return out;
}

void Master::openMetrics() {
  if (config_.metrics_bind.empty() || metrics_endpoint_ != nullptr) {
    return;
  }
  if (context_.metrics.fd < 0) {
    if (context_.predecessor != 0) {
      return;  // the old master serves the port until it exits (watchPredecessor)
    }
    try {
      context_.metrics = MetricsEndpoint::bind(config_.metrics_bind);
    } catch (const ConfigError& e) {
      logAt(LogLevel::Error, "no metrics: {}", e.what());
      return;
    }
  }
  logAt(LogLevel::Info, "Metrics at: {}/metrics", context_.metrics.name);
  metrics_endpoint_ = std::make_unique<MetricsEndpoint>(context_.metrics, [this] {
    std::vector<const WorkerSlot*> live;
    for (const auto& [pid, info] : workers_) {
      live.push_back(info.slot);
    }
    return metrics_.render(live, listeners_);
  });
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

void Master::stopListening() {
  // While another master serves on the same sockets, their files must stay.
  closeListeners(listeners_, successor_ == 0 && context_.predecessor == 0);
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
