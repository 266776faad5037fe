// http_response.cc: response heads, the cached Date header and error answers.
//
// Thread: the worker's loop thread.
#include "http_response.h"

#include <fmt/format.h>
#include <strings.h>
#include <time.h>

#include <algorithm>
#include <charconv>

#include "http_parser.h"

namespace appserver::server {

namespace {

using namespace std::string_view_literals;

constexpr std::string_view kServerHeader = "Server: appserver\r\n";
// What a response the server makes needs besides its Content-Type, body and extra headers:
// status line, Server, Date, Content-Length, Connection, X-Request-ID (added later).
constexpr size_t kResponseHeadRoom = 512;

bool is(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool isHopByHop(std::string_view name) {
  return is(name, "connection") || is(name, "keep-alive") || is(name, "proxy-connection") ||
         is(name, "transfer-encoding") || is(name, "te") || is(name, "upgrade") ||
         is(name, "trailer");
}

// "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n", formatted at most once a second.
std::string_view dateHeader() {
  static thread_local time_t cached_at = 0;
  static thread_local std::string line;
  const time_t now = ::time(nullptr);
  if (now != cached_at) {
    line = "Date: ";
    appendHttpDate(line, now);
    line.append("\r\n"sv);
    cached_at = now;
  }
  return line;
}

// A Content-Length value as RFC 9110 8.6 allows it; -1 when malformed.
int64_t parseLength(std::string_view v) {
  if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string_view::npos) {
    return -1;
  }
  int64_t n = 0;
  std::from_chars(v.data(), v.data() + v.size(), n);  // 18 digits cannot overflow
  return n;
}

void appendDecimal(std::string& out, int64_t n) {
  char digits[20];
  out.append(digits, std::to_chars(digits, digits + sizeof(digits), n).ptr);
}

// "HTTP/1.1 401 Unauthorized\r\n", Server and Date.
void appendStatusLine(std::string& out, int status) {
  out.append("HTTP/1.1 "sv);
  appendDecimal(out, status);
  out.append(" "sv).append(reasonPhrase(status)).append("\r\n"sv);
  out.append(kServerHeader).append(dateHeader());
}

// "name: value\r\n", copied in one step: this runs for every header of every response.
void appendField(std::string& out, std::string_view name, std::string_view value) {
  const size_t at = out.size();
  out.resize(at + name.size() + value.size() + 4);
  char* p = std::copy(name.begin(), name.end(), out.data() + at);
  *p++ = ':';
  *p++ = ' ';
  p = std::copy(value.begin(), value.end(), p);
  *p++ = '\r';
  *p = '\n';
}

// Content-Length when length >= 0, Connection: close when close is set, the blank line.
void appendHeadEnd(std::string& out, int64_t length, bool close) {
  if (length >= 0) {
    out.append("Content-Length: "sv);
    appendDecimal(out, length);
    out.append("\r\n"sv);
  }
  out.append(close ? "Connection: close\r\n\r\n"sv : "\r\n"sv);
}

}  // namespace

ResponseFraming buildHead(std::string& out, const HttpRequest& request, const embed::WsgiCall& call,
                          bool body_known, uint64_t body_size, bool keep_alive,
                          std::string_view request_id) {
  ResponseFraming f;
  const std::string_view status = call.status();
  f.status = (status[0] - '0') * 100 + (status[1] - '0') * 10 + (status[2] - '0');
  f.send_body = request.method != "HEAD" && f.status != 204 && f.status != 304;
  f.close = !keep_alive;
  // status-line = HTTP-version SP status-code SP [ reason-phrase ]: the SP stays without one
  out.append("HTTP/1.1 "sv).append(status).append(status.size() == 3 ? " \r\n"sv : "\r\n"sv);
  bool has_server = false;
  bool has_date = false;
  bool has_request_id = request_id.empty();
  for (const embed::ResponseHeader& h : call.headers()) {
    if (isHopByHop(h.name)) {
      f.close = f.close || (is(h.name, "connection") && is(h.value, "close"));
      continue;
    }
    if (is(h.name, "content-length")) {
      if (f.status == 204) {
        continue;  // RFC 9110 8.6: never in a 204
      }
      const int64_t n = parseLength(h.value);
      f.bad_length = f.bad_length || n < 0 || (f.length >= 0 && f.length != n);
      f.length = n;
    }
    has_server = has_server || is(h.name, "server");
    has_date = has_date || is(h.name, "date");
    has_request_id = has_request_id || is(h.name, "x-request-id");
    appendField(out, h.name, h.value);
  }
  const bool bodyless_status = f.status == 204 || f.status == 304;
  if (f.length < 0 && body_known && !bodyless_status) {
    f.length = static_cast<int64_t>(body_size);
    out.append("Content-Length: "sv);
    appendDecimal(out, static_cast<int64_t>(body_size));
    out.append("\r\n"sv);
  } else if (f.length < 0 && !bodyless_status) {
    if (request.protocol == "HTTP/1.1") {
      f.chunked = true;
      out.append("Transfer-Encoding: chunked\r\n"sv);
    } else {
      f.close = true;  // HTTP/1.0 without a length: the close ends the body
    }
  }
  if (!has_server) {
    out.append(kServerHeader);
  }
  if (!has_date) {
    out.append(dateHeader());
  }
  if (!has_request_id) {
    appendField(out, "X-Request-ID", request_id);
  }
  if (f.close) {
    out.append("Connection: close\r\n"sv);
  } else if (request.protocol == "HTTP/1.0") {
    out.append("Connection: keep-alive\r\n"sv);
  }
  out.append("\r\n"sv);
  return f;
}

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 206:
      return "Partial Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 416:
      return "Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Error";
  }
}

void appendHttpDate(std::string& out, time_t t) {
  tm gmt{};
  ::gmtime_r(&t, &gmt);
  char text[40];
  out.append(text, ::strftime(text, sizeof(text), "%a, %d %b %Y %H:%M:%S GMT", &gmt));
}

void appendServerHead(std::string& out, int status, std::string_view fields, int64_t length,
                      bool close) {
  appendStatusLine(out, status);
  out.append(fields);
  appendHeadEnd(out, length, close);
}

std::string serverResponse(int status, std::string_view content_type, std::string_view body,
                           const HeaderList& extra, bool close) {
  // Appended in place (no fmt, one allocation): refusals of bad tokens run through here at
  // wire speed.
  size_t size = kResponseHeadRoom + content_type.size() + body.size();
  for (const auto& [name, value] : extra) {
    size += name.size() + value.size() + 4;
  }
  std::string out;
  out.reserve(size);
  appendStatusLine(out, status);
  for (const auto& [name, value] : extra) {
    appendField(out, name, value);
  }
  appendField(out, "Content-Type", content_type);
  appendHeadEnd(out, static_cast<int64_t>(body.size()), close);
  out.append(body);
  return out;
}

std::string simpleResponse(int status, bool close) {
  return serverResponse(status, "text/plain; charset=utf-8",
                        fmt::format("{} {}\n", status, reasonPhrase(status)), {}, close);
}

std::string_view continueResponse() { return "HTTP/1.1 100 Continue\r\n\r\n"; }

void appendChunkHeader(std::string& out, size_t n) {
  fmt::format_to(std::back_inserter(out), "{:x}\r\n", n);
}

}  // namespace appserver::server
