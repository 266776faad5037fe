// strict_json.cc: the strict scanner, and nlohmann::json behind it where a tree is needed.
//
// The scanner is iterative (an explicit stack of open containers, bounded by max_depth)
// and keeps the member names of every open object in one list. An object's names are
// sorted and compared when it closes, so a document of n names costs O(n log n) even
// before its signature is checked, never the O(n^2) of comparing each name with the ones
// before. Only the status is reported, so finding a repeat at the object's end instead of
// at the name changes nothing: when a scan stops early (bad syntax, excess depth) the open
// objects are checked too, and any repeat there lies before the point of stopping, where
// nlohmann's callback would have reported it first. Both lists, and the names that need
// unescaping, live in an arena on the stack: a token's header and payload allocate nothing.
// Thread: any.
#include "auth/strict_json.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <clocale>  // newlocale
#include <cmath>
#include <cstdlib>  // strtod_l
#include <memory_resource>
#include <vector>

namespace appserver::auth {

namespace {

using Json = nlohmann::json;

// Stack room for the scanner's lists; a large document (a JWKS) spills to the heap.
constexpr std::size_t kArenaBytes = 2048;
constexpr std::size_t kReservedNames = 48;
constexpr std::size_t kReservedContainers = 24;
// A longer integer may not fit 64 bits and then is a double that must be finite.
constexpr std::size_t kSafeIntegerDigits = 18;

bool isDigit(char c) { return c >= '0' && c <= '9'; }

bool isWhitespace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The UTF-16 code unit written as four hex digits at text[pos], or -1.
int readHex4(std::string_view text, std::size_t pos) {
  if (pos + 4 > text.size()) {
    return -1;
  }
  const char* const first = text.data() + pos;
  unsigned unit = 0;
  const auto [end, error] = std::from_chars(first, first + 4, unit, 16);
  return error == std::errc() && end == first + 4 ? static_cast<int>(unit) : -1;
}

bool isHighSurrogate(int unit) { return unit >= 0xD800 && unit <= 0xDBFF; }
bool isLowSurrogate(int unit) { return unit >= 0xDC00 && unit <= 0xDFFF; }

// Length of the UTF-8 sequence whose lead byte (>= 0x80) is text[pos], or 0 when it is not
// valid RFC 3629: no overlong forms, no encoded surrogates, nothing above U+10FFFF.
std::size_t utf8SequenceLength(std::string_view text, std::size_t pos) {
  const auto byte = [text](std::size_t i) -> unsigned {
    return i < text.size() ? static_cast<unsigned char>(text[i]) : 0;
  };
  const unsigned lead = byte(pos);
  unsigned low = 0x80;  // the second byte's range, narrowed for a few lead bytes
  unsigned high = 0xBF;
  std::size_t length = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    low = lead == 0xE0 ? 0xA0 : low;
    high = lead == 0xED ? 0x9F : high;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    low = lead == 0xF0 ? 0x90 : low;
    high = lead == 0xF4 ? 0x8F : high;
  } else {
    return 0;
  }
  if (byte(pos + 1) < low || byte(pos + 1) > high) {
    return 0;
  }
  for (std::size_t i = pos + 2; i < pos + length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) {
      return 0;
    }
  }
  return length;
}

char* putUtf8(std::uint32_t code_point, char* out) {
  if (code_point < 0x80) {
    *out++ = static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    *out++ = static_cast<char>(0xC0 | (code_point >> 6));
    *out++ = static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    *out++ = static_cast<char>(0xE0 | (code_point >> 12));
    *out++ = static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    *out++ = static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    *out++ = static_cast<char>(0xF0 | (code_point >> 18));
    *out++ = static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    *out++ = static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    *out++ = static_cast<char>(0x80 | (code_point & 0x3F));
  }
  return out;
}

// Decodes body, the inside of a string the scanner accepted, into out, which has room for
// body.size() bytes (no escape decodes longer than it is written). Returns the length.
std::size_t decodeString(std::string_view body, char* out) {
  char* const start = out;
  for (std::size_t i = 0; i < body.size();) {
    if (body[i] != '\\') {
      *out++ = body[i++];
      continue;
    }
    const char escape = body[i + 1];
    i += 2;
    switch (escape) {
      case 'b':
        *out++ = '\b';
        break;
      case 'f':
        *out++ = '\f';
        break;
      case 'n':
        *out++ = '\n';
        break;
      case 'r':
        *out++ = '\r';
        break;
      case 't':
        *out++ = '\t';
        break;
      case 'u': {
        auto code_point = static_cast<std::uint32_t>(readHex4(body, i));
        i += 4;
        if (isHighSurrogate(static_cast<int>(code_point))) {  // a low one follows as \uXXXX
          const auto low = static_cast<std::uint32_t>(readHex4(body, i + 2));
          code_point = 0x10000 + ((code_point - 0xD800) << 10) + (low - 0xDC00);
          i += 6;
        }
        out = putUtf8(code_point, out);
        break;
      }
      default:
        *out++ = escape;
        break;  // '"', '\\' or '/'
    }
  }
  return static_cast<std::size_t>(out - start);
}

