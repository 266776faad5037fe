// http_parser.h: HTTP/1.1 request parsing on llhttp, with the server's limits and checks.
//
// Turns bytes into HttpRequest values one message at a time: parsing pauses after each
// complete message (HPE_PAUSED from on_message_complete), so pipelined requests wait in
// the connection's buffer until the previous response is done. Anything ambiguous or over
// a limit ends the message with an error status (400, 413, 414, 417, 431, 501, 505);
// after an error the parser is dead and the connection answers and closes. llhttp parses
// heads and Content-Length bodies; chunked bodies go to ChunkedDecoder.
// Thread: the worker's loop thread.
#pragma once

#include <llhttp.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "body_buffer.h"
#include "chunked_decoder.h"
#include "embed/wsgi_app.h"

namespace appserver::server {

struct HttpLimits {
  size_t request_line = 4094;
  size_t fields = 100;
  size_t field_size = 8190;
  uint64_t body = 1ULL << 30;
};

struct HttpRequest {
  std::string head;  // method, target and field bytes; the views below point into it
  std::string_view method;
  std::string_view target;
  std::string_view path;  // still percent-encoded; "" for "*" and authority-form
  std::string_view query;
  std::string_view protocol;  // "HTTP/1.1" or "HTTP/1.0"
  std::vector<embed::HeaderView> headers;
  int64_t content_length = -1;  // -1: none given
  bool chunked = false;
  bool expect_continue = false;
  bool keep_alive = true;
  BodyBuffer body;

  // The first value of a header (names compare case-insensitively), or "".
  std::string_view header(std::string_view name) const;
};

class HttpParser {
 public:
  enum class Result {
    NeedMore,  // all bytes consumed, the message is not complete yet
    Complete,  // request() holds a complete message; call next() before parsing on
    Error,     // errorStatus() says how to answer; the parser is dead
  };

  HttpParser(const HttpLimits& limits, uint64_t body_memory_limit, std::string tmp_dir);
  HttpParser(const HttpParser&) = delete;
  HttpParser& operator=(const HttpParser&) = delete;

  // Parses data; consumed tells how many bytes were used (the rest belongs to later messages).
  Result execute(std::string_view data, size_t& consumed);
  // The client sent EOF: Complete if a message was just completed by it, NeedMore if no
  // message had begun, Error for a message cut short.
  Result finish();
  // Resumes after Complete, for the next message on the connection.
  void next();

  HttpRequest& request() { return request_; }
  bool inMessage() const { return in_message_; }
  bool headComplete() const { return head_complete_; }
  int errorStatus() const { return error_status_; }
  std::string_view errorReason() const { return error_reason_; }

 private:
  struct Field {
    uint32_t name_at, name_len, value_at, value_len;
  };
  friend struct ParserCallbacks;

  int fail(int status, const char* reason);
  int handleUrl(std::string_view piece);
  int handleField(std::string_view piece);
  int handleFieldComplete();
  int handleValue(std::string_view piece);
  int handleHeadersComplete();
  int handleBody(std::string_view piece);
  Result llhttpError(llhttp_errno_t rc);
  Result classifyMethod(std::string_view data, size_t& consumed);
  // Keeps the first kMaxMethod + 1 bytes of a request line for classifyMethod(); returns
  // how many empty-line bytes at the start of data it skipped.
  size_t appendMethodText(std::string_view data);
  // True when the byte before piece is a LF: the piece continues a folded line.
  bool precededByLineFeed(std::string_view piece) const;
  // The byte `back` places before at, which may lie in the previous execute()'s data.
  char byteBefore(const char* at, size_t back) const;
  int checkFraming();
  int splitTarget();
  void reset();

  llhttp_t parser_;
  llhttp_settings_t settings_;
  HttpLimits limits_;
  HttpRequest request_;
  std::vector<Field> fields_;
  uint32_t url_len_ = 0;
  ChunkedDecoder chunks_;
  bool decoding_ = false;             // the head is parsed; chunks_ is decoding the body
  std::string method_text_;           // the start of a request line cut by a read boundary
  bool method_refused_ = false;       // llhttp refused the method: 400 or 501 once it ends
  const char* exec_begin_ = nullptr;  // the buffer of the running execute()
  char tail_[2] = {};                 // the last two bytes parsed by the previous execute()
  bool in_value_ = false;
  bool in_message_ = false;
  bool head_complete_ = false;
  bool complete_ = false;
  int error_status_ = 0;
  std::string error_reason_;
};

}  // namespace appserver::server
