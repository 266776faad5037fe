// json_reference.h: the strict JSON rules as auth/ enforced them before its own scanner, kept
// as the oracle that scanJsonStrict is compared with (strict_json_test and the fuzzers).
//
// nlohmann::json's parser with a callback that refuses a repeated member name in any object
// and nesting beyond the limit, recording the first such violation; nlohmann itself refuses
// the rest (grammar, UTF-8, lone surrogates, numbers beyond the double range, trailing
// bytes). One deliberate difference: nlohmann takes a NUL byte for the end of the input and
// ignores what follows, which the rules (no trailing bytes) and the scanner do not, so a text
// holding a NUL byte is refused here too. Independent of auth/strict_json.cc. Thread: any.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "auth/status.h"
#include "auth/strict_json.h"

namespace appserver::auth::testing {

// Parses text into out (discarded unless Ok). Returns Ok, JsonInvalid, JsonDuplicateKey or
// JsonTooDeep.
Status parseJsonReference(std::string_view text, const JsonLimits& limits, nlohmann::json& out);

// Compares scanJsonStrict with parseJsonReference on text: the same status and, when Ok, the
// same top-level type and children (names, string contents, other values as compact JSON).
// Returns an empty string when they agree, else what differs (text shown escaped, cut at
// 200 characters). Used by strict_json_test and by fuzz/fuzz_jwt and fuzz/fuzz_jwks.
std::string differenceFromReference(std::string_view text, const JsonLimits& limits);

}  // namespace appserver::auth::testing
