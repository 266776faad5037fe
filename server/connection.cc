// connection.cc: the life of a client connection: read, parse, call, write, repeat.
//
// Thread: the worker's loop thread (runJob() excepted, see connection.h).
#include "connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "check.h"
#include "embed/interpreter.h"
#include "listener.h"
#include "log.h"
#include "proxy_protocol.h"
#include "static_files.h"
#include "tls_context.h"
#include "worker.h"

namespace appserver::server {

namespace {

constexpr double kLingerSeconds = 2;     // draining input after the last response
constexpr double kStopGraceSeconds = 1;  // a graceful stop waits this long for a request
constexpr size_t kFileBlock = 65536;     // bytes of a file copied through one write()
// Bytes of later requests buffered while one is served: beyond, reading pauses until the
// client's turn comes, so a client that pipelines faster than the app answers is held back.
constexpr size_t kPipelineLimit = 65536;
// Pipelined responses finished at once in a row before one waits for the loop's next turn,
// so that a client pipelining many requests cannot keep the worker's other clients waiting.
constexpr int kSyncWriteBurst = 16;
constexpr std::string_view kChunkThenLast = "\r\n0\r\n\r\n";
// The access log's status for a request whose connection ended before its response was
// complete (nginx's "client closed request").
constexpr int kClosedBeforeResponse = 499;

Connection& owner(void* data) { return *static_cast<Connection*>(data); }

// The kernel's TCP_INFO for a TCP connection's socket; false if it cannot be had.
bool tcpInfo(const uv_stream_t* stream, tcp_info& info) {
  uv_os_fd_t fd = -1;
  socklen_t len = sizeof(info);
  return uv_fileno(reinterpret_cast<const uv_handle_t*>(stream), &fd) == 0 &&
         ::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0;
}

}  // namespace

// The C trampolines libuv calls; each forwards to the connection's handle<Event>.
struct ConnectionCallbacks {
  static void onAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
    Worker& worker = owner(handle->data).worker_;
    *buf = uv_buf_init(worker.readBuffer().data(), worker.readBuffer().size());
  }
  static void onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    owner(stream->data).handleRead(nread, buf);
  }
  static void onWriteDone(uv_write_t* req, int status) { owner(req->data).handleWriteDone(status); }
  static void onContinueDone(uv_write_t* req, int status) {
    if (status < 0 && status != UV_ECANCELED) {
      owner(req->data).close();
    }
  }
  static void onShutdown(uv_shutdown_t*, int) {}
  static void onTimer(uv_timer_t* timer) { owner(timer->data).handleTimer(); }
  static void onClose(uv_handle_t* handle) { owner(handle->data).handleClosed(); }
};

Connection::Connection(Worker& worker, const Listener& listener)
    : worker_(worker),
      listener_(listener),
      parser_(worker.httpLimits(), static_cast<uint64_t>(worker.config().body_memory_limit),
              worker.config().worker_tmp_dir) {
  if (listener.kind == Listener::Kind::Tcp) {
    uv_tcp_init(worker.loop(), &socket_.tcp);
  } else {
    uv_pipe_init(worker.loop(), &socket_.pipe, 0);
  }
  uv_timer_init(worker.loop(), &timer_);
  open_handles_ = 2;
  socket_.tcp.data = this;  // uv_handle_t's data is at the same place in both members
  timer_.data = this;
  write_req_.data = this;
  continue_req_.data = this;
}

Connection::~Connection() { APPSERVER_ASSERT(state_ == State::Closed); }

