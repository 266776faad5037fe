// http_response.h: serialising response heads, chunked framing and the server's own answers.
//
// The app's headers go out as given except the hop-by-hop ones, which describe this
// connection and are the server's to decide (Connection, Keep-Alive, Transfer-Encoding, ...).
// Framing: the app's Content-Length; else the length when the whole body is known; else
// chunked on HTTP/1.1; else the end of the connection (HTTP/1.0).
// Thread: the worker's loop thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "embed/wsgi_app.h"

namespace appserver::server {

struct HttpRequest;

// How the body of a response is framed on the wire; decided once, with the head.
struct ResponseFraming {
  int status = 200;
  bool send_body = true;  // false for HEAD, 204 and 304
  bool chunked = false;
  bool close = false;       // the connection ends after this response
  int64_t length = -1;      // the Content-Length sent, or -1
  bool bad_length = false;  // the app's Content-Length was malformed (answer 500 instead)
};

// The head for the app's response, appended to out. body_known: the whole body (body_size
// bytes) is known now. keep_alive: the connection may stay open if the response allows it.
// request_id: sent as X-Request-ID unless it is "" or the app sent one.
ResponseFraming buildHead(std::string& out, const HttpRequest& request, const embed::WsgiCall& call,
                          bool body_known, uint64_t body_size, bool keep_alive,
                          std::string_view request_id);

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// A complete response the server makes itself, with Server, Date, Content-Length and
// Connection: close when close is set.
std::string serverResponse(int status, std::string_view content_type, std::string_view body,
                           const HeaderList& extra, bool close);

// Appends the head of a response the server makes itself: the status line, Server, Date,
// fields (complete "Name: value\r\n" lines), Content-Length when length >= 0,
// Connection: close when close is set, and the blank line.
void appendServerHead(std::string& out, int status, std::string_view fields, int64_t length,
                      bool close);

// Appends t (seconds since the epoch) as an IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
void appendHttpDate(std::string& out, time_t t);

// serverResponse() with a short text body naming the status (errors).
std::string simpleResponse(int status, bool close);

// "HTTP/1.1 100 Continue\r\n\r\n"
std::string_view continueResponse();

// Appends the chunk-size line for a chunk of n bytes (n > 0).
void appendChunkHeader(std::string& out, size_t n);
constexpr std::string_view kChunkEnd = "\r\n";        // after each chunk's data
constexpr std::string_view kLastChunk = "0\r\n\r\n";  // the end of a chunked body

// The standard reason phrase for a status the server produces itself.
std::string_view reasonPhrase(int status);

}  // namespace appserver::server
