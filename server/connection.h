// connection.h: one accepted client connection inside a worker.
//
// Reads from the socket into the worker's shared read buffer and feeds the HttpParser;
// each complete request (head and whole body) goes to the AppRunner, and the response is
// written back: head and first body bytes in one writev, then more body as fast as the
// client reads it (the app's iterable is pulled only after the previous write finished),
// or a file with sendfile. The --health-path and --static prefixes are answered here
// without the app (and, unless --jwt-protect names a static prefix, without the JWT gate).
// One request at a time, in order; pipelined bytes wait in pending_. Owns its socket handle and its timer and deletes itself in the last close
// callback (docs/architecture.md#ownership).
// Thread: the worker's loop thread, except runJob(), which runs where the AppRunner says.
#pragma once

#include <uv.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "app_runner.h"
#include "embed/wsgi_app.h"
#include "http_parser.h"
#include "http_response.h"
#include "tls_stream.h"
#include "unique_fd.h"

namespace appserver::server {

class Worker;
struct Listener;

class Connection : public AppJob, private TlsStream::Reader {
 public:
  Connection(Worker& worker, const Listener& listener);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Accepts the next client of server and starts reading. Returns a libuv error code.
  int accept(uv_stream_t* server);
  // Closes at once: drops pending writes, releases the app's iterable. Idempotent.
  void close();
  // Graceful worker stop: close now if between requests, else after the current response.
  void closeWhenIdle();
  // A kept-alive connection waiting for its next request, with nothing of it read yet:
  // the one to close when the worker runs out of connections (nginx does the same).
  bool idle() const {
    return state_ == State::Open && phase_ == Phase::Waiting && served_one_ && pending_.empty();
  }

  void runJob() override;
  void jobDone() override;

 private:
  friend struct ConnectionCallbacks;
  enum class State { Open, Closing, Closed };
  enum class Phase {
    Waiting,    // between requests (or before the first): nothing of a request yet
    Receiving,  // a request has begun: head or body being read
    Calling,    // the app runs (start or pull) for the current request
    Writing,    // a response write is in flight
    Lingering,  // the last response is out; draining input until EOF before closing
  };

  ~Connection() override;
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&socket_); }

  void handleRead(ssize_t nread, const uv_buf_t* buf);
  // Bytes the client sent, decrypted when the connection is TLS (nread < 0: the end or a
  // failure, as in uv_read_cb).
  void handleInput(ssize_t nread, const uv_buf_t* buf);
  bool tlsReading() const override { return reading_; }
  void tlsRead(ssize_t nread, const uv_buf_t* buf) override { handleInput(nread, buf); }
  void handleWriteDone(int status);
  void handleTimeout();
  void handleClosed();

  void feed(std::string_view data);
  void afterParse(HttpParser::Result result, std::string_view rest);
  void dispatch();
  // Applies the JWT gate; false when the gate answered the request itself.
  bool admit();
  // Sends a complete response the server made, then goes on as after any response.
  void answer(int status, std::string response);
  // --health-path: 200 for GET and HEAD, 405 otherwise.
  void answerHealth();
  // A path under a --static prefix: the StaticFiles answer, its file sent with sendfile.
  void serveStatic();
  void respond();
  void sendMore();
  void sendFile();
  // One block of the file through write(): when the socket is full, and always under TLS.
  void sendFileBlock();
  void finishResponse();
  void startNextRequest();
  void refuse(int status, std::string_view reason);
  void linger();
  void write(std::initializer_list<std::string_view> pieces);
  // The socket calls, through the TlsStream when the connection is TLS.
  void startReading();
  void stopReading();
  int send(uv_write_t* req, const uv_buf_t bufs[], unsigned nbufs, uv_write_cb cb);
  void armTimer(double seconds);
  void logAccess(int status);

  Worker& worker_;
  const Listener& listener_;
  union {
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  } socket_;
  uv_timer_t timer_;
  uv_write_t write_req_;
  uv_write_t continue_req_;
  uv_shutdown_t shutdown_req_;
  std::unique_ptr<TlsStream> tls_;  // null on a plain connection
  State state_ = State::Open;
  Phase phase_ = Phase::Waiting;
  int open_handles_ = 0;
  bool served_one_ = false;     // a request was answered (the keep-alive timeout applies)
  bool close_after_ = false;    // the connection ends after the current response
  bool continue_sent_ = false;  // "100 Continue" went out for the current request
  bool reading_ = false;
  bool refusing_ = false;  // the response in flight refuses a request: close after it

  std::string remote_addr_;
  std::string claims_json_;  // verified JWT claims of the current request, or ""
  std::string client_addr_;  // REMOTE_ADDR: the peer, or the client a trusted proxy names
  std::string_view url_scheme_ = "http";
  std::pair<std::string, std::string> remote_user_{"REMOTE_USER", ""};
  int remote_port_ = 0;
  std::string pending_;  // bytes read but not yet parsed (pipelined requests)
  HttpParser parser_;
  embed::WsgiCall call_;
  bool call_started_ = false;  // runJob() starts the call (else it pulls)

  std::string out_;       // the head and framing of the write in flight
  std::string out_body_;  // body bytes of the write in flight (taken from the call)
  ResponseFraming framing_;
  uint64_t body_sent_ = 0;  // body bytes sent for the current response
  int file_fd_ = -1;       // the file sendFile() sends: the app's file_wrapper, or static_file_
  UniqueFd static_file_;  // the --static file of the current response
  int64_t file_offset_ = 0;
  int64_t file_left_ = 0;
  std::chrono::steady_clock::time_point started_;
  std::chrono::system_clock::time_point started_wall_;
};

}  // namespace appserver::server
