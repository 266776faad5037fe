// worker.cc: a worker's start, its loop and its two ways to stop.
//
// Thread: the loop thread.
#include "worker.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>

#include "abort_handler.h"
#include "connection.h"
#include "embed/interpreter.h"
#include "log.h"

namespace appserver::server {

namespace {

constexpr size_t kReadBufferSize = 64 * 1024;  // shared by all connections of the worker
constexpr uint64_t kHeartbeatMs = 1000;
constexpr int64_t kFullWarningIntervalMs = 60 * 1000;
constexpr uint64_t kAcceptRecheckMs = 1;   // a worker over its share looks again this soon
constexpr uint64_t kNoFilesPauseMs = 100;  // out of descriptors: clients wait this long
// Descriptors a worker needs beside its connections: listeners, the loop, logs, Python's.
constexpr rlim_t kSpareFiles = 64;

// Raises the soft limit on open files toward the hard one, as far as the connections need:
// Debian's default soft limit of 1024 would refuse accept() long before 1000 connections
// plus spooled bodies and sendfile'd files.
void raiseFileLimit(size_t connections) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return;
  }
  const rlim_t wanted = 2 * static_cast<rlim_t>(connections) + kSpareFiles;  // + a file each
  if (limit.rlim_cur < wanted) {
    limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, limit.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur < static_cast<rlim_t>(connections) + kSpareFiles) {
    logAt(LogLevel::Warning,
          "the open-file limit ({}) is below --worker-connections ({}): raise the hard limit "
          "(LimitNOFILE= in a systemd unit)",
          limit.rlim_cur, connections);
  }
}

// This process's resident set size, from /proc/self/statm.
long long residentMiB() {
  long long pages_total = 0;
  long long pages_resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%lld %lld", &pages_total, &pages_resident) != 2) {
      pages_resident = 0;
    }
    std::fclose(f);
  }
  return pages_resident * ::sysconf(_SC_PAGESIZE) / (1024 * 1024);
}

// From here on a fatal signal writes every thread's Python stack to the error log.
void enableFaultTracebacks() {
  if (const std::string error = embed::enableFaultTracebacks(Log::errorFd()); !error.empty()) {
    logAt(LogLevel::Warning, "no Python stacks on fatal signals: {}", error);
  }
}

std::string currentDirectory() {
  char buf[PATH_MAX];
  return ::getcwd(buf, sizeof(buf)) != nullptr ? buf : ".";
}

}  // namespace

// The C trampolines libuv calls; each forwards to the worker's handle<Event>.
struct WorkerCallbacks {
  static void onListenable(uv_poll_t* poll, int status, int) {
    auto* socket = static_cast<Worker::ListenSocket*>(poll->data);
    socket->worker->handleListenable(*socket, status);
  }
  static void onAcceptTimer(uv_timer_t* timer) {
    static_cast<Worker*>(timer->data)->resumeAccepting();
  }
  static void onSignal(uv_signal_t* handle, int signum) {
    static_cast<Worker*>(handle->data)->handleSignal(signum);
  }
  static void onHeartbeat(uv_timer_t* timer) {
    static_cast<Worker*>(timer->data)->handleHeartbeat();
  }
  static void onDeadline(uv_timer_t* timer) { static_cast<Worker*>(timer->data)->stopNow(); }
  static void onWalkClose(uv_handle_t* handle, void*) {
    if (uv_is_closing(handle) == 0) {
      uv_close(handle, nullptr);
    }
  }
};

PythonApp PythonApp::load(const Config& config, bool preload) {
  embed::InterpreterOptions python;
  python.python_path = config.python_path;
  python.python_path.push_back(currentDirectory());    // as Gunicorn: the app's directory first
  python.python_path.push_back(APPSERVER_PYTHON_DIR);  // the appserver package (DRF class)
  PythonApp loaded;
  loaded.interpreter = std::make_unique<embed::Interpreter>(python);
  if (preload) {
    loaded.interpreter->pauseCollection();
  } else {
    enableFaultTracebacks();  // a worker's import that overruns --timeout shows where it is
  }
  embed::WsgiAppOptions options;
  const char* script_name = std::getenv("SCRIPT_NAME");
  options.script_name = script_name != nullptr ? script_name : "";
  options.multithread = config.threads > 1;
  options.multiprocess = config.workers > 1;
  options.error_writer = [](std::string_view text) { Log::write(LogLevel::Error, text); };
  auto result = embed::WsgiApp::load(config.app, options);
  loaded.app = std::move(result.app);
  loaded.error = std::move(result.error);
  if (loaded.app) {
    loaded.interpreter->freezeImported();
  }
  return loaded;
}

