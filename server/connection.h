// connection.h: one accepted client connection inside a worker.
//
// Reads from the socket into the worker's shared read buffer and feeds the HttpParser;
// each complete request (head and whole body) goes to the AppRunner, and the response is
// written back: head and first body bytes in one writev, then more body as fast as the
// client reads it (the app's iterable is pulled only after the previous write finished),
// or a file with sendfile. The --health-path and --static prefixes are answered here
// without the app (and, unless --jwt-protect names a static prefix, without the JWT gate).
// One request at a time, in order; pipelined bytes wait in pending_ (reading pauses while
// it holds more than a bound). Owns its socket handle and its timer and deletes itself in
// the last close callback (docs/architecture.md#ownership).
// Thread: the worker's loop thread, except runJob(), which runs where the AppRunner says.
#pragma once

#include <uv.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
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

  // Takes over fd, a client socket just accepted, and starts reading. Returns a libuv
  // error code (the connection then closes, fd with it).
  int accept(int fd);
  // Closes at once: drops pending writes, releases the app's iterable. Idempotent.
  void close();
  // Graceful worker stop: close now if between requests, else after the current response.
  void closeWhenIdle();
  // A kept-alive connection waiting for its next request, with nothing of it read yet:
  // the one to close when the worker runs out of connections (nginx does the same).
  bool idle() const {
    return state_ == State::Open && phase_ == Phase::Waiting && served_one_ && pending_.empty();
  }

  // The current request's id (request_id.h): set when its head and body are through, ""
  // until then and between requests.
  std::string_view requestId() const { return request_id_; }

  void runJob() override;
  void jobDone() override;
  void jobExpired() override;
  int64_t waitedMs() const override;
  RequestRecord::Facts describe() override;
  // Answers 504 (or, once the response has begun, cuts it), logs the request with the stack
  // of the thread running it, and has the worker replaced.
  void jobOverdue(uint64_t python_thread) override;
  // Closed, but for the app's call past --timeout (jobOverdue()), which may never return.
  bool abandoned() const { return timed_out_ && state_ == State::Closing; }

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
  // --proxy-protocol: takes the PROXY header from the start of the connection (data: the
  // latest read). Returns the bytes after the header, or nothing while it is incomplete or
  // when it was invalid (the connection is then closed).
  std::optional<std::string_view> takeProxyHeader(std::string_view data);
  void startTls();
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
  // 503 with Retry-After: the request could not start in time (app_runner.h).
  void shed(ShedReason reason);
  // A response is complete: its status and duration go to the worker's counters.
  void countResponse(int status);
  // A path under a --static prefix: the StaticFiles answer, its file sent with sendfile.
  void serveStatic();
  void respond();
  // Releases the app's call (PEP 3333: close() the iterable) and logs what close() raised.
  void endCall();
  void sendMore();
  void sendFile();
  // One block of the file through write(): when the socket is full, and always under TLS.
  void sendFileBlock();
  void finishResponse();
  void startNextRequest();
  void refuse(int status, std::string_view reason);
  void linger();
  void write(std::initializer_list<std::string_view> pieces);
  // Writes bufs with uv_try_write; true when all went out. Spares the EPOLL_CTL_MOD that
  // libuv makes after every completed uv_write (it stops watching for POLLOUT even when it
  // never started). After a partial write, bufs and n hold what is left.
  bool writeAtOnce(uv_buf_t bufs[], unsigned& n);
  // handleWriteDone for a write that completed inside write(). Finishing one response may
  // serve a pipelined request whose answer also completes at once: that one is finished by
  // the loop of the outermost call, not by recursion.
  void completeWrite();
  // The socket calls, through the TlsStream when the connection is TLS.
  void startReading();
  void stopReading();
  int send(uv_write_t* req, const uv_buf_t bufs[], unsigned nbufs, uv_write_cb cb);
  // The connection's one deadline (header, body, write, keep-alive or linger), seconds from
  // now; disarmTimer() drops it.
  void armTimer(double seconds);
  void disarmTimer();
  // The libuv timer fired: the deadline has passed (handleTimeout) or was moved later.
  void handleTimer();
  // Adds X-Request-ID after the status line of a response the server made.
  void addRequestId(std::string& response) const;
  void logAccess(int status);

  Worker& worker_;
  const Listener& listener_;
  union {
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  } socket_;
  uv_timer_t timer_;
  uint64_t deadline_ = 0;  // loop time in ms at which handleTimeout() runs; 0 for none
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
  bool in_flight_ = false;  // dispatched and not yet answered (WorkerCounters::in_flight)
  bool in_app_ = false;     // the AppRunner holds this connection's job: it may not close yet
  bool timed_out_ = false;  // the app overran --timeout: its late result is dropped
  bool completing_ = false;       // completeWrite() is on the stack
  bool completed_again_ = false;  // a write completed at once under completeWrite()
  int sync_writes_ = 0;           // writes completed at once since completeWrite() began
  int socket_fd_ = -1;      // for a 504 written outside the loop (abort_handler.h)
  std::string request_id_;

  bool awaiting_proxy_ = false;  // --proxy-protocol: the header has not been read yet
  std::string proxy_header_;     // its bytes from reads before the last, while incomplete
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