int Connection::accept(int fd) {
  const int rc = listener_.kind == Listener::Kind::Tcp ? uv_tcp_open(&socket_.tcp, fd)
                                                       : uv_pipe_open(&socket_.pipe, fd);
  if (rc != 0) {
    ::close(fd);  // not the handle's
    close();
    return rc;
  }
  uv_fileno(reinterpret_cast<const uv_handle_t*>(stream()), &socket_fd_);
  if (listener_.kind == Listener::Kind::Tcp) {
    uv_tcp_nodelay(&socket_.tcp, 1);
    if (tcp_info info{}; tcpInfo(stream(), info)) {
      // The clock of the last data sent starts when the connection is established; nothing
      // was sent since, so it tells how long the connection waited in the listen queue.
      worker_.counters().accept_wait.observe(std::chrono::milliseconds(info.tcpi_last_data_sent));
    }
    sockaddr_storage peer{};
    int len = sizeof(peer);
    if (uv_tcp_getpeername(&socket_.tcp, reinterpret_cast<sockaddr*>(&peer), &len) == 0) {
      char text[64] = "";
      if (peer.ss_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&peer);
        uv_ip6_name(in6, text, sizeof(text));
        remote_port_ = ntohs(in6->sin6_port);
      } else {
        const auto* in = reinterpret_cast<const sockaddr_in*>(&peer);
        uv_ip4_name(in, text, sizeof(text));
        remote_port_ = ntohs(in->sin_port);
      }
      remote_addr_ = text;
    }
  }
  client_addr_ = remote_addr_;
  if (const ForwardedPolicy* proxies = worker_.proxyPeers(); proxies != nullptr) {
    if (!remote_addr_.empty() && !proxies->trusts(remote_addr_)) {
      logAt(LogLevel::Debug, "{} may not send a PROXY header (--proxy-allow-from); closing",
            remote_addr_);
      close();
      return 0;
    }
    awaiting_proxy_ = true;  // TLS starts after the header, which comes before the handshake
  } else {
    startTls();
  }
  startNextRequest();
  return 0;
}

void Connection::startTls() {
  if (const TlsContext* tls = worker_.tls(); tls != nullptr) {
    TlsStream::Reader& reader = *this;
    tls_ = std::make_unique<TlsStream>(*tls, stream(), reader, remote_addr_);
  }
}

std::optional<std::string_view> Connection::takeProxyHeader(std::string_view data) {
  const size_t earlier = proxy_header_.size();  // bytes of the header from earlier reads
  if (earlier > 0) {
    proxy_header_.append(data);
  }
  const ProxyProtocol::Result r = ProxyProtocol::parse(earlier > 0 ? proxy_header_ : data);
  switch (r.status) {
    case ProxyProtocol::Status::NeedMore:
      if (earlier == 0) {
        proxy_header_.assign(data);
      }
      return std::nullopt;
    case ProxyProtocol::Status::Invalid:
      logAt(LogLevel::Debug, "no valid PROXY header from {}; closing", remote_addr_);
      close();
      return std::nullopt;
    case ProxyProtocol::Status::Done:
      break;
  }
  awaiting_proxy_ = false;
  std::string().swap(proxy_header_);
  if (!r.address.empty()) {
    remote_addr_ = r.address;
    remote_port_ = r.port;
    client_addr_ = remote_addr_;
  }
  startTls();
  return data.substr(r.length - earlier);
}

void Connection::close() {
  if (state_ != State::Open) {
    return;
  }
  state_ = State::Closing;
  if (in_app_) {
    return;  // the app still uses this connection's call: jobDone() finishes the close
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), ConnectionCallbacks::onClose);
  uv_close(reinterpret_cast<uv_handle_t*>(stream()), ConnectionCallbacks::onClose);
}

void Connection::closeWhenIdle() {
  close_after_ = true;
  if (phase_ == Phase::Waiting) {
    // Not at once: a request may be on its way (a client that just connected); it is served
    // with Connection: close, and a silent connection closes when the grace ends.
    armTimer(kStopGraceSeconds);
  }
}

void Connection::handleClosed() {
  if (--open_handles_ > 0) {
    return;
  }
  state_ = State::Closed;
  if (in_flight_ || (phase_ == Phase::Receiving && parser_.headComplete())) {
    logAccess(kClosedBeforeResponse);  // the app is done with the call: its headers are safe
  }
  if (in_flight_) {
    bump<int64_t>(worker_.counters().in_flight, -1);  // closed before its answer was out
  }
  endCall();  // also when the client went away
  worker_.connectionClosed(this);
  delete this;
}

void Connection::armTimer(double seconds) {
  const auto ms = static_cast<uint64_t>(seconds * 1000);
  deadline_ = uv_now(worker_.loop()) + ms;
  // The libuv timer only ever runs early: a later deadline (the next keep-alive, set once per
  // request) is found when it fires, which spares a timer heap update per request.
  if (const uint64_t due = uv_timer_get_due_in(&timer_); due == 0 || due > ms) {
    uv_timer_start(&timer_, ConnectionCallbacks::onTimer, ms, 0);
  }
}

