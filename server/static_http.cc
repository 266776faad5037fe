// static_http.cc: path checks, content negotiation, ranges and validators for static files.
//
// Thread: any.
#include "static_http.h"

#include <fmt/format.h>
#include <time.h>

#include <algorithm>
#include <charconv>

#include "ascii.h"

namespace appserver::server {

namespace {

constexpr std::string_view kOctetStream = "application/octet-stream";

// Extension (lowercase) -> Content-Type. Built in, so the answer never depends on whether
// the host has /etc/mime.types; the types are what browsers need for the files Django's
// collectstatic gathers (scripts and styles must be exact, or nosniff browsers refuse them).
struct MediaType {
  std::string_view extension;
  std::string_view type;
};
constexpr MediaType kMediaTypes[] = {
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"map", "application/json; charset=utf-8"},
    {"json", "application/json; charset=utf-8"},
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"xml", "application/xml; charset=utf-8"},
    {"svg", "image/svg+xml; charset=utf-8"},
    {"webmanifest", "application/manifest+json; charset=utf-8"},
    {"wasm", "application/wasm"},
    {"png", "image/png"},
    {"apng", "image/apng"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/vnd.microsoft.icon"},
    {"bmp", "image/bmp"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"eot", "application/vnd.ms-fontobject"},
    {"pdf", "application/pdf"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"mp3", "audio/mpeg"},
    {"ogg", "audio/ogg"},
    {"wav", "audio/wav"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
};

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// Percent-decodes raw; false for a malformed escape or a byte no file name below the
// directory may hold (see StaticPath::Verdict::BadRequest).
bool decodeStaticPath(std::string_view raw, std::string& decoded) {
  decoded.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    const bool escaped = c == '%';
    if (escaped) {
      if (i + 2 >= raw.size() || hexValue(raw[i + 1]) < 0 || hexValue(raw[i + 2]) < 0) {
        return false;
      }
      c = static_cast<char>(hexValue(raw[i + 1]) * 16 + hexValue(raw[i + 2]));
      i += 2;
    }
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f || c == '\\' || (escaped && c == '/')) {
      return false;
    }
    decoded.push_back(c);
  }
  return true;
}

