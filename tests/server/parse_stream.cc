// parse_stream.cc: feeding HttpParser and copying out what it parsed.
//
// Thread: the test's main thread.
#include "parse_stream.h"

#include <unistd.h>

#include <algorithm>

namespace appserver::server {

using Result = HttpParser::Result;

std::string readBody(embed::RequestBody body) {
  if (body.fd < 0) {
    return body.memory;
  }
  std::string out(body.size, '\0');
  const ssize_t n = ::pread(body.fd, out.data(), out.size(), 0);
  ::close(body.fd);
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

namespace {

Parsed snapshot(HttpRequest& r) {
  Parsed p{std::string(r.method),
           std::string(r.target),
           std::string(r.path),
           std::string(r.query),
           std::string(r.protocol),
           {},
           {},
           r.content_length,
           r.chunked,
           r.keep_alive};
  for (const embed::HeaderView& h : r.headers) {
    p.headers.emplace_back(h.name, h.value);
  }
  p.body = readBody(r.body.release());
  return p;
}

}  // namespace

Outcome parseStream(std::string_view raw, size_t piece, size_t want, bool eof,
                    const HttpLimits& limits, uint64_t memory_limit) {
  HttpParser parser(limits, memory_limit, "");
  Outcome out;
  while (out.requests.size() < want) {
    if (out.offset == raw.size()) {
      if (!eof) {
        out.last = Result::NeedMore;
        break;
      }
      eof = false;  // finish() once
      out.last = parser.finish();
    } else {
      const size_t n = std::min(piece, raw.size() - out.offset);
      size_t consumed = 0;
      out.last = parser.execute(raw.substr(out.offset, n), consumed);
      out.offset += consumed;
      if (out.last == Result::NeedMore && consumed == n) {
        continue;
      }
    }
    if (out.last == Result::Complete) {
      out.requests.push_back(snapshot(parser.request()));
      parser.next();
      continue;
    }
    if (out.last == Result::Error) {
      out.status = parser.errorStatus();
    }
    break;
  }
  return out;
}

}  // namespace appserver::server