// strtod in the "C" locale whatever the process's (an app may call setlocale).
locale_t cLocale() {
  static const locale_t locale = newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(nullptr));
  return locale;
}

class Scanner {
 public:
  Scanner(std::string_view text, int max_depth, JsonChildVisitor on_child)
      : text_(text),
        max_depth_(max_depth),
        on_child_(on_child),
        arena_(buffer_.data(), buffer_.size()),
        names_(&arena_),
        open_(&arena_) {
    names_.reserve(kReservedNames);
    open_.reserve(kReservedContainers);
  }

  Status run(JsonType& root);

 private:
  struct Container {
    JsonType type;
    std::size_t first_name;  // index into names_ of the container's first member name
  };

  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skipWhitespace() {
    while (pos_ < text_.size() && isWhitespace(text_[pos_])) {
      ++pos_;
    }
  }
  void skipDigits() {
    while (isDigit(peek())) {
      ++pos_;
    }
  }

  Status beginValue(JsonType& type);
  Status scanString(bool& escaped);
  bool scanEscape();
  Status scanNumber();
  Status scanLiteral(std::string_view word);
  Status scanMemberName();
  Status open(JsonType type);
  Status close();
  void endValue();
  bool hasRepeatedName(std::size_t first, std::size_t end);
  Status stop(Status reason);

  std::string_view text_;
  std::size_t pos_ = 0;
  int max_depth_;
  JsonChildVisitor on_child_;
  std::array<std::byte, kArenaBytes> buffer_;
  std::pmr::monotonic_buffer_resource arena_;
  std::pmr::vector<std::string_view> names_;  // decoded names of every open object
  std::pmr::vector<Container> open_;
  // The child of the top-level value being scanned: its name, start and type.
  std::string_view child_name_;
  std::size_t child_start_ = 0;
  JsonType child_type_ = JsonType::Null;
};

Status Scanner::run(JsonType& root) {
  if (text_.starts_with("\xEF\xBB\xBF")) {
    pos_ = 3;  // nlohmann skips a UTF-8 byte order mark
  }
  bool expect_value = true;
  for (bool first = true;; first = false) {
    skipWhitespace();
    Status status = Status::Ok;
    if (expect_value) {
      JsonType type = JsonType::Null;
      status = beginValue(type);
      root = first ? type : root;
      const bool opened = type == JsonType::Object || type == JsonType::Array;
      if (status == Status::Ok && opened) {
        skipWhitespace();
        if (peek() == (type == JsonType::Object ? '}' : ']')) {
          ++pos_;
          status = close();
          expect_value = false;
        } else if (type == JsonType::Object) {
          status = scanMemberName();
        }
      } else if (status == Status::Ok) {
        endValue();
        expect_value = false;
      }
    } else if (open_.empty()) {
      return pos_ == text_.size() ? Status::Ok : stop(Status::JsonInvalid);
    } else if (peek() == ',') {
      ++pos_;
      expect_value = true;
      if (open_.back().type == JsonType::Object) {
        skipWhitespace();
        status = scanMemberName();
      }
    } else if (peek() == (open_.back().type == JsonType::Object ? '}' : ']')) {
      ++pos_;
      status = close();
    } else {
      status = Status::JsonInvalid;
    }
    if (status != Status::Ok) {
      return stop(status);
    }
  }
}

// Consumes a scalar whole, or the bracket of a container (which open() pushes).
Status Scanner::beginValue(JsonType& type) {
  if (open_.size() == 1) {
    child_start_ = pos_;
  }
  bool escaped = false;
  Status status = Status::Ok;
  switch (peek()) {
    case '{':
      type = JsonType::Object;
      break;
    case '[':
      type = JsonType::Array;
      break;
    case '"':
      type = JsonType::String;
      status = scanString(escaped);
      break;
    case 't':
      type = JsonType::Boolean;
      status = scanLiteral("true");
      break;
    case 'f':
      type = JsonType::Boolean;
      status = scanLiteral("false");
      break;
    case 'n':
      type = JsonType::Null;
      status = scanLiteral("null");
      break;
    default:
      type = JsonType::Number;
      status = scanNumber();
      break;
  }
  if (open_.size() == 1) {
    child_type_ = type;
  }
  if (status == Status::Ok && (type == JsonType::Object || type == JsonType::Array)) {
    status = open(type);
  }
  return status;
}

