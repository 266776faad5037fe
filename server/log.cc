// log.cc: log files, line prefixes and the access log format.
//
// Thread: any (state is written only by open(), before fork).
#include "log.h"

#include <fcntl.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "config.h"

namespace appserver::server {

namespace {

// An access log format compiled into literal text and atoms.
struct Segment {
  char atom = 0;     // 0 for literal text; else the atom letter ('i'/'o'/'e' with an argument)
  std::string text;  // the literal, or the header/variable name of {name}i
};

struct State {
  int error_fd = 2;
  int access_fd = -1;
  std::string error_path;   // "-" or a file name
  std::string access_path;  // "", "-" or a file name
  LogLevel level = LogLevel::Info;
  std::vector<Segment> access_format;
};

State& state() {
  static State s;  // set once by open(), before fork
  return s;
}

int openAppend(const std::string& path, int std_fd) {
  if (path == "-") {
    return std_fd;
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw ConfigError("cannot open log file " + path + ": " + std::strerror(errno));
  }
  return fd;
}

void writeAll(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return;  // a log that cannot be written must not take the server down
    }
    text.remove_prefix(static_cast<size_t>(n));
  }
}

// Gunicorn's atoms: %(h)s, %({name}i)s ... Anything else is literal text.
std::vector<Segment> compileFormat(std::string_view format) {
  std::vector<Segment> out;
  std::string literal;
  for (size_t i = 0; i < format.size();) {
    const size_t close = format.find(")s", i);
    if (format.substr(i, 2) == "%(" && close != std::string_view::npos) {
      std::string_view inner = format.substr(i + 2, close - i - 2);
      Segment seg;
      if (inner.size() >= 3 && inner.front() == '{' && inner[inner.size() - 2] == '}') {
        seg.atom = inner.back();
        seg.text = std::string(inner.substr(1, inner.size() - 3));
      } else if (inner.size() == 1) {
        seg.atom = inner.front();
      }
      if (seg.atom != 0) {
        out.push_back({0, std::exchange(literal, {})});
        out.push_back(std::move(seg));
        i = close + 2;
        continue;
      }
    }
    literal.push_back(format[i++]);
  }
  out.push_back({0, literal});
  return out;
}

// Request data in a log line: control bytes, quotes and backslashes escaped (no log injection).
void appendEscaped(std::string& out, std::string_view value) {
  for (unsigned char c : value) {
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
}

template <typename Header>
std::string_view findHeader(std::span<const Header> headers, std::string_view name) {
  for (const Header& h : headers) {
    if (h.name.size() == name.size() &&
        ::strncasecmp(h.name.data(), name.data(), name.size()) == 0) {
      return h.value;
    }
  }
  return "-";
}

void appendAtom(std::string& out, const Segment& seg, const AccessEntry& e) {
  const auto seconds = std::chrono::duration<double>(e.duration).count();
  switch (seg.atom) {
    case 'h':
      appendEscaped(out, e.remote_addr.empty() ? "-" : e.remote_addr);
      break;
    case 'l':
      out += '-';
      break;
    case 'u':
      appendEscaped(out, e.remote_user.empty() ? "-" : e.remote_user);
      break;
    case 't': {
      const time_t t = std::chrono::system_clock::to_time_t(e.start);
      tm local{};
      ::localtime_r(&t, &local);
      char buf[64];
      out.append(buf, ::strftime(buf, sizeof(buf), "[%d/%b/%Y:%H:%M:%S %z]", &local));
      break;
    }
    case 'r':
      if (e.method.empty()) {
        out += '-';  // refused before a request line was through
        break;
      }
      appendEscaped(out, e.method);
      out += ' ';
      appendEscaped(out, e.target);
      out += ' ';
      appendEscaped(out, e.protocol);
      break;
    case 'm':
      appendEscaped(out, e.method.empty() ? "-" : e.method);
      break;
    case 'U':
      appendEscaped(out, e.target.empty() ? "-" : e.target.substr(0, e.target.find('?')));
      break;
    case 'q': {
      const size_t q = e.target.find('?');
      appendEscaped(out, q == std::string_view::npos ? "" : e.target.substr(q + 1));
      break;
    }
    case 'H':
      appendEscaped(out, e.protocol.empty() ? "-" : e.protocol);
      break;
    case 's':
      out += std::to_string(e.status);
      break;
    case 'B':
      out += std::to_string(e.body_bytes);
      break;
    case 'b':
      out += e.body_bytes == 0 ? "-" : std::to_string(e.body_bytes);
      break;
    case 'f':
      appendEscaped(out, findHeader(e.request_headers, "referer"));
      break;
    case 'a':
      appendEscaped(out, findHeader(e.request_headers, "user-agent"));
      break;
    case 'T':
      out += std::to_string(static_cast<long long>(seconds));
      break;
    case 'M':
      out += std::to_string(e.duration.count() / 1000);
      break;
    case 'D':
      out += std::to_string(e.duration.count());
      break;
    case 'L':
      out += fmt::format("{:.6f}", seconds);
      break;
    case 'p':
      out += "<" + std::to_string(::getpid()) + ">";
      break;
    case 'i':
      appendEscaped(out, findHeader(e.request_headers, seg.text));
      break;
    case 'o':
      appendEscaped(out, findHeader(e.response_headers, seg.text));
      break;
    default:
      out += '-';
      break;  // %({var}e)s and unknown atoms
  }
}

constexpr const char* kLevelNames[] = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"};

}  // namespace

void Log::open(const Config& config) {
  State& s = state();
  s.error_path = config.error_logfile;
  s.access_path = config.access_logfile;
  s.error_fd = openAppend(config.error_logfile, 2);
  s.access_fd = config.access_logfile.empty() ? -1 : openAppend(config.access_logfile, 1);
  s.access_format = compileFormat(config.access_logformat);
  const std::string& l = config.log_level;
  s.level = l == "debug"      ? LogLevel::Debug
            : l == "warning"  ? LogLevel::Warning
            : l == "error"    ? LogLevel::Error
            : l == "critical" ? LogLevel::Critical
                              : LogLevel::Info;
}

bool Log::reopen() {
  State& s = state();
  for (auto [path, fd] : {std::pair{s.error_path, s.error_fd}, {s.access_path, s.access_fd}}) {
    if (path.empty() || path == "-") {
      continue;
    }
    const int fresh = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fresh < 0) {
      write(LogLevel::Error, fmt::format("cannot reopen {}: {}", path, std::strerror(errno)));
      return false;
    }
    ::dup3(fresh, fd, O_CLOEXEC);
    ::close(fresh);
  }
  return true;
}

bool Log::enabled(LogLevel level) { return level >= state().level; }

void Log::write(LogLevel level, std::string_view message) {
  const time_t now = ::time(nullptr);
  tm local{};
  ::localtime_r(&now, &local);
  char stamp[64];
  const size_t n = ::strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S %z", &local);
  std::string line = fmt::format("[{}] [{}] [{}] {}", std::string_view(stamp, n), ::getpid(),
                                 kLevelNames[static_cast<int>(level)], message);
  if (line.back() != '\n') {
    line.push_back('\n');
  }
  writeAll(state().error_fd, line);
}

bool Log::accessEnabled() { return state().access_fd >= 0; }

void Log::access(const AccessEntry& entry) {
  std::string line;
  line.reserve(256);
  for (const Segment& seg : state().access_format) {
    if (seg.atom == 0) {
      line += seg.text;
    } else {
      appendAtom(line, seg, entry);
    }
  }
  line.push_back('\n');
  writeAll(state().access_fd, line);
}

}  // namespace appserver::server
