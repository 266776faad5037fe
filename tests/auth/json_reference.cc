// json_reference.cc: nlohmann::json with duplicate-name and depth checks in its callback, and
// the comparison of the scanner with it.
//
// The callback cannot abort the parse, so it records the first violation and the result is
// discarded afterwards. Thread: any.
#include "json_reference.h"

#include <algorithm>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace appserver::auth::testing {

namespace {

using Json = nlohmann::json;

class StrictChecker {
 public:
  explicit StrictChecker(int max_depth) : max_depth_(max_depth) {}

  bool handleEvent(int depth, Json::parse_event_t event, const Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
        open_objects_.emplace_back();
        checkDepth(depth + 1);
        break;
      case Json::parse_event_t::array_start:
        checkDepth(depth + 1);
        break;
      case Json::parse_event_t::key:
        if (!open_objects_.empty() &&
            !open_objects_.back().insert(parsed.get_ref<const std::string&>()).second) {
          fail(Status::JsonDuplicateKey);
        }
        break;
      case Json::parse_event_t::object_end:
        if (!open_objects_.empty()) {
          open_objects_.pop_back();
        }
        break;
      case Json::parse_event_t::array_end:
      case Json::parse_event_t::value:
        break;
    }
    return true;
  }

  Status status() const { return status_; }

 private:
  void checkDepth(int depth) {
    if (depth > max_depth_) {
      fail(Status::JsonTooDeep);
    }
  }
  void fail(Status status) {
    if (status_ == Status::Ok) {
      status_ = status;
    }
  }

  int max_depth_;
  Status status_ = Status::Ok;
  std::vector<std::unordered_set<std::string>> open_objects_;
};

JsonType typeOf(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      return JsonType::Null;
    case Json::value_t::boolean:
      return JsonType::Boolean;
    case Json::value_t::string:
      return JsonType::String;
    case Json::value_t::array:
      return JsonType::Array;
    case Json::value_t::object:
      return JsonType::Object;
    default:
      return JsonType::Number;
  }
}

// A child as text both sides can produce: a string's decoded content, else compact JSON.
using Outline = std::vector<std::pair<std::string, std::string>>;

std::string printable(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += std::string("\\x") + kHex[byte >> 4] + kHex[byte & 0xf];
    }
  }
  return out.size() > 200 ? out.substr(0, 200) + "..." : out;
}

}  // namespace

Status parseJsonReference(std::string_view text, const JsonLimits& limits, Json& out) {
  out = Json(Json::value_t::discarded);
  if (text.size() > limits.max_size) {
    return Status::JsonInvalid;
  }
  StrictChecker checker(limits.max_depth);
  Json parsed = Json::parse(
      text.begin(), text.end(),
      [&checker](int depth, Json::parse_event_t event, Json& value) {
        return checker.handleEvent(depth, event, value);
      },
      /*allow_exceptions=*/false);
  if (checker.status() != Status::Ok) {
    return checker.status();
  }
  // No JSON text holds a NUL byte: outside a string it is no token, inside one it must be
  // escaped. nlohmann stops reading at one instead (see the header).
  if (parsed.is_discarded() || text.find('\0') != std::string_view::npos) {
    return Status::JsonInvalid;
  }
  out = std::move(parsed);
  return Status::Ok;
}

std::string differenceFromReference(std::string_view text, const JsonLimits& limits) {
  Outline scanned;
  JsonType root = JsonType::Null;
  std::string scratch;
  const Status status =
      scanJsonStrict(text, limits, root, [&](std::string_view name, const JsonValue& value) {
        scanned.emplace_back(name, value.type == JsonType::String
                                       ? "s:" + std::string(jsonString(value, scratch))
                                       : canonicalJson(value));
      });
  Json tree;
  const Status expected = parseJsonReference(text, limits, tree);
  if (status != expected) {
    return printable(text) + ": scanner " + std::string(toString(status)) + ", reference " +
           std::string(toString(expected));
  }
  if (status != Status::Ok) {
    return "";
  }
  Outline reference;
  if (tree.is_object() || tree.is_array()) {
    for (const auto& [name, value] : tree.items()) {
      reference.emplace_back(tree.is_object() ? name : "",
                             value.is_string() ? "s:" + value.get<std::string>() : dumpJson(value));
    }
  }
  if (root == JsonType::Object) {
    std::sort(scanned.begin(), scanned.end());  // nlohmann orders members by name
  }
  if (root != typeOf(tree) || scanned != reference) {
    return printable(text) + ": the scanner reports other values than nlohmann";
  }
  return "";
}

}  // namespace appserver::auth::testing