Worker::Worker(const Config& config, const std::vector<Listener>& listeners, pid_t master,
               const Scoreboard& scoreboard, WorkerSlot& slot, AuthGate* gate,
               const TlsContext* tls, PythonApp* preloaded)
    : config_(config),
      listeners_(listeners),
      master_(master),
      slot_(slot),
      gate_(gate),
      tls_(tls),
      forwarded_(config.forwarded_allow_ips, config.forwarded_header == "forwarded"),
      proxy_peers_(config.proxy_allow_ips, /*rfc7239=*/false),
      request_ids_(RequestIds::seeded()),
      balance_([&scoreboard] { return scoreboard.slots(); }, slot),
      read_buffer_(kReadBufferSize),
      python_(preloaded != nullptr ? preloaded : &own_python_) {
  limits_.request_line = static_cast<size_t>(config.limit_request_line);
  limits_.fields = static_cast<size_t>(config.limit_request_fields);
  limits_.field_size = static_cast<size_t>(config.limit_request_field_size);
  limits_.body = static_cast<uint64_t>(config.limit_request_body);
  max_connections_ = static_cast<size_t>(config.worker_connections);
}

Worker::~Worker() = default;

int Worker::run() {
  AbortHandler::installExit(slot_);
  if (python_ == &own_python_) {
    own_python_ = PythonApp::load(config_, /*preload=*/false);
    if (!own_python_.app) {
      logAt(LogLevel::Error, "Exception in worker process: cannot load {}\n{}", config_.app,
            own_python_.error);
      return kExitAppLoadError;
    }
  } else {
    enableFaultTracebacks();
  }
  AbortHandler::installAnswer();

  slot_.heartbeat_ms.store(Scoreboard::nowMs());  // the import may have taken a while
  raiseFileLimit(max_connections_);
  uv_loop_init(&loop_);
  runner_ = std::make_unique<AppRunner>(
      &loop_, config_.threads, QueueLimits{config_.max_pending, config_.queue_timeout}, slot_);
  try {
    static_files_ = StaticFiles::open(config_.static_dirs);  // afresh: DIR may be a new one
  } catch (const ConfigError& e) {
    logAt(LogLevel::Error, "{}", e.what());
    return kExitBootError;
  }
  if (!listen()) {
    return kExitBootError;
  }
  if (config_.max_requests > 0) {
    std::mt19937_64 random(std::random_device{}());
    request_limit_ = static_cast<uint64_t>(config_.max_requests) +
                     (config_.max_requests_jitter > 0
                          ? random() % static_cast<uint64_t>(config_.max_requests_jitter + 1)
                          : 0);
  }
  for (int signum : {SIGTERM, SIGUSR1}) {  // INT and QUIT end the process at once (master.cc)
    auto& handle = signals_.emplace_back(std::make_unique<uv_signal_t>());
    uv_signal_init(&loop_, handle.get());
    handle->data = this;
    uv_signal_start(handle.get(), WorkerCallbacks::onSignal, signum);
  }
  Log::reopen();  // a USR1 that came while this worker booted (and ignored it) is not lost
  uv_timer_init(&loop_, &heartbeat_);
  heartbeat_.data = this;
  uv_timer_start(&heartbeat_, WorkerCallbacks::onHeartbeat, kHeartbeatMs, kHeartbeatMs);
  uv_timer_init(&loop_, &deadline_);
  deadline_.data = this;
  uv_timer_init(&loop_, &accept_timer_);
  accept_timer_.data = this;
  balance_.findPeers();

  slot_.ready.store(true);
  ::kill(master_, SIGCHLD);  // wakes the master: a predecessor may now stop (rotateWorkers)
  uv_run(&loop_, UV_RUN_DEFAULT);

  const bool threads_done = runner_->stop();  // closes its own async handle
  uv_walk(&loop_, WorkerCallbacks::onWalkClose, nullptr);
  uv_run(&loop_, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop_) != 0 || !threads_done) {
    // A stuck app thread may hold the GIL: finalising Python could hang. Leave at once.
    logAt(LogLevel::Warning, "worker exiting with application threads still running");
    Log::stopWriter();
    std::_Exit(0);
  }
  python_->app.reset();
  python_->interpreter.reset();  // finalizes Python: the app's atexit handlers run
  return 0;
}