void Connection::disarmTimer() { deadline_ = 0; }

void Connection::handleTimer() {
  if (deadline_ == 0) {
    return;
  }
  if (const uint64_t now = uv_now(worker_.loop()); now < deadline_) {
    uv_timer_start(&timer_, ConnectionCallbacks::onTimer, deadline_ - now, 0);
    return;
  }
  deadline_ = 0;
  handleTimeout();
}

void Connection::handleTimeout() {
  switch (phase_) {
    case Phase::Receiving:
      if (parser_.inMessage()) {
        refuse(408, "request timeout");
        return;
      }
      close();
      return;
    case Phase::Waiting:
      if (char byte; ::recv(socket_fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0) {
        // A request came as the idle time ran out; this loop turn's read takes it. Closing
        // now would reset the connection under it, and a proxy that reuses connections
        // (nginx's upstream keepalive) would answer 502 for a request it cannot retry.
        armTimer(worker_.config().header_timeout);
        return;
      }
      close();
      return;
    case Phase::Writing:  // the client stopped reading
    case Phase::Lingering:
    case Phase::Calling:
      close();
      return;
  }
}

void Connection::handleRead(ssize_t nread, const uv_buf_t* buf) {
  uv_buf_t after_header;
  if (awaiting_proxy_ && nread != 0) {
    if (nread < 0) {
      close();  // gone before its PROXY header was through: nothing to answer
      return;
    }
    const std::optional<std::string_view> rest =
        takeProxyHeader({buf->base, static_cast<size_t>(nread)});
    if (!rest || rest->empty()) {
      return;
    }
    // The client's first bytes, where they are in the read buffer (TLS decrypts in place).
    const size_t offset = static_cast<size_t>(rest->data() - buf->base);
    after_header = uv_buf_init(buf->base + offset, static_cast<unsigned>(buf->len - offset));
    buf = &after_header;
    nread = static_cast<ssize_t>(rest->size());
  }
  if (tls_ != nullptr) {
    tls_->receive(nread, buf);  // comes back decrypted through tlsRead()
    return;
  }
  handleInput(nread, buf);
}

void Connection::handleInput(ssize_t nread, const uv_buf_t* buf) {
  if (nread == 0) {
    return;
  }
  if (phase_ == Phase::Lingering) {
    if (nread < 0) {
      close();
    }
    return;  // input after the last response is drained, not parsed
  }
  if (phase_ == Phase::Calling || phase_ == Phase::Writing) {
    // The socket stays readable between requests (no epoll_ctl per request); what comes
    // meanwhile waits for the answer in progress. An end or an error is seen again once the
    // next request is read.
    if (nread < 0 || pending_.size() + static_cast<size_t>(nread) >= kPipelineLimit) {
      stopReading();
    }
    if (nread > 0) {
      pending_.append(buf->base, static_cast<size_t>(nread));
    }
    return;
  }
  if (nread == TlsStream::kPlainHttp) {
    refuse(400, "plain HTTP on a TLS port");  // in plaintext, as nginx does
    return;
  }
  if (nread < 0) {
    stopReading();
    if (nread == UV_EOF && phase_ == Phase::Receiving) {
      // A half-closed client may still want the answer to a request its EOF completed.
      close_after_ = true;
      if (const auto result = parser_.finish(); result != HttpParser::Result::NeedMore) {
        afterParse(result, {});
        return;
      }
    }
    close();
    return;
  }
  feed({buf->base, static_cast<size_t>(nread)});
}

void Connection::feed(std::string_view data) {
  const bool first_read = phase_ == Phase::Waiting;
  if (first_read) {
    phase_ = Phase::Receiving;
    body_sent_ = 0;
  }
  size_t consumed = 0;
  const HttpParser::Result result = parser_.execute(data, consumed);
  // A request that came whole in its first read (the common case) is dispatched at once:
  // the idle timer goes on until dispatch() stops it, and dispatch() reads the clocks.
  if (first_read && result == HttpParser::Result::NeedMore && parser_.inMessage()) {
    if (!parser_.headComplete()) {
      armTimer(worker_.config().header_timeout);  // else afterParse() arms the body's
    }
    // For the access line of a request that never completes.
    started_ = std::chrono::steady_clock::now();
    started_wall_ = std::chrono::system_clock::now();
  }
  afterParse(result, data.substr(consumed));
}

void Connection::afterParse(HttpParser::Result result, std::string_view rest) {
  switch (result) {
    case HttpParser::Result::NeedMore:
      if (!parser_.inMessage()) {
        phase_ = Phase::Waiting;  // only blank lines so far
      } else if (parser_.headComplete()) {
        armTimer(worker_.config().body_timeout);  // per read: slow bodies, not large ones
        if (parser_.request().expect_continue && !continue_sent_) {
          continue_sent_ = true;
          uv_buf_t buf =
              uv_buf_init(const_cast<char*>(continueResponse().data()), continueResponse().size());
          send(&continue_req_, &buf, 1, ConnectionCallbacks::onContinueDone);
        }
      }
      return;
    case HttpParser::Result::Complete:
      pending_.assign(rest);
      dispatch();
      return;
    case HttpParser::Result::Error:
      refuse(parser_.errorStatus(), parser_.errorReason());
      return;
  }
}

void Connection::dispatch() {
  disarmTimer();
  close_after_ = close_after_ || !parser_.request().keep_alive || worker_.stopping();
  in_flight_ = true;
  bump<int64_t>(worker_.counters().in_flight);
  started_ = std::chrono::steady_clock::now();
  started_wall_ = std::chrono::system_clock::now();
  url_scheme_ = tls_ != nullptr ? "https" : "http";
  client_addr_ = remote_addr_;
  worker_.forwarded().apply(parser_.request(), remote_addr_, url_scheme_, client_addr_);
  const HttpRequest& r = parser_.request();
  const std::string_view sent_id = r.header("X-Request-ID");
  worker_.requestIds().assign(
      request_id_, sent_id,
      !sent_id.empty() && (remote_addr_.empty() || worker_.forwarded().trusts(remote_addr_)));
  if (!worker_.config().health_path.empty() && r.path == worker_.config().health_path) {
    answerHealth();
    return;
  }
  if (const StaticFiles* files = worker_.staticFiles(); files != nullptr && files->covers(r.path)) {
    // Static files are public, as with WhiteNoise (which serves them before Django's auth
    // runs), unless a --jwt-protect prefix names them.
    const AuthGate* gate = worker_.authGate();
    if (gate == nullptr || !gate->protectsExplicitly(r.path) || admit()) {
      serveStatic();
    }
    return;
  }
  if (!admit()) {
    return;
  }
  phase_ = Phase::Calling;
  call_started_ = true;
  in_app_ = true;
  if (const std::optional<ShedReason> refused = worker_.runner().start(this)) {
    in_app_ = false;
    shed(*refused);
  }
}

bool Connection::admit() {
  claims_json_.clear();
  remote_user_.second.clear();
  AuthGate* gate = worker_.authGate();
  if (gate == nullptr) {
    return true;
  }
  const HttpRequest& r = parser_.request();
  // Not time(): it reads the coarse clock, which can trail the issuer's precise clock by a
  // tick, and a token issued this second would be refused as issued in the future.
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch());
  AuthGate::Decision d = gate->check(r, now.count());
  switch (d.kind) {
    case AuthGate::Decision::Kind::Pass:
      return true;
    case AuthGate::Decision::Kind::Accept:
      claims_json_ = gate->claims().json;
      remote_user_.second = gate->claims().user;
      return true;
    case AuthGate::Decision::Kind::Refuse:
      worker_.counters().refused(d.refusal);
      // Debug only: a client can send bad tokens at wire speed, and the access log and
      // appserver_jwt_refusals_total already record each refusal.
      logAt(LogLevel::Debug, "JWT refused {} {} from {}: {}", r.method, r.path, remote_addr_,
            d.reason);
      answer(d.status,
             serverResponse(d.status, "application/json", d.body, d.headers, close_after_));
      return false;
  }
  return true;
}

