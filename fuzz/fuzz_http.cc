// fuzz_http.cc: libFuzzer target for the request path of a worker, without Python.
//
// The input is the byte stream one client sends on one connection. It is parsed the way
// Connection drives HttpParser (server/connection.cc: feed, afterParse, startNextRequest):
// each read goes to execute(); after Complete the unconsumed rest is fed again after next()
// (pipelining); an error ends the connection; EOF calls finish(). The same stream is parsed
// three times, cut into reads differently (whole, one byte per read, and cuts derived from
// the input's hash), and the three transcripts must be equal: where a request ends must
// never depend on how TCP cut the bytes. Every complete request is checked against the
// framing rules of docs/security.md, then goes through what the server does before Python:
// ForwardedPolicy, the JWT gate (token extraction and a verification), decodePath, and the
// answers the server writes itself. The app call and buildHead() need embed/'s interpreter
// and are not fuzzed here (docs/security.md says why).
// Thread: libFuzzer's (one).
#include <strings.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "auth_gate.h"
#include "config.h"
#include "embed/wsgi_app.h"
#include "forwarded.h"
#include "http_parser.h"
#include "http_response.h"

namespace appserver::server {
namespace {

using fuzz::check;
using fuzz::fail;

using Result = HttpParser::Result;

constexpr size_t kMaxByteByByte = 4096;  // longer inputs skip the one-byte-per-read run
constexpr int64_t kNow = 1700000000;

uint64_t hashOf(std::string_view data) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (const char c : data) {
    h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  }
  return h;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool hasLineBreakOrNul(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

std::string readBody(embed::RequestBody body) {
  if (body.fd < 0) {
    return std::move(body.memory);
  }
  std::string out(body.size, '\0');
  const ssize_t n = ::pread(body.fd, out.data(), out.size(), 0);
  ::close(body.fd);
  check(n == static_cast<ssize_t>(body.size), "spooled body has the wrong size");
  return out;
}

// What must hold for any request the parser hands to the app (docs/security.md).
void checkRequest(const HttpRequest& r, const HttpLimits& limits, uint64_t body_size) {
  check(r.protocol == "HTTP/1.1" || r.protocol == "HTTP/1.0", "protocol", r.protocol);
  check(!r.method.empty(), "empty method");
  check(!r.target.empty(), "empty target");
  check(r.target.find_first_of(std::string_view(" \t\r\n\0", 5)) == std::string_view::npos,
        "whitespace or control byte in the target", r.target);
  check(r.target.size() <= limits.request_line, "target over the limit");
  check(r.headers.size() <= limits.fields, "more fields than the limit");
  size_t hosts = 0, types = 0, lengths = 0, codings = 0;
  for (const embed::HeaderView& h : r.headers) {
    check(!h.name.empty(), "empty field name");
    check(!hasLineBreakOrNul(h.name) && !hasLineBreakOrNul(h.value), "CR, LF or NUL in a field",
          h.value);
    check(h.name.find_first_of(" \t:") == std::string_view::npos, "bad field name", h.name);
    hosts += equalsIgnoreCase(h.name, "host");
    types += equalsIgnoreCase(h.name, "content-type");
    lengths += equalsIgnoreCase(h.name, "content-length");
    codings += equalsIgnoreCase(h.name, "transfer-encoding");
  }
  check(hosts <= 1 && types <= 1 && lengths <= 1 && codings <= 1, "repeated framing field");
  check(!(lengths > 0 && codings > 0), "Content-Length with Transfer-Encoding");
  check(!(codings > 0 && r.protocol != "HTTP/1.1"), "Transfer-Encoding in HTTP/1.0");
  check(r.chunked == (codings > 0), "chunked without Transfer-Encoding");
  check(!(r.chunked && r.content_length >= 0), "chunked with a length");
  if (r.content_length >= 0) {
    check(body_size == static_cast<uint64_t>(r.content_length), "body size != Content-Length");
  } else if (!r.chunked) {
    check(body_size == 0, "a body without framing");
  }
  check(body_size <= limits.body, "body over the limit");
  const bool path_free = r.target == "*" || r.method == "CONNECT";
  check(path_free || (!r.path.empty() && r.path.front() == '/'), "path", r.path);
}

// The server's own answers may not carry a request's bytes into a head.
void checkAnswer(int status, const HeaderList& headers, std::string_view body) {
  for (const auto& [name, value] : headers) {
    check(!hasLineBreakOrNul(name) && !hasLineBreakOrNul(value), "CR/LF in an answer", value);
  }
  const std::string out = serverResponse(status, "application/json", body, headers, true);
  check(out.starts_with("HTTP/1.1 " + std::to_string(status) + " "), "status line", out);
  check(out.find("\r\n\r\n") == out.size() - body.size() - 4, "head ends early", out);
}

// The JWT gate the server would run on complete requests (docs/auth.md): a secret from the
// environment, tokens from Authorization (Bearer or JWT) or the "jwt" cookie.
AuthGate& gate() {
  static std::unique_ptr<AuthGate> instance = [] {
    ::setenv("FUZZ_HTTP_JWT_SECRET", "fuzz-http-secret-fuzz-http-secret-0123456789", 1);
    JwtConfig config;
    config.verify.secret_env = "FUZZ_HTTP_JWT_SECRET";
    config.cookie = "jwt";
    config.header_types = "Bearer,JWT";
    config.exempt = {"/public/"};
    return AuthGate::create(config);
  }();
  return *instance;
}

// Everything after parsing that needs no Python, on one complete request.
void serve(const HttpRequest& r) {
  static const ForwardedPolicy policies[] = {
      {"*", false}, {"*", true}, {"127.0.0.1,::1", false}, {"127.0.0.1,::1", true}};
  for (const ForwardedPolicy& policy : policies) {
    std::string_view scheme = "http";
    std::string client = "127.0.0.1";
    policy.apply(r, "127.0.0.1", scheme, client);
    check(scheme == "http" || scheme == "https", "scheme", scheme);
    check(!hasLineBreakOrNul(client), "client address", client);
  }
  (void)embed::decodePath(r.path);
  const AuthGate::Decision d = gate().check(r, kNow);
  if (d.kind == AuthGate::Decision::Kind::Refuse) {
    checkAnswer(d.status, d.headers, d.body);
  }
}

struct Transcript {
  std::vector<std::string> events;
  bool operator==(const Transcript&) const = default;
};

// Fails with the first event where `cut` departs from `whole`, so a report shows the cause.
void checkSame(const Transcript& whole, const Transcript& cut, const char* what) {
  if (whole == cut) {
    return;
  }
  size_t i = 0;
  while (i < whole.events.size() && i < cut.events.size() && whole.events[i] == cut.events[i]) {
    ++i;
  }
  const auto at = [i](const Transcript& t) {
    return i < t.events.size() ? t.events[i] : std::string("(none)");
  };
  fail(what, "event " + std::to_string(i) + ": whole [" + at(whole) + "] cut [" + at(cut) + "]");
}

std::string describe(HttpRequest& r, const HttpLimits& limits, bool serve_it) {
  const std::string body = readBody(r.body.release());
  checkRequest(r, limits, body.size());
  if (serve_it) {
    serve(r);
  }
  std::string out;
  for (std::string_view part : {r.method, r.target, r.path, r.query, r.protocol}) {
    out.append(part).push_back('\x01');
  }
  for (const embed::HeaderView& h : r.headers) {
    out.append(h.name).append(": ").append(h.value).push_back('\x01');
  }
  out += std::to_string(r.content_length) + (r.chunked ? " chunked" : "") +
         (r.keep_alive ? " keep-alive" : " close") + (r.expect_continue ? " 100" : "") + "\x01";
  return out + body;
}

// One connection: the stream cut at `cuts` (ascending offsets), as Connection feeds it.
Transcript parse(std::string_view data, const std::vector<size_t>& cuts, const HttpLimits& limits,
                 uint64_t memory_limit, bool serve_it) {
  HttpParser parser(limits, memory_limit, "");
  Transcript t;
  size_t start = 0;
  for (size_t i = 0; i <= cuts.size(); ++i) {
    const size_t end = i < cuts.size() ? cuts[i] : data.size();
    std::string_view read = data.substr(start, end - start);
    start = end;
    while (!read.empty()) {
      size_t consumed = 0;
      const Result result = parser.execute(read, consumed);
      check(consumed <= read.size(), "consumed more than given");
      if (result == Result::NeedMore) {
        // Connection drops the read after NeedMore: every byte must have been taken.
        check(consumed == read.size(), "NeedMore left bytes unconsumed");
        break;
      }
      if (result == Result::Error) {
        const int status = parser.errorStatus();
        check(status >= 400 && status <= 599, "error status");
        (void)simpleResponse(status, true);
        // Which rule refuses first may depend on the cuts (a field over a limit is seen
        // before its bad byte when llhttp hands the name over at the end of a read), so
        // the status stays out of the transcript; that a refusal comes, and where, does not.
        t.events.emplace_back("error");
        return t;
      }
      t.events.push_back(describe(parser.request(), limits, serve_it));
      parser.next();
      read.remove_prefix(consumed);  // pipelined: Connection's pending_
    }
  }
  const Result last = parser.finish();  // the client half-closes
  if (last == Result::Complete) {
    t.events.push_back(describe(parser.request(), limits, serve_it));
  } else if (last == Result::Error) {
    t.events.emplace_back("eof error");
  }
  return t;
}

}  // namespace
}  // namespace appserver::server

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  using namespace appserver::server;
  const std::string_view data(reinterpret_cast<const char*>(bytes), size);
  uint64_t h = hashOf(data);
  HttpLimits limits;
  if (h % 4 == 0) {  // small limits, to reach 413/414/431 on small inputs
    limits.request_line = 64;
    limits.fields = 4;
    limits.field_size = 128;
    limits.body = 256;
  }
  const uint64_t memory_limit = h % 8 == 1 ? 16 : 1 << 20;  // sometimes spool to a file

  const Transcript whole = parse(data, {}, limits, memory_limit, true);
  std::vector<size_t> cuts;
  for (size_t at = 0; at + 1 < size;) {
    h = h * 6364136223846793005ULL + 1442695040888963407ULL;
    at += 1 + (h >> 33) % 16;
    if (at < size) {
      cuts.push_back(at);
    }
  }
  checkSame(whole, parse(data, cuts, limits, memory_limit, false),
            "the stream parses differently when cut into other reads");
  if (size <= kMaxByteByByte) {
    cuts.clear();
    for (size_t at = 1; at < size; ++at) {
      cuts.push_back(at);
    }
    checkSame(whole, parse(data, cuts, limits, memory_limit, false),
              "the stream parses differently when read one byte at a time");
  }
  return 0;
}