// A non-negative decimal number made of digits only; nullopt otherwise or on overflow.
std::optional<int64_t> parseDigits(std::string_view text) {
  int64_t value = 0;
  if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

// A qvalue (RFC 9110 12.4.2) in thousandths, or -1 when malformed.
int parseQuality(std::string_view text) {
  if (text.empty() || (text[0] != '0' && text[0] != '1')) {
    return -1;
  }
  int q = (text[0] - '0') * 1000;
  if (text.size() == 1) {
    return q;
  }
  if (text[1] != '.' || text.size() > 5) {
    return -1;
  }
  int scale = 100;
  for (char c : text.substr(2)) {
    if (c < '0' || c > '9') {
      return -1;
    }
    q += (c - '0') * scale;
    scale /= 10;
  }
  return q > 1000 ? -1 : q;
}

// The q-value of one Accept-Encoding element's parameters (";q=0.5"): 1000 when none.
int elementQuality(std::string_view params) {
  int q = 1000;
  while (!params.empty()) {
    const size_t semi = params.find(';');
    const std::string_view param = trimBlanks(params.substr(0, semi));
    const size_t eq = param.find('=');
    if (eq != std::string_view::npos && equalsIgnoringCase(trimBlanks(param.substr(0, eq)), "q")) {
      q = parseQuality(trimBlanks(param.substr(eq + 1)));
    }
    params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
  }
  return q;
}

// Whether a list of entity tags (If-None-Match) holds etag under the weak comparison
// (RFC 9110 8.8.3.2): "W/" prefixes aside, the quoted tags are equal.
bool listHoldsTag(std::string_view list, std::string_view etag) {
  while (true) {
    const size_t start = list.find_first_not_of(" \t,");
    if (start == std::string_view::npos) {
      return false;
    }
    list.remove_prefix(start);
    if (list.front() == '*') {
      return true;
    }
    if (list.starts_with("W/")) {
      list.remove_prefix(2);
    }
    const size_t close = list.size() > 1 && list.front() == '"' ? list.find('"', 1)
                                                                : std::string_view::npos;
    if (close == std::string_view::npos) {
      return false;  // malformed: stop rather than guess
    }
    if (list.substr(0, close + 1) == etag) {
      return true;
    }
    list.remove_prefix(close + 1);
  }
}

bool isContentHash(std::string_view part) {
  return part.size() == 12 && part.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

StaticPath checkStaticPath(std::string_view raw) {
  StaticPath result;
  std::string decoded;
  if (!decodeStaticPath(raw, decoded)) {
    result.verdict = StaticPath::Verdict::BadRequest;
    return result;
  }
  // Every segment must name an entry: no empty ones (a leading or trailing "/": the
  // directory itself), no "." or "..".
  for (size_t start = 0;;) {
    const size_t slash = decoded.find('/', start);
    const std::string_view segment = std::string_view(decoded).substr(start, slash - start);
    if (segment.empty() || segment == "." || segment == "..") {
      return result;
    }
    if (slash == std::string::npos) {
      break;
    }
    start = slash + 1;
  }
  result.verdict = StaticPath::Verdict::Ok;
  result.relative = std::move(decoded);
  return result;
}

std::string_view codingSuffix(Coding coding) {
  switch (coding) {
    case Coding::Brotli:
      return ".br";
    case Coding::Gzip:
      return ".gz";
  }
  return {};
}

std::string_view codingName(Coding coding) {
  switch (coding) {
    case Coding::Brotli:
      return "br";
    case Coding::Gzip:
      return "gzip";
  }
  return {};
}

AcceptedCodings acceptedCodings(std::string_view accept_encoding) {
  constexpr int kUnset = -2;
  int brotli = kUnset;
  int gzip = kUnset;
  int any = kUnset;
  while (!accept_encoding.empty()) {
    const size_t comma = accept_encoding.find(',');
    const std::string_view element = accept_encoding.substr(0, comma);
    const size_t semi = element.find(';');
    const std::string_view name = trimBlanks(element.substr(0, semi));
    const int q = semi == std::string_view::npos ? 1000 : elementQuality(element.substr(semi + 1));
    if (equalsIgnoringCase(name, "br")) {
      brotli = q;
    } else if (equalsIgnoringCase(name, "gzip") || equalsIgnoringCase(name, "x-gzip")) {
      gzip = q;
    } else if (name == "*") {
      any = q;
    }
    accept_encoding =
        comma == std::string_view::npos ? std::string_view() : accept_encoding.substr(comma + 1);
  }
  brotli = brotli != kUnset ? brotli : any;
  gzip = gzip != kUnset ? gzip : any;
  AcceptedCodings result;
  if (brotli > 0) {
    result.best[result.count++] = Coding::Brotli;
  }
  if (gzip > 0) {
    result.best[result.count++] = Coding::Gzip;
  }
  if (result.count == 2 && gzip > brotli) {
    std::swap(result.best[0], result.best[1]);
  }
  return result;
}

ByteRange parseRange(std::string_view range, int64_t size) {
  const ByteRange whole;
  const size_t eq = range.find('=');
  if (eq == std::string_view::npos || !equalsIgnoringCase(trimBlanks(range.substr(0, eq)), "bytes")) {
    return whole;
  }
  std::string_view spec;
  int specs = 0;
  for (std::string_view rest = range.substr(eq + 1); !rest.empty();) {
    const size_t comma = rest.find(',');
    if (const std::string_view element = trimBlanks(rest.substr(0, comma)); !element.empty()) {
      spec = element;
      ++specs;
    }
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  const size_t dash = spec.find('-');
  if (specs != 1 || dash == std::string_view::npos) {
    return whole;
  }
  ByteRange part{ByteRange::Kind::Part, 0, size - 1};
  const ByteRange unsatisfiable{ByteRange::Kind::Unsatisfiable};
  if (dash == 0) {  // "-n": the last n bytes
    const std::optional<int64_t> n = parseDigits(spec.substr(1));
    if (!n) {
      return whole;
    }
    if (*n == 0 || size == 0) {
      return unsatisfiable;
    }
    part.first = std::max<int64_t>(0, size - *n);
    return part;
  }
  const std::optional<int64_t> first = parseDigits(spec.substr(0, dash));
  const std::string_view last_text = spec.substr(dash + 1);
  const std::optional<int64_t> last = last_text.empty() ? size - 1 : parseDigits(last_text);
  if (!first || !last || (!last_text.empty() && *last < *first)) {
    return whole;  // an invalid range-spec makes the whole header invalid (RFC 9110 14.1.1)
  }
  if (*first >= size) {
    return unsatisfiable;
  }
  part.first = *first;
  part.last = std::min(*last, size - 1);
  return part;
}

std::string makeEtag(uint64_t size, int64_t mtime_ns, std::string_view coding) {
  return fmt::format("\"{:x}-{:x}{}{}\"", size, static_cast<uint64_t>(mtime_ns),
                     coding.empty() ? "" : "-", coding);
}

bool notModified(std::string_view if_none_match, std::string_view if_modified_since,
                 std::string_view etag, time_t modified) {
  if (!if_none_match.empty()) {
    return listHoldsTag(if_none_match, etag);  // If-Modified-Since is then ignored
  }
  const std::optional<time_t> since = parseHttpDate(trimBlanks(if_modified_since));
  return since && modified <= *since;
}

bool ifRangeHolds(std::string_view if_range, std::string_view etag, time_t modified) {
  if_range = trimBlanks(if_range);
  if (if_range.empty()) {
    return true;
  }
  if (if_range.front() == '"' || if_range.starts_with("W/")) {
    return if_range == etag;  // strong comparison: a weak tag never matches
  }
  const std::optional<time_t> date = parseHttpDate(if_range);
  return date && *date == modified;
}

std::optional<time_t> parseHttpDate(std::string_view text) {
  if (text.empty() || text.size() > 64) {
    return std::nullopt;
  }
  const std::string copy(text);  // strptime needs the terminating NUL
  for (const char* format : {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
                             "%a %b %e %H:%M:%S %Y"}) {
    tm fields{};
    const char* end = ::strptime(copy.c_str(), format, &fields);
    if (end == copy.c_str() + copy.size()) {
      return ::timegm(&fields);
    }
  }
  return std::nullopt;
}

std::string_view contentTypeFor(std::string_view name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || name.find('/', dot) != std::string_view::npos) {
    return kOctetStream;
  }
  const std::string_view extension = name.substr(dot + 1);
  for (const MediaType& media : kMediaTypes) {
    if (equalsIgnoringCase(extension, media.extension)) {
      return media.type;
    }
  }
  return kOctetStream;
}

bool isHashedName(std::string_view name) {
  name = name.substr(name.rfind('/') + 1);  // npos + 1 == 0: the whole name
  const size_t last = name.rfind('.');
  if (last == std::string_view::npos || last == 0) {
    return false;
  }
  if (isContentHash(name.substr(last + 1))) {
    return true;  // "name.0123456789ab": a file without an extension
  }
  const size_t before = name.rfind('.', last - 1);
  return before != std::string_view::npos && before > 0 &&
         isContentHash(name.substr(before + 1, last - before - 1));
}

}  // namespace appserver::server
