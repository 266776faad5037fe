// access_log.cc: Gunicorn's access log atoms, the JSON line, and their escaping.
//
// Thread: any.
#include "access_log.h"

#include <fmt/format.h>
#include <time.h>

#include <utility>

#include "ascii.h"

namespace appserver::server {

namespace {

// Request data in a Gunicorn-format line: control bytes, quotes, backslashes and non-ASCII
// bytes as \xNN (no log injection).
void appendEscaped(std::string& out, std::string_view value) {
  for (unsigned char c : value) {
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
}

// The length of the well-formed UTF-8 sequence that s starts with (Unicode's table 3-7:
// no overlong forms, no surrogates, nothing above U+10FFFF), or 0.
size_t utf8Length(std::string_view s) {
  const auto byte = [&](size_t i) { return i < s.size() ? static_cast<unsigned char>(s[i]) : 0; };
  const unsigned char b0 = byte(0);
  const auto tail = [&](size_t i) { return byte(i) >= 0x80 && byte(i) <= 0xbf; };
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    return tail(1) ? 2 : 0;
  }
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const unsigned char lo = b0 == 0xe0 ? 0xa0 : 0x80;
    const unsigned char hi = b0 == 0xed ? 0x9f : 0xbf;
    return byte(1) >= lo && byte(1) <= hi && tail(2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const unsigned char lo = b0 == 0xf0 ? 0x90 : 0x80;
    const unsigned char hi = b0 == 0xf4 ? 0x8f : 0xbf;
    return byte(1) >= lo && byte(1) <= hi && tail(2) && tail(3) ? 4 : 0;
  }
  return 0;
}

// A JSON string, or null for a value the request did not have.
void appendJsonValue(std::string& out, std::string_view value) {
  if (value.empty()) {
    out += "null";
    return;
  }
  out += '"';
  appendJsonString(out, value);
  out += '"';
}

std::string_view findHeader(std::span<const embed::HeaderView> headers, std::string_view name) {
  for (const embed::HeaderView& h : headers) {
    if (equalsIgnoringCase(h.name, name)) {
      return h.value;
    }
  }
  return {};
}

std::string_view orDash(std::string_view value) { return value.empty() ? "-" : value; }

// "2024-01-02T03:04:05.123+00:00": ISO 8601 in local time, milliseconds and the offset.
void appendIsoTime(std::string& out, std::chrono::system_clock::time_point when) {
  const time_t t = std::chrono::system_clock::to_time_t(when);
  tm local{};
  ::localtime_r(&t, &local);
  char stamp[32];
  const size_t n = ::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &local);
  char zone[8];
  ::strftime(zone, sizeof(zone), "%z", &local);  // "+0000"
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count() % 1000;
  out += fmt::format("{}.{:03d}{}:{}", std::string_view(stamp, n), ms, std::string_view(zone, 3),
                     std::string_view(zone + 3, 2));
}

}  // namespace

void appendJsonString(std::string& out, std::string_view bytes) {
  for (size_t i = 0; i < bytes.size();) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x80) {
      if (const size_t n = utf8Length(bytes.substr(i)); n > 0) {
        out.append(bytes.substr(i, n));
        i += n;
        continue;
      }
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
}

AccessFormat AccessFormat::gunicorn(std::string_view format) {
  AccessFormat out;
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
        out.segments_.push_back({0, std::exchange(literal, {})});
        out.segments_.push_back(std::move(seg));
        i = close + 2;
        continue;
      }
    }
    literal.push_back(format[i++]);
  }
  out.segments_.push_back({0, literal});
  return out;
}

AccessFormat AccessFormat::json() {
  AccessFormat out;
  out.json_ = true;
  return out;
}

std::string AccessFormat::line(const AccessEntry& e, pid_t pid) const {
  std::string out;
  out.reserve(256);
  if (json_) {
    const size_t q = e.target.find('?');
    out += "{\"time\":\"";
    appendIsoTime(out, e.start);
    out += "\",\"remote_addr\":";
    appendJsonValue(out, e.remote_addr);
    out += ",\"method\":";
    appendJsonValue(out, e.method);
    out += ",\"path\":";
    appendJsonValue(out, e.target.substr(0, q));
    out += ",\"query\":";
    appendJsonValue(out, q == std::string_view::npos ? "" : e.target.substr(q + 1));
    out += ",\"protocol\":";
    appendJsonValue(out, e.protocol);
    out += fmt::format(",\"status\":{},\"bytes\":{},\"duration\":{:.6f},\"referer\":", e.status,
                       e.body_bytes, std::chrono::duration<double>(e.duration).count());
    appendJsonValue(out, findHeader(e.request_headers, "referer"));
    out += ",\"user_agent\":";
    appendJsonValue(out, findHeader(e.request_headers, "user-agent"));
    out += ",\"user\":";
    appendJsonValue(out, e.remote_user);
    out += ",\"request_id\":";
    appendJsonValue(out, e.request_id);
    out += fmt::format(",\"pid\":{}}}\n", pid);
    return out;
  }
  for (const Segment& seg : segments_) {
    if (seg.atom == 0) {
      out += seg.text;
    } else {
      appendAtom(out, seg, e, pid);
    }
  }
  out.push_back('\n');
  return out;
}

void AccessFormat::appendAtom(std::string& out, const Segment& seg, const AccessEntry& e,
                              pid_t pid) const {
  const auto seconds = std::chrono::duration<double>(e.duration).count();
  switch (seg.atom) {
    case 'h':
      appendEscaped(out, orDash(e.remote_addr));
      break;
    case 'l':
      out += '-';
      break;
    case 'u':
      appendEscaped(out, orDash(e.remote_user));
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
      appendEscaped(out, orDash(e.method));
      break;
    case 'U':
      appendEscaped(out, orDash(e.target.substr(0, e.target.find('?'))));
      break;
    case 'q': {
      const size_t q = e.target.find('?');
      appendEscaped(out, q == std::string_view::npos ? "" : e.target.substr(q + 1));
      break;
    }
    case 'H':
      appendEscaped(out, orDash(e.protocol));
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
      appendEscaped(out, orDash(findHeader(e.request_headers, "referer")));
      break;
    case 'a':
      appendEscaped(out, orDash(findHeader(e.request_headers, "user-agent")));
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
      out += "<" + std::to_string(pid) + ">";
      break;
    case 'i':
      appendEscaped(out, orDash(findHeader(e.request_headers, seg.text)));
      break;
    case 'o':
      appendEscaped(out, orDash(findHeader(e.response_headers, seg.text)));
      break;
    default:
      out += '-';
      break;  // %({var}e)s and unknown atoms
  }
}

}  // namespace appserver::server