bool Worker::listen() {
  for (const Listener& l : listeners_) {
    auto socket = std::make_unique<ListenSocket>();
    socket->listener = &l;
    socket->worker = this;
    const int rc = uv_poll_init_socket(&loop_, &socket->poll, l.fd);
    socket->poll.data = socket.get();
    if (rc != 0) {
      logAt(LogLevel::Error, "cannot listen on {}: {}", l.name, uv_strerror(rc));
      return false;
    }
    sockets_.push_back(std::move(socket));
  }
  resumeAccepting();
  return true;
}

void Worker::pauseAccepting() {
  for (auto& socket : sockets_) {
    uv_poll_stop(&socket->poll);
  }
}

void Worker::resumeAccepting() {
  if (stopping_ || full_) {
    return;
  }
  for (auto& socket : sockets_) {
    uv_poll_start(&socket->poll, UV_READABLE, WorkerCallbacks::onListenable);
  }
}

void Worker::handleListenable(ListenSocket& socket, int status) {
  if (status < 0) {
    logAt(LogLevel::Warning, "polling {} failed: {}", socket.listener->name, uv_strerror(status));
    return;
  }
  // Readable: a client waits, unless a peer was quicker. Beyond its share of the connections
  // held, a worker may still take part of a burst still in the queue (accept_balance.h): the
  // queue's length is asked of the kernel only then, so a trickle of clients costs no extra
  // system calls.
  size_t waiting = 1;
  bool counted = false;
  const auto withinShare = [&] {
    const bool within = balance_.withinShare(connections_.size(), waiting);
    if (within || counted) {
      return within;
    }
    counted = true;
    const std::optional<ListenQueue> queue = listenQueue(*socket.listener);
    waiting = queue ? std::max<size_t>(queue->waiting, 1) : 1;
    return balance_.withinShare(connections_.size(), waiting);
  };
  withinShare();  // counts the queue if needed; mayAccept() decides, with the stall rule
  if (!balance_.mayAccept(connections_.size(), waiting, static_cast<int64_t>(uv_now(&loop_)))) {
    pauseAccepting();  // clients stay in the kernel's queue, for a peer to take
    uv_timer_start(&accept_timer_, WorkerCallbacks::onAcceptTimer, kAcceptRecheckMs, 0);
    return;
  }
  if (full()) {
    return;
  }
  // Clients that arrive meanwhile are not counted: the next loop turn asks again.
  while (acceptOne(socket) && connections_.size() < max_connections_) {
    waiting = waiting > 1 ? waiting - 1 : 1;
    if (!withinShare()) {
      break;
    }
  }
}

bool Worker::full() {
  if (connections_.size() >= max_connections_ && !closeAnIdleConnection()) {
    // The client waits in the kernel's listen queue, where another worker with room may
    // take it; this one polls again once one of its connections has closed.
    full_ = true;
    pauseAccepting();
    const int64_t now = Scoreboard::nowMs();
    if (now - full_warned_ms_ >= kFullWarningIntervalMs) {
      full_warned_ms_ = now;
      logAt(LogLevel::Warning,
            "{} connections open, none idle: --worker-connections is not enough; new clients "
            "wait in the listen queue",
            connections_.size());
    }
    return true;
  }
  return false;
}

bool Worker::acceptOne(ListenSocket& socket) {
  const int fd = ::accept4(socket.listener->fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM) {
      pauseAccepting();  // else the still readable socket would wake the loop at once
      uv_timer_start(&accept_timer_, WorkerCallbacks::onAcceptTimer, kNoFilesPauseMs, 0);
    }
    const int64_t now = Scoreboard::nowMs();
    if (error != EAGAIN && error != ECONNABORTED && error != EINTR &&
        now - full_warned_ms_ >= kFullWarningIntervalMs) {
      full_warned_ms_ = now;
      logAt(LogLevel::Warning, "accept on {} failed: {}", socket.listener->name,
            std::strerror(error));
    }
    return false;
  }
  auto* connection = new Connection(*this, *socket.listener);  // deletes itself when closed
  connections_.insert(connection);
  slot_.counters.connections.store(static_cast<int64_t>(connections_.size()));
  connection->accept(fd);
  return true;
}

