// worker.h: one worker process: its loop, its listeners, its connections and its app.
//
// Created in the child right after fork(). Starts Python, imports the app, adopts the
// inherited listening sockets and serves until told to stop: TERM stops accepting and lets
// in-flight requests finish (bounded by --graceful-timeout); INT and QUIT end the process
// at once (their handler is set by the master right after fork). A
// worker whose master disappears stops gracefully by itself, so none outlives its master.
// Thread: the loop thread (the app pool threads live inside AppRunner).
#pragma once

#include <uv.h>

#include <memory>
#include <unordered_set>
#include <vector>

#include "accept_balance.h"
#include "app_runner.h"
#include "auth_gate.h"
#include "config.h"
#include "embed/interpreter.h"
#include "embed/wsgi_app.h"
#include "forwarded.h"
#include "http_parser.h"
#include "listener.h"
#include "request_id.h"
#include "scoreboard.h"
#include "static_files.h"
#include "tls_context.h"

namespace appserver::server {

class Connection;

// The interpreter and the app of a process: a worker's own, started after fork, or with
// --preload the master's, which every worker inherits.
struct PythonApp {
  // Starts Python and imports config.app; on failure app is null and error holds the
  // traceback. preload: the master's, frozen for its children (embed/interpreter.h).
  static PythonApp load(const Config& config, bool preload);

  std::unique_ptr<embed::Interpreter> interpreter;
  std::unique_ptr<embed::WsgiApp> app;  // declared last: released before the interpreter
  std::string error;
};

// Exit statuses a worker reports to its master (Gunicorn's contract).
constexpr int kExitBootError = 3;     // the worker could not start: the master halts
constexpr int kExitAppLoadError = 4;  // the app could not be imported: the master halts
constexpr int kExitTimedOut = 5;      // the master aborted it for --timeout (abort_handler.h)

class Worker {
 public:
  // slot: this worker's scoreboard slot (in scoreboard), stamped by the heartbeat; the
  // other slots tell how many connections the peers hold. gate: the JWT check, or
  // null when it is off (the worker's copy after fork: its token cache is its own). tls:
  // the TLS context of every listener, or null when TLS is off. preloaded: the master's app
  // (--preload), or null to start Python here.
  Worker(const Config& config, const std::vector<Listener>& listeners, pid_t master,
         const Scoreboard& scoreboard, WorkerSlot& slot, AuthGate* gate, const TlsContext* tls,
         PythonApp* preloaded);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Serves until stopped. Returns the process exit status.
  int run();

  uv_loop_t* loop() { return &loop_; }
  const Config& config() const { return config_; }
  const HttpLimits& httpLimits() const { return limits_; }
  std::vector<char>& readBuffer() { return read_buffer_; }
  embed::WsgiApp& app() { return *python_->app; }
  AppRunner& runner() { return *runner_; }
  AuthGate* authGate() { return gate_; }
  // The TLS context of every connection, or null when TLS is off.
  const TlsContext* tls() const { return tls_; }
  // The --static mounts, or null when there are none.
  const StaticFiles* staticFiles() const { return static_files_.get(); }
  const ForwardedPolicy& forwarded() const { return forwarded_; }
  // With --proxy-protocol, the peers allowed to send the PROXY header; null without.
  const ForwardedPolicy* proxyPeers() const {
    return config_.proxy_protocol ? &proxy_peers_ : nullptr;
  }
  // This worker's counters for /metrics, in its scoreboard slot.
  WorkerCounters& counters() { return slot_.counters; }
  RequestIds& requestIds() { return request_ids_; }
  // The loop has answered the request on fd itself: no RequestRecord offers fd any more.
  void withdrawAnswer(int fd);
  // A request ran past --timeout (Connection::jobOverdue): asks for a replacement.
  void requestTimedOut();
  bool stopping() const { return stopping_; }
  // A response is complete: counts it toward --max-requests.
  void requestDone();
  void connectionClosed(Connection* connection);

 private:
  friend struct WorkerCallbacks;
  // A listening socket, polled for clients: accept4() here takes one at a time, so that a
  // worker can leave clients in the kernel's queue for its peers (accept_balance.h).
  struct ListenSocket {
    uv_poll_t poll;
    const Listener* listener;
    Worker* worker;
  };

  bool listen();
  // Clients wait on socket: accepts them while this worker is within its share, or leaves
  // them in the queue for now.
  void handleListenable(ListenSocket& socket, int status);
  // --worker-connections reached and no idle connection to close: stops accepting.
  bool full();
  // Accepts one client into a new Connection; false when none was waiting or accept failed.
  bool acceptOne(ListenSocket& socket);
  // Stops polling the listening sockets; resumeAccepting() starts again, unless the
  // worker stops or is full.
  void pauseAccepting();
  void resumeAccepting();
  // Closes one idle keep-alive connection to make room for a new one; false if none is.
  bool closeAnIdleConnection();
  void handleSignal(int signum);
  void handleHeartbeat();
  // Asks the master for a replacement (once); this worker serves on until it gets TERM.
  void askToRetire(std::string_view why, RestartCause cause);
  void stopGracefully();
  // A stopping worker stops once no connection is left but those closed except for an app
  // call past --timeout (Connection::abandoned()), which may never return.
  void stopIfDrained();
  void stopNow();

  const Config& config_;
  const std::vector<Listener>& listeners_;
  pid_t master_;
  WorkerSlot& slot_;
  AuthGate* gate_;
  const TlsContext* tls_;
  HttpLimits limits_;
  ForwardedPolicy forwarded_;
  ForwardedPolicy proxy_peers_;  // --proxy-allow-from (only its trusts() is used)
  RequestIds request_ids_;
  uv_loop_t loop_{};
  std::vector<std::unique_ptr<ListenSocket>> sockets_;
  std::vector<std::unique_ptr<uv_signal_t>> signals_;
  uv_timer_t heartbeat_{};
  uv_timer_t deadline_{};
  uv_timer_t accept_timer_{};  // resumes accepting after a pause
  AcceptBalance balance_;
  bool full_ = false;  // --worker-connections reached: accepting resumes when one closes
  std::vector<char> read_buffer_;
  std::unordered_set<Connection*> connections_;  // open and closing ones
  size_t max_connections_ = 0;                   // --worker-connections
  int64_t full_warned_ms_ = 0;                   // when "not enough" was last logged
  std::unique_ptr<StaticFiles> static_files_;
  PythonApp* python_;  // the master's (--preload) or own_python_
  PythonApp own_python_;
  std::unique_ptr<AppRunner> runner_;
  bool stopping_ = false;
  uint64_t served_ = 0;
  uint64_t request_limit_ = 0;  // --max-requests plus this worker's jitter; 0: none
};

}  // namespace appserver::server
