// jwt.cc: compact JWS splitting, decoding and header rules.
//
// Thread: any.
#include "auth/jwt.h"

#include <array>
#include <optional>

#include "auth/base64url.h"
#include "auth/strict_json.h"

namespace appserver::auth {

namespace {

// Splits token into exactly three segments; a fourth dot (JWE has five parts) or a
// missing one is TokenMalformed.
Status splitToken(std::string_view token, const JwtLimits& limits,
                  std::array<std::string_view, 3>& parts) {
  if (token.size() > limits.max_token_size) {
    return Status::TokenTooLarge;
  }
  const std::size_t first = token.find('.');
  const std::size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (token.empty() || second == std::string_view::npos ||
      token.find('.', second + 1) != std::string_view::npos) {
    return Status::TokenMalformed;
  }
  parts = {token.substr(0, first), token.substr(first + 1, second - first - 1),
           token.substr(second + 1)};
  return Status::Ok;
}

// The header members the rules read, as views into the decoded header.
struct HeaderValues {
  std::optional<JsonValue> alg;
  std::optional<JsonValue> kid;
  bool has_crit = false;
};

Status readHeader(const HeaderValues& header, Jwt& out) {
  if (!header.alg || header.alg->type != JsonType::String) {
    return Status::HeaderInvalid;
  }
  std::string scratch;
  const std::string_view alg_name = jsonString(*header.alg, scratch);
  if (isNoneAlg(alg_name)) {
    return Status::AlgNone;
  }
  const std::optional<Alg> parsed = algFromName(alg_name);
  if (!parsed) {
    return Status::AlgUnsupported;
  }
  out.alg = *parsed;
  // RFC 7515 section 4.1.11: a recipient must refuse a JWS whose crit lists an extension it
  // does not understand, and this library understands none (b64 of RFC 7797 included).
  if (header.has_crit) {
    return Status::CritUnsupported;
  }
  out.has_kid = header.kid.has_value();
  if (out.has_kid) {
    if (header.kid->type != JsonType::String) {
      return Status::HeaderInvalid;
    }
    out.kid.assign(jsonString(*header.kid, scratch));
  }
  return Status::Ok;
}

}  // namespace

Status parseJwt(std::string_view token, const JwtLimits& limits, Jwt& out) {
  std::array<std::string_view, 3> parts;
  Status status = splitToken(token, limits, parts);
  if (status != Status::Ok) {
    return status;
  }
  std::string header_text;
  if (base64UrlDecode(parts[0], header_text) != Status::Ok ||
      base64UrlDecode(parts[1], out.payload) != Status::Ok ||
      base64UrlDecode(parts[2], out.signature) != Status::Ok) {
    return Status::Base64Invalid;
  }
  HeaderValues header;
  JsonType root = JsonType::Null;
  status = scanJsonStrict(header_text, JsonLimits{limits.max_token_size, limits.max_json_depth},
                          root, [&header](std::string_view name, const JsonValue& value) {
                            if (name == "alg") {
                              header.alg = value;
                            } else if (name == "kid") {
                              header.kid = value;
                            } else {
                              header.has_crit = header.has_crit || name == "crit";
                            }
                          });
  if (status != Status::Ok) {
    return status;
  }
  if (root != JsonType::Object) {
    return Status::HeaderInvalid;
  }
  status = readHeader(header, out);
  if (status != Status::Ok) {
    return status;
  }
  out.signing_input = token.substr(0, parts[0].size() + 1 + parts[1].size());
  return Status::Ok;
}

Status decodeJwtUnverified(std::string_view token, const JwtLimits& limits, std::string& header,
                           std::string& payload) {
  std::array<std::string_view, 3> parts;
  const Status status = splitToken(token, limits, parts);
  if (status != Status::Ok) {
    return status;
  }
  if (base64UrlDecode(parts[0], header) != Status::Ok ||
      base64UrlDecode(parts[1], payload) != Status::Ok) {
    return Status::Base64Invalid;
  }
  return Status::Ok;
}

}  // namespace appserver::auth