Status Scanner::scanString(bool& escaped) {
  ++pos_;  // the opening quote
  while (pos_ < text_.size()) {
    const auto c = static_cast<unsigned char>(text_[pos_]);
    if (c == '"') {
      ++pos_;
      return Status::Ok;
    }
    if (c == '\\') {
      escaped = true;
      if (!scanEscape()) {
        return Status::JsonInvalid;
      }
    } else if (c < 0x20) {
      return Status::JsonInvalid;  // control characters must be escaped
    } else if (c < 0x80) {
      ++pos_;
    } else {
      const std::size_t length = utf8SequenceLength(text_, pos_);
      if (length == 0) {
        return Status::JsonInvalid;
      }
      pos_ += length;
    }
  }
  return Status::JsonInvalid;  // no closing quote
}

// One escape at pos_; a \u high surrogate must be followed by a \u low one.
bool Scanner::scanEscape() {
  const char escape = pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0';
  if (std::string_view("\"\\/bfnrt").find(escape) != std::string_view::npos) {
    pos_ += 2;
    return true;
  }
  const int unit = escape == 'u' ? readHex4(text_, pos_ + 2) : -1;
  if (unit < 0 || isLowSurrogate(unit)) {
    return false;
  }
  pos_ += 6;
  if (!isHighSurrogate(unit)) {
    return true;
  }
  if (!text_.substr(pos_).starts_with("\\u") || !isLowSurrogate(readHex4(text_, pos_ + 2))) {
    return false;
  }
  pos_ += 6;
  return true;
}

Status Scanner::scanNumber() {
  const std::size_t start = pos_;
  if (peek() == '-') {
    ++pos_;
  }
  if (peek() == '0') {
    ++pos_;
  } else if (isDigit(peek())) {
    skipDigits();
  } else {
    return Status::JsonInvalid;
  }
  const std::size_t integer_end = pos_;
  if (peek() == '.') {
    ++pos_;
    if (!isDigit(peek())) {
      return Status::JsonInvalid;
    }
    skipDigits();
  }
  if (peek() == 'e' || peek() == 'E') {
    ++pos_;
    if (peek() == '+' || peek() == '-') {
      ++pos_;
    }
    if (!isDigit(peek())) {
      return Status::JsonInvalid;
    }
    skipDigits();
  }
  if (pos_ == integer_end && integer_end - start <= kSafeIntegerDigits) {
    return Status::Ok;
  }
  const JsonNumber number = jsonNumber({JsonType::Number, text_.substr(start, pos_ - start)});
  const bool finite = number.kind != JsonNumber::Kind::Float || std::isfinite(number.float_value);
  return finite ? Status::Ok : Status::JsonInvalid;  // nlohmann refuses 1e400
}

Status Scanner::scanLiteral(std::string_view word) {
  if (!text_.substr(pos_).starts_with(word)) {
    return Status::JsonInvalid;
  }
  pos_ += word.size();
  return Status::Ok;
}

// A member name, the colon and the whitespace around it.
Status Scanner::scanMemberName() {
  const std::size_t start = pos_;
  bool escaped = false;
  if (peek() != '"' || scanString(escaped) != Status::Ok) {
    return Status::JsonInvalid;
  }
  std::string_view name = text_.substr(start + 1, pos_ - start - 2);
  if (escaped) {
    auto* decoded = static_cast<char*>(arena_.allocate(name.size(), 1));
    name = std::string_view(decoded, decodeString(name, decoded));
  }
  names_.push_back(name);
  if (open_.size() == 1) {
    child_name_ = name;
  }
  skipWhitespace();
  if (peek() != ':') {
    return Status::JsonInvalid;
  }
  ++pos_;
  return Status::Ok;
}

Status Scanner::open(JsonType type) {
  if (open_.size() + 1 > static_cast<std::size_t>(std::max(max_depth_, 0))) {
    return Status::JsonTooDeep;
  }
  open_.push_back({type, names_.size()});
  ++pos_;
  return Status::Ok;
}

