// http_parser.cc: llhttp callbacks, limits and the framing checks llhttp leaves to us.
//
// Thread: the worker's loop thread.
#include "http_parser.h"

#include <algorithm>

#include "ascii.h"

namespace appserver::server {

namespace {

// Gunicorn's limit_request_field_size counts the whole line: name, ": ", value and CRLF.
constexpr uint32_t kLineOverhead = 4;
// From on_headers_complete: "no body follows" to llhttp (F_SKIPBODY).
constexpr int kSkipBody = 1;
// The longest chunk-size line (size and extensions) accepted.
constexpr size_t kMaxChunkLine = 4096;

// The longest method kept while telling an unknown method (501) from a malformed one (400).
constexpr size_t kMaxMethod = 32;

HttpParser& owner(llhttp_t* p) { return *static_cast<HttpParser*>(p->data); }

}  // namespace

// The C trampolines llhttp calls; each forwards to the parser's handle<Event>.
struct ParserCallbacks {
  static int onMessageBegin(llhttp_t* p) {
    owner(p).in_message_ = true;
    return HPE_OK;
  }
  static int onUrl(llhttp_t* p, const char* at, size_t n) { return owner(p).handleUrl({at, n}); }
  static int onHeaderField(llhttp_t* p, const char* at, size_t n) {
    return owner(p).handleField({at, n});
  }
  static int onHeaderValue(llhttp_t* p, const char* at, size_t n) {
    return owner(p).handleValue({at, n});
  }
  static int onHeaderFieldComplete(llhttp_t* p) { return owner(p).handleFieldComplete(); }
  static int onHeaderValueComplete(llhttp_t* p) {
    owner(p).in_value_ = true;  // also for an empty value, which has no on_header_value
    return HPE_OK;
  }
  static int onHeadersComplete(llhttp_t* p) { return owner(p).handleHeadersComplete(); }
  static int onBody(llhttp_t* p, const char* at, size_t n) { return owner(p).handleBody({at, n}); }
  static int onMessageComplete(llhttp_t* p) {
    HttpParser& self = owner(p);
    self.request_.keep_alive = self.request_.keep_alive && llhttp_should_keep_alive(p) != 0;
    self.complete_ = !self.request_.chunked;  // else complete when ChunkedDecoder is done
    return HPE_PAUSED;  // one request at a time; the rest waits in the connection's buffer
  }
};

std::string_view HttpRequest::header(std::string_view name) const {
  for (const embed::HeaderView& h : headers) {
    if (equalsIgnoringCase(h.name, name)) {
      return h.value;
    }
  }
  return {};
}

HttpParser::HttpParser(const HttpLimits& limits, uint64_t body_memory_limit, std::string tmp_dir)
    : limits_(limits), chunks_(limits.body, kMaxChunkLine, limits.fields) {
  llhttp_settings_init(&settings_);
  settings_.on_message_begin = ParserCallbacks::onMessageBegin;
  settings_.on_url = ParserCallbacks::onUrl;
  settings_.on_header_field = ParserCallbacks::onHeaderField;
  settings_.on_header_value = ParserCallbacks::onHeaderValue;
  settings_.on_header_field_complete = ParserCallbacks::onHeaderFieldComplete;
  settings_.on_header_value_complete = ParserCallbacks::onHeaderValueComplete;
  settings_.on_headers_complete = ParserCallbacks::onHeadersComplete;
  settings_.on_body = ParserCallbacks::onBody;
  settings_.on_message_complete = ParserCallbacks::onMessageComplete;
  llhttp_init(&parser_, HTTP_REQUEST, &settings_);
  parser_.data = this;
  request_.body.configure(body_memory_limit, std::move(tmp_dir));
}

void HttpParser::reset() {
  request_.head.clear();
  request_.headers.clear();
  request_.method = request_.target = request_.path = request_.query = request_.protocol = {};
  request_.content_length = -1;
  request_.chunked = request_.expect_continue = false;
  request_.keep_alive = true;
  request_.body.clear();  // a body the app never took (a refused request) is dropped here
  fields_.clear();
  url_len_ = 0;
  chunks_.reset();
  decoding_ = false;
  method_text_.clear();
  method_refused_ = false;
  in_value_ = in_message_ = head_complete_ = complete_ = false;
}

void HttpParser::next() {
  reset();
  llhttp_resume(&parser_);
}

int HttpParser::fail(int status, const char* reason) {
  error_status_ = status;
  error_reason_ = reason;
  llhttp_set_error_reason(&parser_, reason);
  return HPE_USER;
}

HttpParser::Result HttpParser::execute(std::string_view data, size_t& consumed) {
  consumed = 0;
  if (method_refused_) {
    return classifyMethod(data, consumed);
  }
  if (!decoding_) {
    exec_begin_ = data.data();
    llhttp_errno_t rc = llhttp_execute(&parser_, data.data(), data.size());
    if (rc == HPE_PAUSED_UPGRADE && !in_message_) {
      // The previous request asked for an Upgrade (or was a CONNECT): llhttp stops before
      // the next one. The server never switches protocols, so HTTP/1.1 goes on.
      llhttp_resume_after_upgrade(&parser_);
      rc = llhttp_execute(&parser_, data.data(), data.size());
    }
    consumed = rc == HPE_OK ? data.size()
                            : static_cast<size_t>(llhttp_get_error_pos(&parser_) - data.data());
    for (size_t i = consumed > 2 ? consumed - 2 : 0; i < consumed; ++i) {
      tail_[0] = tail_[1];  // the bytes before the next execute()'s data
      tail_[1] = data[i];
    }
    if (rc == HPE_OK) {
      if (in_message_ && url_len_ == 0) {
        appendMethodText(data);  // a method cut by the read boundary, for classifyMethod()
      }
      return Result::NeedMore;
    }
    if (rc == HPE_INVALID_METHOD && error_status_ == 0) {
      method_refused_ = true;
      return classifyMethod(data, consumed);
    }
    if (rc != HPE_PAUSED) {
      return llhttpError(rc);
    }
    if (!request_.chunked) {
      return Result::Complete;
    }
    decoding_ = true;  // the head is through; the chunked body is ours to decode
  }
  size_t used = 0;
  const ChunkedDecoder::Result result = chunks_.feed(data.substr(consumed), used, request_.body);
  consumed += used;
  switch (result) {
    case ChunkedDecoder::Result::NeedMore:
      return Result::NeedMore;
    case ChunkedDecoder::Result::Done:
      decoding_ = false;
      complete_ = true;
      return Result::Complete;
    case ChunkedDecoder::Result::Error:
      break;
  }
  error_status_ = chunks_.status();
  error_reason_ = chunks_.reason();
  return Result::Error;
}

// llhttp stops at the first byte that no method it knows starts with; whether the request
// names a method llhttp does not know (501, RFC 9110 15.6.2) or no method at all (400)
// shows only at the space after it, which may come in a later read.
size_t HttpParser::appendMethodText(std::string_view data) {
  // Empty lines before a request line are allowed (RFC 9112 2.2) and are no part of it.
  const size_t skipped =
      method_text_.empty() ? std::min(data.find_first_not_of("\r\n"), data.size()) : 0;
  const size_t room = kMaxMethod + 1 - std::min(method_text_.size(), kMaxMethod + 1);
  method_text_.append(data.substr(skipped, room));
  return skipped;
}

HttpParser::Result HttpParser::classifyMethod(std::string_view data, size_t& consumed) {
  consumed = data.size();
  const size_t before = method_text_.size();
  const size_t skipped = appendMethodText(data);
  const std::string_view text = method_text_;
  const auto end = std::find_if_not(text.begin(), text.end(), isTokenChar);
  if (end == text.end() && text.size() <= kMaxMethod) {
    return Result::NeedMore;
  }
  // Consumed through the byte that decided, as if the parser had stopped there.
  const size_t decided = static_cast<size_t>(end - text.begin()) + 1;
  consumed = std::min(data.size(), skipped + (decided > before ? decided - before : 0));
  const bool unknown = end != text.begin() && end != text.end() && *end == ' ';
  error_status_ = unknown ? 501 : 400;
  error_reason_ = unknown ? "method not implemented" : "invalid method";
  return Result::Error;
}

HttpParser::Result HttpParser::llhttpError(llhttp_errno_t rc) {
  if (error_status_ == 0) {
    // llhttp's own refusals: malformed syntax gets 400 (RFC 9112), an unknown version 505.
    error_status_ = rc == HPE_INVALID_VERSION ? 505 : 400;
    error_reason_ = llhttp_get_error_reason(&parser_) != nullptr ? llhttp_get_error_reason(&parser_)
                                                                 : llhttp_errno_name(rc);
  }
  return Result::Error;
}

HttpParser::Result HttpParser::finish() {
  if (!in_message_) {
    return Result::NeedMore;
  }
  const llhttp_errno_t rc = decoding_ ? HPE_OK : llhttp_finish(&parser_);
  if (rc == HPE_OK && complete_) {
    return Result::Complete;
  }
  error_status_ = 400;
  error_reason_ = "the client closed the connection inside a request";
  return Result::Error;
}

int HttpParser::handleUrl(std::string_view piece) {
  url_len_ += static_cast<uint32_t>(piece.size());
  if (url_len_ > limits_.request_line) {
    return fail(414, "request line too long");
  }
  request_.head.append(piece);
  return HPE_OK;
}

char HttpParser::byteBefore(const char* at, size_t back) const {
  const ptrdiff_t in_buffer = at - exec_begin_;
  if (in_buffer >= static_cast<ptrdiff_t>(back)) {
    return at[-static_cast<ptrdiff_t>(back)];
  }
  const ptrdiff_t from_tail = static_cast<ptrdiff_t>(back) - in_buffer;  // 1 or 2
  return from_tail <= 2 ? tail_[2 - from_tail] : '\0';
}

bool HttpParser::precededByLineFeed(std::string_view piece) const {
  return byteBefore(piece.data(), 1) == '\n';
}

int HttpParser::handleField(std::string_view piece) {
  if (in_value_ || fields_.empty()) {
    if (fields_.size() >= limits_.fields) {
      return fail(431, "too many header fields");
    }
    // llhttp's strict mode still lets a bare LF end the request line (nodejs/llhttp#877).
    if (byteBefore(piece.data(), 1) != '\n' || byteBefore(piece.data(), 2) != '\r') {
      return fail(400, "a line not ended by CRLF");
    }
    const auto at = static_cast<uint32_t>(request_.head.size());
    fields_.push_back({at, 0, at, 0});
    in_value_ = false;
  }
  Field& f = fields_.back();
  f.name_len += static_cast<uint32_t>(piece.size());
  f.value_at = f.name_at + f.name_len;
  if (f.name_len + kLineOverhead > limits_.field_size) {
    return fail(431, "header field too large");
  }
  request_.head.append(piece);
  return HPE_OK;
}

// llhttp 8.1 takes a line starting with ':' as a field with an empty name (RFC 9110 5.1:
// a field name is a token, at least one byte).
int HttpParser::handleFieldComplete() {
  return fields_.empty() || fields_.back().name_len == 0
             ? fail(400, "a header field without a name")
             : HPE_OK;
}

int HttpParser::handleValue(std::string_view piece) {
  Field& f = fields_.back();
  f.value_len += static_cast<uint32_t>(piece.size());
  if (f.name_len + f.value_len + kLineOverhead > limits_.field_size) {
    return fail(431, "header field too large");
  }
  if (precededByLineFeed(piece)) {
    return fail(400, "obsolete line folding in a header value");  // RFC 9112 5.2 lets us refuse
  }
  request_.head.append(piece);
  return HPE_OK;
}

int HttpParser::handleHeadersComplete() {
  head_complete_ = true;
  HttpRequest& r = request_;
  const std::string_view head = r.head;
  r.target = head.substr(0, url_len_);
  r.headers.reserve(fields_.size());
  for (const Field& f : fields_) {
    r.headers.push_back(
        {head.substr(f.name_at, f.name_len), trimBlanks(head.substr(f.value_at, f.value_len))});
  }
  r.method = llhttp_method_name(static_cast<llhttp_method_t>(parser_.method));
  if (parser_.http_major == 1 && parser_.http_minor == 1) {
    r.protocol = "HTTP/1.1";
  } else if (parser_.http_major == 1 && parser_.http_minor == 0) {
    r.protocol = "HTTP/1.0";
  } else {
    return fail(505, "HTTP version not supported");
  }
  if (const int rc = checkFraming(); rc != HPE_OK) {
    return rc;
  }
  if (const int rc = splitTarget(); rc != HPE_OK) {
    return rc;
  }
  return r.chunked ? kSkipBody : HPE_OK;  // ChunkedDecoder takes the body from here
}

// Where two parsers could disagree on where this message ends, refuse it (docs/security.md).
int HttpParser::checkFraming() {
  HttpRequest& r = request_;
  const bool http11 = r.protocol == "HTTP/1.1";
  size_t hosts = 0;
  size_t types = 0;
  size_t lengths = 0;
  size_t codings = 0;
  std::string_view te;
  std::string_view length;
  std::string_view expect;
  for (const embed::HeaderView& h : r.headers) {
    if (equalsIgnoringCase(h.name, "host")) {
      ++hosts;
    } else if (equalsIgnoringCase(h.name, "content-type")) {
      ++types;
    } else if (equalsIgnoringCase(h.name, "content-length")) {
      ++lengths;
      length = h.value;
    } else if (equalsIgnoringCase(h.name, "transfer-encoding")) {
      ++codings;
      te = h.value;
    } else if (equalsIgnoringCase(h.name, "expect")) {
      expect = h.value;
    } else if (equalsIgnoringCase(h.name, "connection") && equalsIgnoringCase(h.value, "close")) {
      r.keep_alive = false;
    }
  }
  // A missing Host is accepted (docs/security.md): it cannot change framing or routing here.
  if (hosts > 1) {
    return fail(400, "repeated Host header");
  }
  if (types > 1) {
    return fail(400, "repeated Content-Type header");  // apps would disagree on which one counts
  }
  if (codings > 0) {
    if (!http11) {
      return fail(400, "Transfer-Encoding in an HTTP/1.0 request");
    }
    if (lengths > 0) {
      return fail(400, "both Content-Length and Transfer-Encoding");
    }
    if (codings > 1 || !equalsIgnoringCase(te, "chunked")) {
      const size_t comma = te.rfind(',');
      const std::string_view last =
          trimBlanks(comma == std::string_view::npos ? te : te.substr(comma + 1));
      return codings == 1 && equalsIgnoringCase(last, "chunked")
                 ? fail(501, "transfer coding not implemented")
                 : fail(400, "Transfer-Encoding does not end in chunked");
    }
    r.chunked = true;
  }
  if (lengths > 1) {
    return fail(400, "repeated Content-Length");
  }
  if (lengths == 1) {
    if (length.empty() || length.size() > 18 ||
        length.find_first_not_of("0123456789") != std::string_view::npos) {
      return fail(400, "malformed Content-Length");
    }
    r.content_length = std::stoll(std::string(length));
    if (static_cast<uint64_t>(r.content_length) > limits_.body) {
      return fail(413, "request body too large");
    }
  }
  if (!expect.empty() && http11) {
    if (!equalsIgnoringCase(expect, "100-continue")) {
      return fail(417, "unsupported expectation");
    }
    r.expect_continue = true;
  }
  return HPE_OK;
}

int HttpParser::splitTarget() {
  HttpRequest& r = request_;
  std::string_view t = r.target;
  if (t == "*") {
    return r.method == "OPTIONS" ? HPE_OK : fail(400, "'*' target outside OPTIONS");
  }
  if (r.method == "CONNECT") {
    return HPE_OK;  // authority-form: no path; the app decides what CONNECT means
  }
  if (t.empty() || t.front() != '/') {
    const size_t scheme = t.find("://");
    const std::string_view name = t.substr(0, scheme);
    if (scheme == std::string_view::npos ||
        !(equalsIgnoringCase(name, "http") || equalsIgnoringCase(name, "https"))) {
      return fail(400, "invalid request-target");
    }
    // absolute-form (RFC 9112 3.2.2): the path starts after the authority.
    const size_t slash = t.find_first_of("/?#", scheme + 3);
    t = slash == std::string_view::npos ? std::string_view() : t.substr(slash);
  }
  t = t.substr(0, t.find('#'));
  const size_t q = t.find('?');
  r.path = t.substr(0, q);
  r.query = q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
  if (r.path.empty()) {
    r.path = "/";
  }
  return HPE_OK;
}

int HttpParser::handleBody(std::string_view piece) {
  if (request_.body.size() + piece.size() > limits_.body) {
    return fail(413, "request body too large");
  }
  if (!request_.body.append(piece)) {
    return fail(500, "the request body could not be stored");
  }
  return HPE_OK;
}

}  // namespace appserver::server