bool Worker::closeAnIdleConnection() {
  for (Connection* c : connections_) {
    if (c->idle()) {
      c->close();  // leaves connections_ in its close callback
      return true;
    }
  }
  return false;
}

void Worker::connectionClosed(Connection* connection) {
  connections_.erase(connection);
  slot_.counters.connections.store(static_cast<int64_t>(connections_.size()));
  if (full_) {
    full_ = false;
    resumeAccepting();
  }
  stopIfDrained();
}

void Worker::stopIfDrained() {
  if (stopping_ && std::all_of(connections_.begin(), connections_.end(),
                               [](const Connection* c) { return c->abandoned(); })) {
    stopNow();
  }
}

void Worker::withdrawAnswer(int fd) {
  for (RequestRecord& record : slot_.requests) {
    record.withdrawAnswer(fd);
  }
}

void Worker::requestTimedOut() {
  askToRetire("had a request run past --timeout", RestartCause::Timeout);
}

void Worker::handleSignal(int signum) {
  if (signum == SIGUSR1) {
    Log::reopen();
  } else {
    stopGracefully();
  }
}

void Worker::requestDone() {
  if (++served_ == request_limit_) {
    askToRetire(fmt::format("served {} requests (--max-requests)", served_),
                RestartCause::MaxRequests);
  }
}

void Worker::askToRetire(std::string_view why, RestartCause cause) {
  if (!slot_.retire.load()) {
    slot_.retire_cause.store(cause);  // read by the master once it sees retire
    slot_.retire.store(true);
    logAt(LogLevel::Info, "worker {}; asking for a replacement", why);
    ::kill(master_, SIGCHLD);  // "a child changed": the master looks at its workers now
  }
}

void Worker::handleHeartbeat() {
  const int64_t now = Scoreboard::nowMs();
  slot_.heartbeat_ms.store(now);
  if (config_.timeout > 0 && config_.threads > 1) {
    // With --threads 1 the master times the calls: this loop is the one that would be stuck.
    runner_->checkOverdue(now - static_cast<int64_t>(config_.timeout * 1000));
  }
  stopIfDrained();
  balance_.findPeers();  // workers started since, after HUP, TTIN or a restart
  if (gate_ != nullptr) {
    gate_->refresh(::time(nullptr));  // the master's new JWT keys, also while idle
  }
  if (config_.max_worker_memory > 0) {
    const long long rss_mib = residentMiB();
    if (rss_mib > config_.max_worker_memory) {
      askToRetire(
          fmt::format("uses {} MiB (--max-worker-memory {})", rss_mib, config_.max_worker_memory),
          RestartCause::MaxWorkerMemory);
    }
  }
  if (::getppid() != master_) {
    logAt(LogLevel::Warning, "master (pid {}) is gone; worker stopping", master_);
    stopGracefully();
  }
}

void Worker::stopGracefully() {
  if (stopping_) {
    return;
  }
  stopping_ = true;
  for (auto& socket : sockets_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&socket->poll), nullptr);
    // Clients in the kernel's queue have sent their requests: the close of the socket's last
    // copy would reset them, and a proxy never sends a POST twice. They are served, beyond
    // --worker-connections if need be, each with Connection: close.
    while (acceptOne(*socket)) {
    }
    ::close(socket->listener->fd);  // this process's copy: the master keeps the socket
  }
  uv_timer_start(&deadline_, WorkerCallbacks::onDeadline,
                 static_cast<uint64_t>(config_.graceful_timeout * 1000), 0);
  const std::vector<Connection*> open(connections_.begin(), connections_.end());
  for (Connection* c : open) {
    c->closeWhenIdle();
  }
  stopIfDrained();
}

void Worker::stopNow() {
  stopping_ = true;
  const std::vector<Connection*> open(connections_.begin(), connections_.end());
  for (Connection* c : open) {
    c->close();
  }
  uv_stop(&loop_);
}

}  // namespace appserver::server