void Connection::answer(int status, std::string response) {
  framing_ = ResponseFraming{.status = status, .send_body = false, .close = close_after_};
  const size_t head_size = response.find("\r\n\r\n") + 4;
  if (parser_.request().method == "HEAD") {
    response.resize(head_size);  // the head announces the body a GET would get, nothing more
  }
  body_sent_ = response.size() - head_size;  // for the access log
  out_ = std::move(response);
  addRequestId(out_);
  if (refusing_) {
    countResponse(status);
    logAccess(status);  // now: the refused request never reaches finishResponse()
  }
  write({out_});
}

void Connection::addRequestId(std::string& response) const {
  if (!request_id_.empty()) {
    constexpr std::string_view kField = "X-Request-ID: \r\n";
    const size_t at = response.find("\r\n") + 2;  // after the status line
    response.insert(at, kField);
    response.insert(at + kField.size() - 2, request_id_);
  }
}

void Connection::answerHealth() {
  const std::string_view method = parser_.request().method;
  if (method != "GET" && method != "HEAD") {
    answer(405, serverResponse(405, "text/plain; charset=utf-8", "405 Method Not Allowed\n",
                               {{"Allow", "GET, HEAD"}}, close_after_));
    return;
  }
  answer(200, serverResponse(200, "text/plain; charset=utf-8", "OK\n",
                             {{"Cache-Control", "no-store"}}, close_after_));
}

