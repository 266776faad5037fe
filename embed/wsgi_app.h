// wsgi_app.h: the pybind11-free boundary between server/ and a Python WSGI application.
//
// server/ hands a parsed, fully buffered request over as plain data (WsgiRequest) and gets
// the response back as plain data: a WsgiCall holds the status, the headers and the body
// produced so far, and is pulled for more body as fast as the socket drains. Python objects
// live only behind the pimpls in embed/*.cc; every entry point takes the GIL itself and
// catches every Python exception, returning it as text (nothing is thrown to server/).
// Thread: any thread with a Python thread state (the loop thread, or a PythonThread).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace appserver::embed {

struct HeaderView {
  std::string_view name;
  std::string_view value;
};

// The request body the app reads through wsgi.input: in memory, or spooled to a file.
struct RequestBody {
  std::string memory;  // used when fd < 0
  int fd = -1;         // owned by the body from here on: closed when wsgi.input is released
  uint64_t size = 0;   // bytes in the body, wherever they are
};

struct WsgiRequest {
  std::string_view method;
  std::string_view target;    // the request-target exactly as received (RAW_URI)
  std::string_view path;      // the target's path, still percent-encoded
  std::string_view query;     // after '?', without the '?'
  std::string_view protocol;  // "HTTP/1.1" or "HTTP/1.0"
  std::span<const HeaderView> headers;
  RequestBody body;
  bool body_was_chunked = false;  // the app then sees CONTENT_LENGTH, not Transfer-Encoding
  std::string_view remote_addr;   // empty for a Unix socket peer
  int remote_port = 0;
  std::string_view server_name;  // the listener's address, used when there is no Host
  int server_port = 0;
  std::string_view url_scheme;  // "http" or "https" (the environ then has HTTPS=on too)
  // The verified JWT payload (a JSON object) for environ["appserver.jwt.claims"], or "".
  std::string_view jwt_claims_json;
  // environ["appserver.request_id"]: the id the server gave the request (request_id.h).
  std::string_view request_id;
  // Further environ string entries the server sets (REMOTE_USER and the like).
  std::span<const std::pair<std::string, std::string>> extra;
};

// A body the server sends straight from a file (wsgi.file_wrapper over a regular file).
struct FileBody {
  int fd = -1;  // a dup owned by the WsgiCall; valid until the call is released
  int64_t offset = 0;
  int64_t length = 0;  // bytes to send from offset
};

class WsgiApp;

// SCRIPT_NAME + PATH_INFO as the app sees them for a raw (percent-encoded) request path:
// percent-decoded to bytes ("%2F" -> "/"; a '%' without two hex digits stays as it is).
// server/ decides per-path rules on this, never on the raw path, so an encoding cannot
// route around them.
std::string decodePath(std::string_view path);

// With --threads 1 the loop thread makes every call of its process, so it may keep the GIL
// from one call to the next: the calls of one loop turn then take it once, not once each.
// keepGilBetweenCalls(true) starts this on the calling thread; releaseKeptGil() gives the GIL
// back (before the loop waits for events, so the app's own threads run meanwhile);
// keepGilBetweenCalls(false) gives it back and ends it.
void keepGilBetweenCalls(bool keep);
void releaseKeptGil();

// One application call: the response head, the body so far and the iterable behind it.
// Releasing it (reset() or destruction) calls the iterable's close(), as PEP 3333 requires,
// also when the client has gone away.
class WsgiCall {
 public:
  enum class State {
    Idle,       // no call yet, or released
    Streaming,  // head known; more body may come from pull()
    Finished,   // head and the whole body known; the iterable is closed
    Failed,     // the app failed before its head was sent: answer 500 (error() says why)
    Broken,     // the app failed after its head was sent: close the connection
  };

  WsgiCall();
  ~WsgiCall();
  WsgiCall(const WsgiCall&) = delete;
  WsgiCall& operator=(const WsgiCall&) = delete;

  // Calls the app and runs it until the head is known and the first body bytes exist.
  // The request body is moved into wsgi.input.
  void start(WsgiApp& app, WsgiRequest& request);
  // Appends the next piece of the body to body(); leaves Streaming at the end or on error.
  void pull();
  // Calls the iterable's close() if still open, drops every Python reference, back to Idle.
  // Returns what close() raised, now or when the call finished earlier, for the error log;
  // "" when it raised nothing.
  std::string reset();

  State state() const { return state_; }
  std::string_view status() const { return status_; }  // "200 OK" as the app gave it
  // The head's fields in the app's order, as views into the call (valid until reset()).
  std::span<const HeaderView> headers() const { return headers_; }
  // Body bytes produced and not yet taken by the server.
  std::string& body() { return body_; }
  const FileBody& file() const { return file_; }
  // The traceback or the broken rule, for the error log, when Failed or Broken.
  const std::string& error() const { return error_; }

 private:
  friend struct CallAccess;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  State state_ = State::Idle;
  std::string status_;
  std::string header_text_;  // the bytes of every name and value, which headers_ views
  std::vector<HeaderView> headers_;
  std::string body_;
  FileBody file_;
  std::string error_;
  std::string close_error_;  // what the iterable's close() raised, until reset()
};

struct WsgiAppOptions {
  std::string script_name;  // SCRIPT_NAME mount point, "" for the root
  bool multithread = false;
  bool multiprocess = false;
  // Receives what the app writes to wsgi.errors (server/ sends it to the error log).
  std::function<void(std::string_view)> error_writer;
};

class WsgiApp {
 public:
  struct LoadResult {
    std::unique_ptr<WsgiApp> app;  // null on failure
    std::string error;             // the Python traceback or the reason
  };
  // Imports MODULE[:CALLABLE] (CALLABLE defaults to "application"; dotted names allowed).
  static LoadResult load(std::string_view spec, const WsgiAppOptions& options);

  ~WsgiApp();
  WsgiApp(const WsgiApp&) = delete;
  WsgiApp& operator=(const WsgiApp&) = delete;

 private:
  friend class WsgiCall;
  friend struct CallAccess;
  struct Impl;
  explicit WsgiApp(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace appserver::embed
