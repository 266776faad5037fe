// http_response.cc: response heads, the cached Date header and error answers.
//
// Thread: the worker's loop thread.
#include "http_response.h"

#include <fmt/format.h>
#include <time.h>

#include <algorithm>
#include <charconv>

#include "ascii.h"
#include "http_parser.h"

namespace appserver::server {

namespace {

using namespace std::string_view_literals;

constexpr std::string_view kServerHeader = "Server: appserver\r\n";
// What a response the server makes needs besides its Content-Type, body and extra headers:
// status line, Server, Date, Content-Length, Connection, X-Request-ID (added later).
constexpr size_t kResponseHeadRoom = 512;
// What buildHead() may add to the app's status, fields and request id: the status line's
// frame, a Content-Length (or chunked), Server, Date, X-Request-ID's name and a Connection.
constexpr size_t kAppHeadRoom = 256;

// The app's header fields that buildHead() acts on.
enum class Field { Other, HopByHop, Connection, ContentLength, Server, Date, RequestId };

constexpr std::pair<std::string_view, Field> kFields[] = {
    {"connection", Field::Connection},
    {"content-length", Field::ContentLength},
    {"server", Field::Server},
    {"date", Field::Date},
    {"x-request-id", Field::RequestId},
    {"keep-alive", Field::HopByHop},
    {"proxy-connection", Field::HopByHop},
    {"transfer-encoding", Field::HopByHop},
    {"te", Field::HopByHop},
    {"upgrade", Field::HopByHop},
    {"trailer", Field::HopByHop},
};

// Which of them name is (letter case aside); a length that differs ends each comparison.
Field classify(std::string_view name) {
  for (const auto& [known, field] : kFields) {
    if (equalsIgnoringCase(name, known)) {
      return field;
    }
  }
  return Field::Other;
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
  if (v.empty() || v.size() > 18 ||
      !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
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

// Copies s to p; returns the end of the copy.
char* put(char* p, std::string_view s) { return std::copy(s.begin(), s.end(), p); }

// "name: value\r\n" at p; returns its end.
char* putField(char* p, std::string_view name, std::string_view value) {
  return put(put(put(put(p, name), ": "sv), value), "\r\n"sv);
}

char* putDecimal(char* p, int64_t n) { return std::to_chars(p, p + 20, n).ptr; }

// "name: value\r\n" appended in one step.
void appendField(std::string& out, std::string_view name, std::string_view value) {
  const size_t at = out.size();
  out.resize(at + name.size() + value.size() + 4);
  putField(out.data() + at, name, value);
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
  // The head is written through a pointer into room made once: every response runs this.
  size_t room = status.size() + request_id.size() + kAppHeadRoom;
  for (const embed::HeaderView& h : call.headers()) {
    room += h.name.size() + h.value.size() + 4;
  }
  const size_t at = out.size();
  out.resize(at + room);
  char* p = out.data() + at;
  // status-line = HTTP-version SP status-code SP [ reason-phrase ]: the SP stays without one
  p = put(put(put(p, "HTTP/1.1 "sv), status), status.size() == 3 ? " \r\n"sv : "\r\n"sv);
  bool has_server = false;
  bool has_date = false;
  bool has_request_id = request_id.empty();
  for (const embed::HeaderView& h : call.headers()) {
    switch (classify(h.name)) {
      case Field::Connection:
        f.close = f.close || equalsIgnoringCase(h.value, "close");
        continue;
      case Field::HopByHop:
        continue;
      case Field::ContentLength:
        if (f.status == 204) {
          continue;  // RFC 9110 8.6: never in a 204
        }
        if (const int64_t n = parseLength(h.value); n < 0 || (f.length >= 0 && f.length != n)) {
          f.bad_length = true;
        } else {
          f.length = n;
        }
        break;
      case Field::Server:
        has_server = true;
        break;
      case Field::Date:
        has_date = true;
        break;
      case Field::RequestId:
        has_request_id = true;
        break;
      case Field::Other:
        break;
    }
    p = putField(p, h.name, h.value);
  }
  const bool bodyless_status = f.status == 204 || f.status == 304;
  if (f.length < 0 && body_known && !bodyless_status) {
    f.length = static_cast<int64_t>(body_size);
    p = put(putDecimal(put(p, "Content-Length: "sv), f.length), "\r\n"sv);
  } else if (f.length < 0 && !bodyless_status) {
    if (request.protocol == "HTTP/1.1") {
      f.chunked = true;
      p = put(p, "Transfer-Encoding: chunked\r\n"sv);
    } else {
      f.close = true;  // HTTP/1.0 without a length: the close ends the body
    }
  }
  if (!has_server) {
    p = put(p, kServerHeader);
  }
  if (!has_date) {
    p = put(p, dateHeader());
  }
  if (!has_request_id) {
    p = putField(p, "X-Request-ID"sv, request_id);
  }
  if (f.close) {
    p = put(p, "Connection: close\r\n"sv);
  } else if (request.protocol == "HTTP/1.0") {
    p = put(p, "Connection: keep-alive\r\n"sv);
  }
  p = put(p, "\r\n"sv);
  out.resize(static_cast<size_t>(p - out.data()));
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
