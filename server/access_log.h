// access_log.h: the access log's line for one request, in Gunicorn's format or as JSON.
//
// A format is compiled once (Log::open, before fork) and then only read. Every byte that
// comes from the client is escaped, so one request is always one line: in Gunicorn's
// format as \xNN (control bytes, quotes, backslashes, non-ASCII); in JSON as a JSON
// string escape, with each byte that is not part of valid UTF-8 read as Latin-1 (\u00NN),
// as WSGI reads header bytes, so every line is valid JSON and no byte is lost.
// Thread: any (a compiled format is immutable).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "embed/wsgi_app.h"

namespace appserver::server {

// One request as the access log sees it. Header lists are name/value pairs. Empty views
// are values the request did not have (no request line yet, no user...).
struct AccessEntry {
  std::string_view remote_addr;
  std::string_view method;
  std::string_view target;
  std::string_view protocol;
  int status = 0;
  uint64_t body_bytes = 0;
  std::chrono::system_clock::time_point start;
  std::chrono::microseconds duration{0};
  std::span<const embed::HeaderView> request_headers;
  std::span<const embed::HeaderView> response_headers;
  std::string_view remote_user;
  std::string_view request_id;  // docs/operations.md#request-ids; empty before dispatch
};

class AccessFormat {
 public:
  // Gunicorn's --access-logformat: atoms such as %(h)s, %({name}i)s; anything else is
  // literal text.
  static AccessFormat gunicorn(std::string_view format);
  // One JSON object per line (--access-log-json); docs/operations.md#logging lists the keys.
  static AccessFormat json();

  // The line for entry, newline included. pid: the writing process (%(p)s and "pid").
  std::string line(const AccessEntry& entry, pid_t pid) const;

 private:
  struct Segment {
    char atom = 0;     // 0 for literal text; else the atom letter ('i'/'o'/'e' take a name)
    std::string text;  // the literal, or the name of %({name}i)s
  };
  void appendAtom(std::string& out, const Segment& seg, const AccessEntry& e, pid_t pid) const;

  bool json_ = false;
  std::vector<Segment> segments_;
};

// Appends bytes as the inside of a JSON string (no quotes): valid UTF-8 as it is; '"',
// '\\', control characters and DEL escaped; any other byte as \u00NN (its Latin-1 reading).
void appendJsonString(std::string& out, std::string_view bytes);

}  // namespace appserver::server
