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

#include "app_runner.h"
#include "auth_gate.h"
#include "config.h"
#include "embed/wsgi_app.h"
#include "forwarded.h"
#include "http_parser.h"
#include "listener.h"
#include "scoreboard.h"
#include "static_files.h"
#include "tls_context.h"

namespace appserver::server {

class Connection;

// Exit statuses a worker reports to its master (Gunicorn's contract).
constexpr int kExitBootError = 3;     // the worker could not start: the master halts
constexpr int kExitAppLoadError = 4;  // the app could not be imported: the master halts

class Worker {
 public:
  // slot: this worker's scoreboard slot, stamped by the heartbeat. gate: the JWT check, or
  // null when it is off (the worker's copy after fork: its token cache is its own). tls:
  // the TLS context of every listener, or null when TLS is off.
  Worker(const Config& config, const std::vector<Listener>& listeners, pid_t master,
         WorkerSlot& slot, AuthGate* gate, const TlsContext* tls);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Serves until stopped. Returns the process exit status.
  int run();

  uv_loop_t* loop() { return &loop_; }
  const Config& config() const { return config_; }
  const HttpLimits& httpLimits() const { return limits_; }
  std::vector<char>& readBuffer() { return read_buffer_; }
  embed::WsgiApp& app() { return *app_; }
  AppRunner& runner() { return *runner_; }
  AuthGate* authGate() { return gate_; }
  // The TLS context of every connection, or null when TLS is off.
  const TlsContext* tls() const { return tls_; }
  // The --static mounts, or null when there are none.
  const StaticFiles* staticFiles() const { return static_files_.get(); }
  const ForwardedPolicy& forwarded() const { return forwarded_; }
  bool stopping() const { return stopping_; }
  // A response is complete: counts it toward --max-requests.
  void requestDone();
  void connectionClosed(Connection* connection);

 private:
  friend struct WorkerCallbacks;
  struct ListenSocket {
    union {
      uv_tcp_t tcp;
      uv_pipe_t pipe;
    } handle;
    const Listener* listener;
    Worker* worker;
    bool waiting = false;  // a client is left unaccepted until a connection closes
  };

  bool listen();
  void handleConnection(ListenSocket& socket, int status);
  // Closes one idle keep-alive connection to make room for a new one; false if none is.
  bool closeAnIdleConnection();
  void handleSignal(int signum);
  void handleHeartbeat();
  // Asks the master for a replacement (once); this worker serves on until it gets TERM.
  void askToRetire(std::string_view why);
  void stopGracefully();
  void stopNow();

  const Config& config_;
  const std::vector<Listener>& listeners_;
  pid_t master_;
  WorkerSlot& slot_;
  AuthGate* gate_;
  const TlsContext* tls_;
  HttpLimits limits_;
  ForwardedPolicy forwarded_;
  uv_loop_t loop_{};
  std::vector<std::unique_ptr<ListenSocket>> sockets_;
  std::vector<std::unique_ptr<uv_signal_t>> signals_;
  uv_timer_t heartbeat_{};
  uv_timer_t deadline_{};
  std::vector<char> read_buffer_;
  std::unordered_set<Connection*> connections_;  // open and closing ones
  size_t max_connections_ = 0;                   // --worker-connections
  int64_t full_warned_ms_ = 0;                   // when "not enough" was last logged
  std::unique_ptr<StaticFiles> static_files_;
  std::unique_ptr<embed::WsgiApp> app_;
  std::unique_ptr<AppRunner> runner_;
  bool stopping_ = false;
  uint64_t served_ = 0;
  uint64_t request_limit_ = 0;  // --max-requests plus this worker's jitter; 0: none
};

}  // namespace appserver::server
