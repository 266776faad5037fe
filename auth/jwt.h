// jwt.h: split and decode a compact JWS (RFC 7515 section 7.1) and read its header.
//
// parseJwt does everything that needs no key: the size bound (before any decoding), the
// three segments, strict base64url, the strict JSON header, and the header rules (alg
// present and implemented, never "none", no "crit"). Header members that carry or point to
// keys (jwk, jku, x5u, x5c) are never read: keys come only from the configured KeySet. The
// payload is decoded but not parsed here; it is parsed only after the signature verifies.
// Internal header. Thread: any; never throws.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "auth/alg.h"
#include "auth/status.h"

namespace appserver::auth {

struct JwtLimits {
  // Longest accepted token, in bytes, checked before anything else.
  std::size_t max_token_size = 8192;
  // Deepest accepted JSON nesting in the header and payload.
  int max_json_depth = 16;
};

struct Jwt {
  // "header.payload" exactly as in the token: the bytes the signature covers. A view into
  // the token passed to parseJwt, which must outlive this Jwt.
  std::string_view signing_input;
  Alg alg = Alg::Hs256;
  // The header's kid; has_kid is false when the header has none.
  std::string kid;
  bool has_kid = false;
  // Decoded payload bytes (not yet parsed).
  std::string payload;
  // Decoded signature bytes.
  std::string signature;
};

// Parses token into out. Returns TokenTooLarge, TokenMalformed, Base64Invalid, JsonInvalid,
// JsonDuplicateKey, JsonTooDeep, HeaderInvalid, AlgNone, AlgUnsupported or CritUnsupported.
Status parseJwt(std::string_view token, const JwtLimits& limits, Jwt& out);

// Decodes the header and payload segments without verifying anything, for the operator
// tool's "decode" command. Returns TokenTooLarge, TokenMalformed or Base64Invalid.
Status decodeJwtUnverified(std::string_view token, const JwtLimits& limits, std::string& header,
                           std::string& payload);

}  // namespace appserver::auth