// Pops the container whose closing bracket was just consumed.
Status Scanner::close() {
  const Container closed = open_.back();
  open_.pop_back();
  if (closed.type == JsonType::Object) {
    const bool repeated = hasRepeatedName(closed.first_name, names_.size());
    names_.resize(closed.first_name);
    if (repeated) {
      return Status::JsonDuplicateKey;
    }
  }
  endValue();
  return Status::Ok;
}

// A value ended just before pos_; report it when it is a child of the top-level value.
void Scanner::endValue() {
  if (open_.size() == 1 && on_child_) {
    const std::string_view name = open_.back().type == JsonType::Object ? child_name_ : "";
    on_child_(name, JsonValue{child_type_, text_.substr(child_start_, pos_ - child_start_)});
  }
}

bool Scanner::hasRepeatedName(std::size_t first, std::size_t end) {
  const auto begin = names_.begin() + static_cast<std::ptrdiff_t>(first);
  const auto last = names_.begin() + static_cast<std::ptrdiff_t>(end);
  std::sort(begin, last);
  return std::adjacent_find(begin, last) != last;
}

// The scan ends early for reason; a repeated name in a still open object came first.
Status Scanner::stop(Status reason) {
  for (std::size_t i = 0; i < open_.size(); ++i) {
    const std::size_t end = i + 1 < open_.size() ? open_[i + 1].first_name : names_.size();
    if (open_[i].type == JsonType::Object && hasRepeatedName(open_[i].first_name, end)) {
      return Status::JsonDuplicateKey;
    }
  }
  return reason;
}

}  // namespace

Status scanJsonStrict(std::string_view text, const JsonLimits& limits, JsonType& root,
                      JsonChildVisitor on_child) {
  root = JsonType::Null;
  if (text.size() > limits.max_size) {
    return Status::JsonInvalid;
  }
  return Scanner(text, limits.max_depth, on_child).run(root);
}

std::string_view jsonString(const JsonValue& value, std::string& scratch) {
  const std::string_view body = value.text.substr(1, value.text.size() - 2);
  if (body.find('\\') == std::string_view::npos) {
    return body;
  }
  scratch.resize(body.size());
  scratch.resize(decodeString(body, scratch.data()));
  return scratch;
}

JsonNumber jsonNumber(const JsonValue& value) {
  JsonNumber number;
  const std::string_view text = value.text;
  const char* const end = text.data() + text.size();
  const bool integral = std::none_of(text.begin(), text.end(),
                                     [](char c) { return c == '.' || c == 'e' || c == 'E'; });
  if (integral) {
    if (text.starts_with('-')) {
      number.kind = JsonNumber::Kind::Integer;
      if (std::from_chars(text.data(), end, number.integer_value).ec == std::errc()) {
        return number;
      }
    } else if (std::from_chars(text.data(), end, number.unsigned_value).ec == std::errc()) {
      return number;
    }
  }
  // A fraction, an exponent or an integer beyond 64 bits: a double, as nlohmann keeps it.
  number.kind = JsonNumber::Kind::Float;
  const std::string terminated(text);
  number.float_value = strtod_l(terminated.c_str(), nullptr, cLocale());
  return number;
}

std::string canonicalJson(const JsonValue& value) {
  switch (value.type) {
    case JsonType::Null:
    case JsonType::Boolean:
      return std::string(value.text);
    case JsonType::Number: {
      const JsonNumber number = jsonNumber(value);
      switch (number.kind) {
        case JsonNumber::Kind::Unsigned:
          return std::to_string(number.unsigned_value);
        case JsonNumber::Kind::Integer:
          return std::to_string(number.integer_value);
        case JsonNumber::Kind::Float:
          return dumpJson(Json(number.float_value));
      }
      break;
    }
    case JsonType::String:
    case JsonType::Array:
    case JsonType::Object:
      break;
  }
  return dumpJson(Json::parse(value.text.begin(), value.text.end(), nullptr, false));
}

Status parseJsonStrict(std::string_view text, const JsonLimits& limits, Json& out) {
  out = Json(Json::value_t::discarded);
  JsonType root = JsonType::Null;
  const Status status = scanJsonStrict(text, limits, root, {});
  if (status != Status::Ok) {
    return status;
  }
  Json parsed = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return Status::JsonInvalid;  // never while the scanner is the stricter (strict_json_test)
  }
  out = std::move(parsed);
  return Status::Ok;
}

std::string dumpJson(const Json& value, int indent) {
  return value.dump(indent, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

}  // namespace appserver::auth
