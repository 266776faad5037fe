// connection.cc: the life of a client connection: read, parse, call, write, repeat.
//
// Thread: the worker's loop thread (runJob() excepted, see connection.h).
#include "connection.h"

#include <sys/sendfile.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "check.h"
#include "listener.h"
#include "log.h"
#include "static_files.h"
#include "tls_context.h"
#include "worker.h"

namespace appserver::server {

namespace {

constexpr double kLingerSeconds = 2;         // draining input after the last response
constexpr double kStopGraceSeconds = 1;      // a graceful stop waits this long for a request
constexpr size_t kFileBlock = 65536;  // bytes of a file copied through one write()
constexpr std::string_view kChunkThenLast = "\r\n0\r\n\r\n";

Connection& owner(void* data) { return *static_cast<Connection*>(data); }

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
  static void onTimer(uv_timer_t* timer) { owner(timer->data).handleTimeout(); }
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

int Connection::accept(uv_stream_t* server) {
  const int rc = uv_accept(server, stream());
  if (rc != 0) {
    close();
    return rc;
  }
  if (listener_.kind == Listener::Kind::Tcp) {
    uv_tcp_nodelay(&socket_.tcp, 1);
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
  if (const TlsContext* tls = worker_.tls(); tls != nullptr) {
    TlsStream::Reader& reader = *this;
    tls_ = std::make_unique<TlsStream>(*tls, stream(), reader, remote_addr_);
  }
  startNextRequest();
  return 0;
}

void Connection::close() {
  if (state_ != State::Open) {
    return;
  }
  state_ = State::Closing;
  if (phase_ == Phase::Calling && worker_.runner().busy() > 0) {
    return;  // the app still uses this connection's call: jobDone() finishes the close
  }
  uv_timer_stop(&timer_);
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
  call_.reset();  // PEP 3333: close() the iterable, also when the client went away
  worker_.connectionClosed(this);
  delete this;
}

void Connection::armTimer(double seconds) {
  uv_timer_start(&timer_, ConnectionCallbacks::onTimer, static_cast<uint64_t>(seconds * 1000), 0);
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
    case Phase::Writing:  // the client stopped reading
    case Phase::Lingering:
    case Phase::Calling:
      close();
      return;
  }
}

void Connection::handleRead(ssize_t nread, const uv_buf_t* buf) {
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
  if (phase_ == Phase::Waiting) {
    phase_ = Phase::Receiving;
    armTimer(worker_.config().header_timeout);
  }
  size_t consumed = 0;
  const HttpParser::Result result = parser_.execute(data, consumed);
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
  uv_timer_stop(&timer_);
  stopReading();
  close_after_ = close_after_ || !parser_.request().keep_alive || worker_.stopping();
  started_ = std::chrono::steady_clock::now();
  started_wall_ = std::chrono::system_clock::now();
  url_scheme_ = tls_ != nullptr ? "https" : "http";
  client_addr_ = remote_addr_;
  worker_.forwarded().apply(parser_.request(), remote_addr_, url_scheme_, client_addr_);
  const HttpRequest& r = parser_.request();
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
  worker_.runner().submit(this);
}

bool Connection::admit() {
  claims_json_.clear();
  remote_user_.second.clear();
  AuthGate* gate = worker_.authGate();
  if (gate == nullptr) {
    return true;
  }
  const HttpRequest& r = parser_.request();
  AuthGate::Decision d = gate->check(r, ::time(nullptr));
  switch (d.kind) {
    case AuthGate::Decision::Kind::Pass:
      return true;
    case AuthGate::Decision::Kind::Accept:
      claims_json_ = gate->claims().json;
      remote_user_.second = gate->claims().user;
      return true;
    case AuthGate::Decision::Kind::Refuse:
      logAt(LogLevel::Info, "JWT refused {} {} from {}: {}", r.method, r.path, remote_addr_,
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
  if (refusing_) {
    logAccess(status);  // now: the refused request never reaches finishResponse()
  }
  write({out_});
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

void Connection::serveStatic() {
  StaticAnswer a = worker_.staticFiles()->answer(parser_.request(), close_after_);
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
  if (!remote_user_.second.empty()) {
    request.extra = {&remote_user_, 1};
  }
  call_.start(worker_.app(), request);
}

void Connection::jobDone() {
  if (state_ == State::Closing) {
    state_ = State::Open;  // close() waited for the app; now it can proceed
    phase_ = Phase::Writing;
    close();
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
    framing_ = buildHead(out_, r, call_, known, size, !close_after_);
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
  call_.reset();
  answer(500, simpleResponse(500, close_after_));
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
    call_.reset();  // HEAD, 204, 304: no body, and no reason to run the app's iterable on
  }
  if (call_.state() == State::Finished && call_.file().fd < 0 && !call_.error().empty()) {
    logAt(LogLevel::Error, "{}", call_.error());  // close() of the iterable raised
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
  if (n == 0) {
    handleWriteDone(0);
    return;
  }
  if (send(&write_req_, bufs, n, ConnectionCallbacks::onWriteDone) != 0) {
    close();
    return;
  }
  armTimer(worker_.config().write_timeout);
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
  uv_timer_stop(&timer_);
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
  logAccess(framing_.status);
  worker_.requestDone();
  call_.reset();
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
  if (!pending_.empty()) {
    const std::string data = std::move(pending_);
    pending_.clear();
    feed(data);
    if (phase_ != Phase::Waiting && phase_ != Phase::Receiving) {
      return;  // a pipelined request was complete and is being served
    }
  }
  if (phase_ == Phase::Waiting) {
    armTimer(close_after_ ? kStopGraceSeconds
             : served_one_ ? worker_.config().keep_alive
                           : worker_.config().header_timeout);
  }
  startReading();
}

void Connection::refuse(int status, std::string_view reason) {
  logAt(LogLevel::Debug, "refused a request from {} with {}: {}", remote_addr_, status, reason);
  uv_timer_stop(&timer_);
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
  e.response_headers = call_.headers();
  e.remote_user = remote_user_.second;
  Log::access(e);
}

}  // namespace appserver::server
