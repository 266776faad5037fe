// claim_rules.cc: exp/nbf/iat, iss, aud, token_type, required and user claims.
//
// NumericDate values may be fractions (RFC 7519 section 2); they are rounded toward the
// stricter side: exp down, nbf and iat up. Arithmetic with the leeway saturates instead
// of overflowing. Thread: any.
#include "auth/claim_rules.h"

#include <cmath>
#include <limits>
#include <string>

#include "auth/strict_json.h"

namespace appserver::auth {

namespace {

using Json = nlohmann::json;

constexpr std::int64_t kMaxTime = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMinTime = std::numeric_limits<std::int64_t>::min();

enum class Rounding { Down, Up };

std::int64_t saturatingAdd(std::int64_t a, std::int64_t b) {
  std::int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) {
    return b > 0 ? kMaxTime : kMinTime;
  }
  return sum;
}

// Reads a NumericDate; false when value is not a JSON number (booleans are not numbers).
bool readNumericDate(const Json& value, Rounding rounding, std::int64_t& out) {
  if (value.is_number_unsigned()) {
    const auto seconds = value.get<std::uint64_t>();
    out = seconds > static_cast<std::uint64_t>(kMaxTime) ? kMaxTime
                                                         : static_cast<std::int64_t>(seconds);
    return true;
  }
  if (value.is_number_integer()) {
    out = value.get<std::int64_t>();
    return true;
  }
  if (!value.is_number_float()) {
    return false;
  }
  const double seconds =
      rounding == Rounding::Down ? std::floor(value.get<double>()) : std::ceil(value.get<double>());
  if (seconds >= 9.2e18) {
    out = kMaxTime;
  } else if (seconds <= -9.2e18) {
    out = kMinTime;
  } else {
    out = static_cast<std::int64_t>(seconds);
  }
  return true;
}

Status checkTimes(const Json& claims, const Policy& policy, std::int64_t now, Claims& out) {
  std::int64_t seconds = 0;
  const auto exp = claims.find("exp");
  if (exp == claims.end()) {
    if (policy.require_exp) {
      return Status::ClaimMissing;
    }
  } else {
    if (!readNumericDate(*exp, Rounding::Down, seconds)) {
      return Status::ClaimInvalid;
    }
    if (now >= saturatingAdd(seconds, policy.leeway)) {
      return Status::Expired;  // a token is expired at exp itself
    }
    out.exp = seconds;
  }
  const std::int64_t latest_now = saturatingAdd(now, policy.leeway);
  const auto nbf = claims.find("nbf");
  if (nbf != claims.end()) {
    if (!readNumericDate(*nbf, Rounding::Up, seconds)) {
      return Status::ClaimInvalid;
    }
    if (latest_now < seconds) {
      return Status::NotYetValid;
    }
  }
  const auto iat = claims.find("iat");
  if (iat != claims.end()) {
    if (!readNumericDate(*iat, Rounding::Up, seconds)) {
      return Status::ClaimInvalid;
    }
    if (seconds > latest_now) {
      return Status::IssuedInFuture;
    }
  }
  return Status::Ok;
}

// Compares an optional string claim with a configured value (unchecked when empty).
Status checkStringClaim(const Json& claims, const char* name, const std::string& expected,
                        Status mismatch) {
  const auto value = claims.find(name);
  if (value == claims.end()) {
    return expected.empty() ? Status::Ok : Status::ClaimMissing;
  }
  if (!value->is_string()) {
    return Status::ClaimInvalid;
  }
  if (!expected.empty() && value->get_ref<const std::string&>() != expected) {
    return mismatch;
  }
  return Status::Ok;
}

bool isAccepted(const Json& audience, const Policy& policy) {
  for (const std::string& accepted : policy.audiences) {
    if (audience.get_ref<const std::string&>() == accepted) {
      return true;
    }
  }
  return false;
}

Status checkAudience(const Json& claims, const Policy& policy) {
  const auto aud = claims.find("aud");
  if (aud == claims.end()) {
    return policy.audiences.empty() ? Status::Ok : Status::ClaimMissing;
  }
  if (aud->is_string()) {
    return isAccepted(*aud, policy) ? Status::Ok : Status::AudienceMismatch;
  }
  if (!aud->is_array()) {
    return Status::ClaimInvalid;
  }
  bool matched = false;
  for (const Json& entry : *aud) {
    if (!entry.is_string()) {
      return Status::ClaimInvalid;
    }
    matched = matched || isAccepted(entry, policy);
  }
  return matched ? Status::Ok : Status::AudienceMismatch;
}

Status readUser(const Json& claims, const std::string& name, std::string& user) {
  const auto value = claims.find(name);
  if (value == claims.end()) {
    return Status::ClaimMissing;
  }
  if (value->is_string()) {
    user = value->get_ref<const std::string&>();
  } else if (value->is_number_unsigned()) {
    user = std::to_string(value->get<std::uint64_t>());
  } else if (value->is_number_integer()) {
    user = std::to_string(value->get<std::int64_t>());
  } else {
    return Status::ClaimInvalid;
  }
  return user.empty() ? Status::ClaimInvalid : Status::Ok;
}

Status checkContent(const Json& claims, const Policy& policy, Claims& out) {
  Status status = checkStringClaim(claims, "iss", policy.issuer, Status::IssuerMismatch);
  if (status == Status::Ok) {
    status = checkAudience(claims, policy);
  }
  if (status == Status::Ok) {
    status = checkStringClaim(claims, "token_type", policy.token_type, Status::TokenTypeMismatch);
  }
  for (const std::string& name : policy.required_claims) {
    if (status == Status::Ok && !claims.contains(name)) {
      status = Status::ClaimMissing;
    }
  }
  if (status == Status::Ok) {
    status = readUser(claims, policy.user_claim, out.user);
  }
  return status;
}

void flatten(const Json& claims, Claims& out) {
  out.fields.reserve(claims.size());
  for (const auto& [name, value] : claims.items()) {
    out.fields.emplace_back(
        name, value.is_string() ? value.get_ref<const std::string&>() : dumpJson(value));
  }
}

}  // namespace

Status checkClaims(std::string_view payload, const Policy& policy, std::int64_t now, Claims& out) {
  Json claims;
  const JsonLimits limits{policy.max_token_size, policy.max_json_depth};
  Status status = parseJsonStrict(payload, limits, claims);
  if (status == Status::JsonInvalid || (status == Status::Ok && !claims.is_object())) {
    return Status::PayloadInvalid;
  }
  if (status != Status::Ok) {
    return status;
  }
  Claims result;
  status = checkTimes(claims, policy, now, result);
  if (status == Status::Ok) {
    status = checkContent(claims, policy, result);
  }
  if (status != Status::Ok) {
    return status;
  }
  result.json.assign(payload);
  flatten(claims, result);
  out = std::move(result);
  return Status::Ok;
}

}  // namespace appserver::auth
