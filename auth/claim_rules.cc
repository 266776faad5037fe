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

// The first failed rule and the claim it concerns.
struct Verdict {
  Status status = Status::Ok;
  std::string claim;

  bool ok() const { return status == Status::Ok; }
  void fail(Status failure, std::string_view name) {
    if (ok()) {
      status = failure;
      claim.assign(name);
    }
  }
};

void checkExp(const Json& claims, const Policy& policy, std::int64_t now, Claims& out,
              Verdict& verdict) {
  const auto exp = claims.find("exp");
  std::int64_t seconds = 0;
  if (exp == claims.end()) {
    if (policy.require_exp) {
      verdict.fail(Status::ClaimMissing, "exp");
    }
  } else if (!readNumericDate(*exp, Rounding::Down, seconds)) {
    verdict.fail(Status::ClaimInvalid, "exp");
  } else if (now >= saturatingAdd(seconds, policy.leeway)) {
    verdict.fail(Status::Expired, "exp");  // a token is expired at exp itself
  } else {
    out.exp = seconds;
  }
}

// nbf must not lie after now + leeway; iat must not lie after now + leeway either.
void checkNotInFuture(const Json& claims, const char* name, Status failure, const Policy& policy,
                      std::int64_t now, Verdict& verdict) {
  const auto value = claims.find(name);
  std::int64_t seconds = 0;
  if (value == claims.end()) {
    return;
  }
  if (!readNumericDate(*value, Rounding::Up, seconds)) {
    verdict.fail(Status::ClaimInvalid, name);
  } else if (seconds > saturatingAdd(now, policy.leeway)) {
    verdict.fail(failure, name);
  }
}

// Compares an optional string claim with a configured value (unchecked when empty).
void checkStringClaim(const Json& claims, const char* name, const std::string& expected,
                      Status mismatch, Verdict& verdict) {
  const auto value = claims.find(name);
  if (value == claims.end()) {
    if (!expected.empty()) {
      verdict.fail(Status::ClaimMissing, name);
    }
  } else if (!value->is_string()) {
    verdict.fail(Status::ClaimInvalid, name);
  } else if (!expected.empty() && value->get_ref<const std::string&>() != expected) {
    verdict.fail(mismatch, name);
  }
}

bool isAccepted(const Json& audience, const Policy& policy) {
  for (const std::string& accepted : policy.audiences) {
    if (audience.get_ref<const std::string&>() == accepted) {
      return true;
    }
  }
  return false;
}

Status audienceStatus(const Json& claims, const Policy& policy) {
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

Status userStatus(const Json& claims, const std::string& name, std::string& user) {
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

void checkAll(const Json& claims, const Policy& policy, std::int64_t now, Claims& out,
              Verdict& verdict) {
  checkExp(claims, policy, now, out, verdict);
  checkNotInFuture(claims, "nbf", Status::NotYetValid, policy, now, verdict);
  checkNotInFuture(claims, "iat", Status::IssuedInFuture, policy, now, verdict);
  checkStringClaim(claims, "iss", policy.issuer, Status::IssuerMismatch, verdict);
  const Status audience = audienceStatus(claims, policy);
  if (audience != Status::Ok) {
    verdict.fail(audience, "aud");
  }
  checkStringClaim(claims, "token_type", policy.token_type, Status::TokenTypeMismatch, verdict);
  for (const std::string& name : policy.required_claims) {
    if (!claims.contains(name)) {
      verdict.fail(Status::ClaimMissing, name);
    }
  }
  const Status user = userStatus(claims, policy.user_claim, out.user);
  if (user != Status::Ok) {
    verdict.fail(user, policy.user_claim);
  }
}

void flatten(const Json& claims, Claims& out) {
  out.fields.reserve(claims.size());
  for (const auto& [name, value] : claims.items()) {
    out.fields.emplace_back(
        name, value.is_string() ? value.get_ref<const std::string&>() : dumpJson(value));
  }
}

}  // namespace

Status checkClaims(std::string_view payload, const Policy& policy, std::int64_t now, Claims& out,
                   std::string& failed_claim) {
  Json claims;
  const JsonLimits limits{policy.max_token_size, policy.max_json_depth};
  const Status status = parseJsonStrict(payload, limits, claims);
  if (status == Status::JsonInvalid || (status == Status::Ok && !claims.is_object())) {
    return Status::PayloadInvalid;
  }
  if (status != Status::Ok) {
    return status;
  }
  Claims result;
  Verdict verdict;
  checkAll(claims, policy, now, result, verdict);
  if (!verdict.ok()) {
    failed_claim = std::move(verdict.claim);
    return verdict.status;
  }
  result.json.assign(payload);
  flatten(claims, result);
  out = std::move(result);
  return Status::Ok;
}

}  // namespace appserver::auth
