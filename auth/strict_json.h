// strict_json.h: read untrusted JSON (JOSE headers, JWT payloads, JWKS documents) strictly.
//
// scanJsonStrict is the one home of the rules RFC 7515/7519/8725 ask of a JOSE parser: the
// RFC 8259 grammar with nothing after the value, valid UTF-8 without lone surrogates, no
// member name repeated in any object (two parsers keeping different copies could disagree
// about a token), nesting and size bounded. It builds no tree and, for the small objects of
// a token, allocates nothing: the verifier picks the few members it needs as they pass.
// parseJsonStrict applies the same scan and then builds an nlohmann::json, for the callers
// that need a tree (JWKS documents, the operator tool).
// What is accepted equals what nlohmann::json accepts plus the duplicate and depth checks,
// including a leading UTF-8 byte order mark that nlohmann skips (strict_json_test holds the
// two to each other). Internal header: only auth/ and its tests include it, so nlohmann
// stays a PRIVATE dependency of appserver_auth. Thread: any; never throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>  // std::addressof
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <type_traits>

#include "auth/status.h"

namespace appserver::auth {

struct JsonLimits {
  // Largest accepted text, in bytes.
  std::size_t max_size = 64 * 1024;
  // Deepest accepted nesting; a top-level object has depth 1.
  int max_depth = 16;
};

enum class JsonType { Null, Boolean, Number, String, Array, Object };

// A value inside a text that scanJsonStrict accepted: its type and its exact bytes (a
// string with its quotes, a container with its brackets). A view into the scanned text.
struct JsonValue {
  JsonType type = JsonType::Null;
  std::string_view text;
};

// Receives each child of the top-level value in text order, once the child has been checked
// whole: the members of an object (name decoded, valid only during the call) or the
// elements of an array (name empty). A scan that fails may already have made calls.
// A non-owning reference to a callable taking (std::string_view name, const JsonValue&
// value), like C++26's std::function_ref: unlike std::function it never allocates, and it
// must not outlive the callable (pass a lambda straight to scanJsonStrict).
class JsonChildVisitor {
 public:
  // Visits nothing.
  JsonChildVisitor() = default;

  template <typename F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, JsonChildVisitor> &&
           std::is_invocable_v<F&, std::string_view, const JsonValue&>)
      JsonChildVisitor(F&& visit)  // NOLINT(google-explicit-constructor): a lambda converts
      : callable_(const_cast<void*>(static_cast<const void*>(std::addressof(visit)))),
        call_([](void* callable, std::string_view name, const JsonValue& value) {
          (*static_cast<std::remove_reference_t<F>*>(callable))(name, value);
        }) {}

  explicit operator bool() const { return call_ != nullptr; }
  void operator()(std::string_view name, const JsonValue& value) const {
    call_(callable_, name, value);
  }

 private:
  void* callable_ = nullptr;
  void (*call_)(void*, std::string_view, const JsonValue&) = nullptr;
};

// Checks text against every rule above, sets root to the type of its top-level value and
// calls on_child for that value's children. Returns Ok, or JsonInvalid,
// JsonDuplicateKey or JsonTooDeep for the first rule broken in text order (a duplicate
// name or an excess depth before a syntax error wins, as it did with nlohmann's callback).
Status scanJsonStrict(std::string_view text, const JsonLimits& limits, JsonType& root,
                      JsonChildVisitor on_child);

// The decoded content of a String value: a view of its text when it has no escapes, else
// decoded into scratch.
std::string_view jsonString(const JsonValue& value, std::string& scratch);

// A Number value, classified as nlohmann::json does: an integer without sign that fits 64
// bits is Unsigned, a negative one that fits is Integer, anything else is Float (a double,
// always finite: scanJsonStrict refuses numbers beyond the double range).
struct JsonNumber {
  enum class Kind { Unsigned, Integer, Float };
  Kind kind = Kind::Unsigned;
  std::uint64_t unsigned_value = 0;
  std::int64_t integer_value = 0;
  double float_value = 0;
};
JsonNumber jsonNumber(const JsonValue& value);

// The compact text nlohmann::json prints for a value (object members sorted by name,
// numbers normalised); a String value gives its JSON text, quotes included.
std::string canonicalJson(const JsonValue& value);

// Parses text into out. Returns JsonInvalid, JsonDuplicateKey or JsonTooDeep (and leaves
// out discarded) when the text breaks a rule; never throws.
Status parseJsonStrict(std::string_view text, const JsonLimits& limits, nlohmann::json& out);

// Serialises value compactly; invalid UTF-8 (impossible after parseJsonStrict) is
// replaced instead of throwing.
std::string dumpJson(const nlohmann::json& value, int indent = -1);

}  // namespace appserver::auth
