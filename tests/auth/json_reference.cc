// json_reference.cc: nlohmann::json with duplicate-name and depth checks in its callback.
//
// The callback cannot abort the parse, so it records the first violation and the result is
// discarded afterwards. Thread: any.
#include "json_reference.h"

#include <string>
#include <unordered_set>
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

}  // namespace appserver::auth::testing
