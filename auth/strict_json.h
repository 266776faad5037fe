// strict_json.h: parse untrusted JSON (JOSE headers, JWT payloads, JWKS documents).
//
// Wraps nlohmann::json with the checks RFC 7515/7519/8725 ask of a JOSE parser and that
// nlohmann does not make by default: a repeated member name is refused (nlohmann keeps the
// last one silently, which lets two parsers disagree about a token), nesting is bounded,
// and the text size is bounded before parsing. nlohmann already refuses invalid UTF-8,
// lone surrogates, comments, trailing commas and trailing bytes.
// Internal header: only auth/ and its tests include it, so nlohmann stays a PRIVATE
// dependency of appserver_auth. Thread: any; never throws.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string_view>

#include "auth/status.h"

namespace appserver::auth {

struct JsonLimits {
  // Largest accepted text, in bytes.
  std::size_t max_size = 64 * 1024;
  // Deepest accepted nesting; a top-level object has depth 1.
  int max_depth = 16;
};

// Parses text into out. Returns JsonInvalid, JsonDuplicateKey or JsonTooDeep (and leaves
// out discarded) when the text breaks a rule; never throws.
Status parseJsonStrict(std::string_view text, const JsonLimits& limits, nlohmann::json& out);

// Serialises value compactly; invalid UTF-8 (impossible after parseJsonStrict) is
// replaced instead of throwing.
std::string dumpJson(const nlohmann::json& value, int indent = -1);

}  // namespace appserver::auth