void Connection::shed(ShedReason reason) {
  call_started_ = false;
  worker_.counters().shedOne(reason);
  answer(503, serverResponse(503, "text/plain; charset=utf-8", "503 Service Unavailable\n",
                             {{"Retry-After", "1"}}, close_after_));
}

void Connection::jobExpired() {
  in_app_ = false;
  if (state_ == State::Closing) {
    jobDone();  // the client left while the request waited: jobDone() finishes the close
    return;
  }
  shed(ShedReason::QueueTimeout);
}

int64_t Connection::waitedMs() const {
  if (tcp_info info{}; listener_.kind == Listener::Kind::Tcp &&
                       tcpInfo(reinterpret_cast<const uv_stream_t*>(&socket_), info)) {
    return info.tcpi_last_data_recv;  // since the request's last segment arrived
  }
  // A Unix socket tells no arrival time: at least the time since this loop turn began.
  return std::max<int64_t>(0, static_cast<int64_t>(uv_hrtime() / 1000000 - uv_now(worker_.loop())));
}

RequestRecord::Facts Connection::describe() {
  const HttpRequest& r = parser_.request();
  // Bytes written beside the loop can only be plain ones, and only before the response began.
  const int fd = call_started_ && tls_ == nullptr ? socket_fd_ : -1;
  const auto start =
      std::chrono::duration_cast<std::chrono::microseconds>(started_wall_.time_since_epoch());
  return {.method = r.method,
          .target = r.target,
          .protocol = r.protocol,
          .id = request_id_,
          .answer_fd = fd,
          .remote_addr = client_addr_,
          .request_start_us = start.count(),
          .body_sent = body_sent_};
}

void Connection::jobOverdue(uint64_t python_thread) {
  timed_out_ = true;
  close_after_ = true;
  std::string_view done = "the client had gone";
  if (state_ == State::Open && call_started_) {
    worker_.withdrawAnswer(socket_fd_);  // so that an abort cannot answer it a second time
    refusing_ = true;                    // counted and logged now; then the connection closes
    answer(504, simpleResponse(504, true));
    done = "answered 504";
  } else if (state_ == State::Open) {
    linger();  // the head is out: the client sees the body cut short
    done = "its response cut short";
  }
  const std::string stack = embed::threadStack(python_thread);
  const HttpRequest& r = parser_.request();
  logAt(LogLevel::Critical,
        "WORKER TIMEOUT (pid:{}): {} {} {} (request id {}) has run for more than {}s; {}, "
        "replacing the worker. The request's thread:\n{}",
        ::getpid(), r.method, r.target, r.protocol, request_id_, worker_.config().timeout, done,
        stack.empty() ? "  (not in Python code now)\n" : stack);
  worker_.requestTimedOut();
}

void Connection::countResponse(int status) {
  worker_.counters().responded(status, std::chrono::duration_cast<std::chrono::microseconds>(
                                           std::chrono::steady_clock::now() - started_));
  if (in_flight_) {
    in_flight_ = false;
    bump<int64_t>(worker_.counters().in_flight, -1);
  }
}

void Connection::serveStatic() {
  StaticAnswer a = worker_.staticFiles()->answer(parser_.request(), close_after_);
  bump<uint64_t>(a.status < 400 ? worker_.counters().static_hits
                                : worker_.counters().static_misses);
  if (!a.file) {
    answer(a.status, std::move(a.head));
    return;
  }
  framing_ = ResponseFraming{.status = a.status, .close = close_after_, .length = a.length};
  body_sent_ = 0;
  static_file_ = std::move(a.file);
  file_fd_ = static_file_.get();
  file_offset_ = a.offset;
  file_left_ = a.length;
  out_ = std::move(a.head);
  addRequestId(out_);
  write({out_});
}

void Connection::runJob() {
  if (!call_started_) {
    call_.pull();
    return;
  }
  HttpRequest& r = parser_.request();
  embed::WsgiRequest request;
  request.method = r.method;
  request.target = r.target;
  request.path = r.path;
  request.query = r.query;
  request.protocol = r.protocol;
  request.headers = r.headers;
  request.body = r.body.release();
  request.body_was_chunked = r.chunked;
  request.remote_addr = client_addr_;
  request.remote_port = remote_port_;
  request.server_name = listener_.host;
  request.server_port = listener_.port;
  request.url_scheme = url_scheme_;
  request.jwt_claims_json = claims_json_;
  request.request_id = request_id_;
  if (!remote_user_.second.empty()) {
    request.extra = {&remote_user_, 1};
  }
  call_.start(worker_.app(), request);
}

void Connection::jobDone() {
  in_app_ = false;
  if (state_ == State::Closing) {
    state_ = State::Open;  // close() waited for the app; now it can proceed
    phase_ = Phase::Writing;
    close();
    return;
  }
  if (timed_out_) {
    endCall();  // the client has had its 504 or its cut response: the late result goes nowhere
    return;
  }
  if (call_started_) {
    call_started_ = false;
    respond();
  } else {
    sendMore();
  }
}

void Connection::respond() {
  const HttpRequest& r = parser_.request();
  using State = embed::WsgiCall::State;
  if (call_.state() == State::Streaming || call_.state() == State::Finished) {
    const embed::FileBody& file = call_.file();
    const bool known = call_.state() == State::Finished;
    const uint64_t size = file.fd >= 0 ? static_cast<uint64_t>(file.length) : call_.body().size();
    out_.clear();
    framing_ = buildHead(out_, r, call_, known, size, !close_after_, request_id_);
    if (!framing_.bad_length) {
      close_after_ = close_after_ || framing_.close;
      body_sent_ = 0;
      file_fd_ = file.fd;
      file_offset_ = file.offset;
      file_left_ = file.fd >= 0 && framing_.send_body
                       ? std::min(file.length, framing_.length >= 0 ? framing_.length : file.length)
                       : 0;
      if (!framing_.send_body || file.fd >= 0) {
        call_.body().clear();
      }
      sendMore();
      return;
    }
    logAt(LogLevel::Error, "Error handling request {} {}: invalid Content-Length from the app",
          r.method, r.target);
  } else {
    logAt(LogLevel::Error, "Error handling request {} {}\n{}", r.method, r.target, call_.error());
  }
  endCall();
  answer(500, simpleResponse(500, close_after_));
}

void Connection::endCall() {
  if (const std::string error = call_.reset(); !error.empty()) {
    const HttpRequest& r = parser_.request();
    logAt(LogLevel::Error, "Error closing the response to {} {}\n{}", r.method, r.target, error);
  }
}

void Connection::sendMore() {
  using State = embed::WsgiCall::State;
  if (call_.state() == State::Broken) {
    const HttpRequest& r = parser_.request();
    logAt(LogLevel::Error, "Error handling request {} {} (response cut short)\n{}", r.method,
          r.target, call_.error());
    close();
    return;
  }
  if (!framing_.send_body) {
    endCall();  // HEAD, 204, 304: no body, and no reason to run the app's iterable on
  }
  std::string& body = call_.body();
  if (framing_.length >= 0) {
    const uint64_t room =
        static_cast<uint64_t>(framing_.length) - std::min<uint64_t>(body_sent_, framing_.length);
    body.resize(std::min<uint64_t>(body.size(), room));  // never more than the app announced
  }
  out_body_.swap(body);
  body.clear();
  body_sent_ += out_body_.size();
  std::string_view tail;
  if (framing_.chunked) {
    const bool last = call_.state() != State::Streaming;
    if (!out_body_.empty()) {
      appendChunkHeader(out_, out_body_.size());
      tail = last ? kChunkThenLast : kChunkEnd;
    } else if (last) {
      tail = kLastChunk;
    }
  }
  write({out_, out_body_, tail});
}

void Connection::write(std::initializer_list<std::string_view> pieces) {
  uv_buf_t bufs[4];
  unsigned n = 0;
  for (std::string_view p : pieces) {
    if (!p.empty()) {
      bufs[n++] = uv_buf_init(const_cast<char*>(p.data()), static_cast<unsigned>(p.size()));
    }
  }
  phase_ = Phase::Writing;
  if (n == 0 || writeAtOnce(bufs, n)) {
    completeWrite();
    return;
  }
  if (send(&write_req_, bufs, n, ConnectionCallbacks::onWriteDone) != 0) {
    close();
    return;
  }
  armTimer(worker_.config().write_timeout);
}

bool Connection::writeAtOnce(uv_buf_t bufs[], unsigned& n) {
  if (tls_ != nullptr || sync_writes_ >= kSyncWriteBurst) {
    return false;
  }
  const int rc = uv_try_write(stream(), bufs, n);
  if (rc < 0) {
    return false;  // EAGAIN, or an error that uv_write reports through the callback
  }
  size_t written = static_cast<size_t>(rc);
  unsigned first = 0;
  while (first < n && written >= bufs[first].len) {
    written -= bufs[first++].len;
  }
  if (first == n) {
    ++sync_writes_;
    return true;
  }
  bufs[first].base += written;  // the rest goes through uv_write
  bufs[first].len -= written;
  std::copy(bufs + first, bufs + n, bufs);
  n -= first;
  return false;
}

void Connection::completeWrite() {
  if (completing_) {
    completed_again_ = true;  // the loop below, further up this stack, finishes it
    return;
  }
  completing_ = true;
  do {
    completed_again_ = false;
    handleWriteDone(0);
  } while (completed_again_);
  completing_ = false;
  sync_writes_ = 0;
}

void Connection::startReading() {
  if (reading_ ||
      uv_read_start(stream(), ConnectionCallbacks::onAlloc, ConnectionCallbacks::onRead) != 0) {
    return;
  }
  reading_ = true;
  if (tls_ != nullptr) {
    std::vector<char>& buffer = worker_.readBuffer();
    tls_->resume(uv_buf_init(buffer.data(), buffer.size()));  // what arrived while paused
  }
}

void Connection::stopReading() {
  if (reading_) {
    uv_read_stop(stream());
    reading_ = false;
  }
}

int Connection::send(uv_write_t* req, const uv_buf_t bufs[], unsigned nbufs, uv_write_cb cb) {
  return tls_ != nullptr ? tls_->write(req, bufs, nbufs, cb)
                         : uv_write(req, stream(), bufs, nbufs, cb);
}

void Connection::handleWriteDone(int status) {
  disarmTimer();
  out_.clear();
  out_body_.clear();
  if (status < 0 || state_ != State::Open) {
    close();
    return;
  }
  if (refusing_) {
    linger();  // the answer to a refused request is out
    return;
  }
  if (file_left_ > 0) {
    sendFile();
    return;
  }
  const bool more = call_.state() == embed::WsgiCall::State::Streaming &&
                    (framing_.length < 0 || body_sent_ < static_cast<uint64_t>(framing_.length));
  if (more) {
    phase_ = Phase::Calling;
    in_app_ = true;
    worker_.runner().submit(this);  // pull the next piece now that the client took the last
    return;
  }
  finishResponse();
}

void Connection::sendFile() {
  if (tls_ != nullptr) {
    sendFileBlock();  // the kernel cannot encrypt: the file goes through TLS in blocks
    return;
  }
  const int file = file_fd_;
  uv_os_fd_t sock = -1;
  uv_fileno(reinterpret_cast<uv_handle_t*>(stream()), &sock);
  while (file_left_ > 0) {
    off_t offset = file_offset_;
    const ssize_t n = ::sendfile(sock, file, &offset, static_cast<size_t>(file_left_));
    if (n > 0) {
      file_offset_ = offset;
      file_left_ -= n;
      body_sent_ += static_cast<uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && errno == EAGAIN) {
      // The socket is full: one block goes through libuv, whose completion says when the
      // client has room again; then sendfile takes over again.
      sendFileBlock();
      return;
    }
    // A read error, or the file shrank: the response cannot be completed.
    logAt(LogLevel::Error, "sendfile failed after {} bytes: {}", body_sent_,
          n < 0 ? std::strerror(errno) : "file shorter than announced");
    close();
    return;
  }
  finishResponse();
}

void Connection::sendFileBlock() {
  out_body_.resize(std::min<size_t>(kFileBlock, static_cast<size_t>(file_left_)));
  const ssize_t got = ::pread(file_fd_, out_body_.data(), out_body_.size(), file_offset_);
  if (got <= 0) {
    // A read error, or the file shrank: the response cannot be completed.
    logAt(LogLevel::Error, "reading the response's file failed after {} bytes: {}", body_sent_,
          got < 0 ? std::strerror(errno) : "file shorter than announced");
    close();
    return;
  }
  out_body_.resize(static_cast<size_t>(got));
  file_offset_ += got;
  file_left_ -= got;
  body_sent_ += static_cast<uint64_t>(got);
  write({out_body_});
}

void Connection::finishResponse() {
  if (framing_.send_body && framing_.length >= 0 &&
      body_sent_ < static_cast<uint64_t>(framing_.length)) {
    // The app announced more than it produced; the client would wait for the rest.
    const HttpRequest& r = parser_.request();
    logAt(LogLevel::Error, "{} {}: the app sent {} of the {} bytes its Content-Length announced",
          r.method, r.target, body_sent_, framing_.length);
    close();
    return;
  }
  countResponse(framing_.status);
  logAccess(framing_.status);
  worker_.requestDone();
  endCall();
  static_file_.reset();
  parser_.next();
  served_one_ = true;
  continue_sent_ = false;
  // A graceful stop that came after this response's head promised keep-alive: the client
  // may be sending its next request already, so it gets the grace of an idle connection
  // (closeWhenIdle) and an answer with Connection: close, not a close without one.
  if (close_after_ && framing_.close) {
    linger();
    return;
  }
  startNextRequest();
}

void Connection::startNextRequest() {
  phase_ = Phase::Waiting;
  request_id_.clear();
  if (!pending_.empty()) {
    const std::string data = std::move(pending_);
    pending_.clear();
    feed(data);
    if (phase_ != Phase::Waiting && phase_ != Phase::Receiving) {
      return;  // a pipelined request was complete and is being served
    }
  }
  if (phase_ == Phase::Waiting) {
    armTimer(close_after_  ? kStopGraceSeconds
             : served_one_ ? worker_.config().keep_alive
                           : worker_.config().header_timeout);
  }
  startReading();
}

void Connection::refuse(int status, std::string_view reason) {
  logAt(LogLevel::Debug, "refused a request from {} with {}: {}", remote_addr_, status, reason);
  disarmTimer();
  stopReading();
  started_wall_ = std::chrono::system_clock::now();
  started_ = std::chrono::steady_clock::now();
  close_after_ = true;
  refusing_ = true;
  answer(status, simpleResponse(status, true));
}

void Connection::linger() {
  phase_ = Phase::Lingering;
  const int rc = tls_ != nullptr
                     ? tls_->shutdown(&shutdown_req_, ConnectionCallbacks::onShutdown)
                     : uv_shutdown(&shutdown_req_, stream(), ConnectionCallbacks::onShutdown);
  if (rc != 0) {
    close();
    return;
  }
  armTimer(kLingerSeconds);
  startReading();
}

void Connection::logAccess(int status) {
  if (!Log::accessEnabled()) {
    return;
  }
  const HttpRequest& r = parser_.request();
  AccessEntry e;
  e.remote_addr = client_addr_;
  e.method = r.method;  // all empty for a request refused before its head was through
  e.target = r.target;
  e.protocol = r.protocol;
  e.status = status;
  e.body_bytes = body_sent_;
  e.start = started_wall_;
  e.duration = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started_);
  e.request_headers = r.headers;
  if (!in_app_) {  // else the app may be filling them in (a 504 for a call past --timeout)
    e.response_headers = call_.headers();
  }
  e.remote_user = remote_user_.second;
  e.request_id = request_id_;
  Log::access(e);
}

}  // namespace appserver::server
