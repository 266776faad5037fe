// claim_rules.cc: exp/nbf/iat, iss, aud, token_type, required and user claims.
//
// The payload is scanned once (strict_json.h), without a tree: the members the rules read
// are kept as views into it, and every top-level member is flattened into Claims::fields on
// the way. NumericDate values may be fractions (RFC 7519 section 2); they are rounded toward
// the stricter side: exp down, nbf and iat up. Arithmetic with the leeway saturates instead
// of overflowing. Thread: any.
#include "auth/claim_rules.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "auth/strict_json.h"

namespace appserver::auth {

namespace {

constexpr std::int64_t kMaxTime = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMinTime = std::numeric_limits<std::int64_t>::min();
// Room reserved for Claims::fields: a simplejwt access token has five members.
constexpr std::size_t kTypicalClaimCount = 8;

enum class Rounding { Down, Up };

// The members the rules read, as views into the payload; empty when it has none.
struct ClaimValues {
  std::optional<JsonValue> exp;
  std::optional<JsonValue> nbf;
  std::optional<JsonValue> iat;
  std::optional<JsonValue> iss;
  std::optional<JsonValue> aud;
  std::optional<JsonValue> token_type;
  std::optional<JsonValue> user;
};

std::int64_t saturatingAdd(std::int64_t a, std::int64_t b) {
  std::int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) {
    return b > 0 ? kMaxTime : kMinTime;
  }
  return sum;
}

// Reads a NumericDate; false when value is not a JSON number (booleans are not numbers).
bool readNumericDate(const JsonValue& value, Rounding rounding, std::int64_t& out) {
  if (value.type != JsonType::Number) {
    return false;
  }
  const JsonNumber number = jsonNumber(value);
  switch (number.kind) {
    case JsonNumber::Kind::Unsigned:
      out = number.unsigned_value > static_cast<std::uint64_t>(kMaxTime)
                ? kMaxTime
                : static_cast<std::int64_t>(number.unsigned_value);
      return true;
    case JsonNumber::Kind::Integer:
      out = number.integer_value;
      return true;
    case JsonNumber::Kind::Float:
      break;
  }
  const double seconds =
      rounding == Rounding::Down ? std::floor(number.float_value) : std::ceil(number.float_value);
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

void checkExp(const std::optional<JsonValue>& exp, const Policy& policy, std::int64_t now,
              Claims& out, Verdict& verdict) {
  std::int64_t seconds = 0;
  if (!exp) {
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
void checkNotInFuture(const std::optional<JsonValue>& value, const char* name, Status failure,
                      const Policy& policy, std::int64_t now, Verdict& verdict) {
  std::int64_t seconds = 0;
  if (!value) {
    return;
  }
  if (!readNumericDate(*value, Rounding::Up, seconds)) {
    verdict.fail(Status::ClaimInvalid, name);
  } else if (seconds > saturatingAdd(now, policy.leeway)) {
    verdict.fail(failure, name);
  }
}

// Compares an optional string claim with a configured value (unchecked when empty).
void checkStringClaim(const std::optional<JsonValue>& value, const char* name,
                      const std::string& expected, Status mismatch, Verdict& verdict) {
  std::string scratch;
  if (!value) {
    if (!expected.empty()) {
      verdict.fail(Status::ClaimMissing, name);
    }
  } else if (value->type != JsonType::String) {
    verdict.fail(Status::ClaimInvalid, name);
  } else if (!expected.empty() && jsonString(*value, scratch) != expected) {
    verdict.fail(mismatch, name);
  }
}

bool isAccepted(const JsonValue& audience, const Policy& policy) {
  std::string scratch;
  const std::string_view name = jsonString(audience, scratch);
  return std::find(policy.audiences.begin(), policy.audiences.end(), name) !=
         policy.audiences.end();
}

Status audienceStatus(const std::optional<JsonValue>& aud, const Policy& policy) {
  if (!aud) {
    return policy.audiences.empty() ? Status::Ok : Status::ClaimMissing;
  }
  if (aud->type == JsonType::String) {
    return isAccepted(*aud, policy) ? Status::Ok : Status::AudienceMismatch;
  }
  if (aud->type != JsonType::Array) {
    return Status::ClaimInvalid;
  }
  // The array was checked with the payload; scanning it again only walks its entries.
  bool all_strings = true;
  bool matched = false;
  JsonType root = JsonType::Null;
  const Status status =
      scanJsonStrict(aud->text, JsonLimits{aud->text.size(), policy.max_json_depth}, root,
                     [&](std::string_view, const JsonValue& entry) {
                       all_strings = all_strings && entry.type == JsonType::String;
                       matched = matched || (all_strings && isAccepted(entry, policy));
                     });
  if (status != Status::Ok || !all_strings) {
    return Status::ClaimInvalid;
  }
  return matched ? Status::Ok : Status::AudienceMismatch;
}

Status userStatus(const std::optional<JsonValue>& value, std::string& user) {
  if (!value) {
    return Status::ClaimMissing;
  }
  std::string scratch;
  if (value->type == JsonType::String) {
    user.assign(jsonString(*value, scratch));
  } else if (value->type != JsonType::Number) {
    return Status::ClaimInvalid;
  } else {
    const JsonNumber number = jsonNumber(*value);
    switch (number.kind) {
      case JsonNumber::Kind::Unsigned:
        user = std::to_string(number.unsigned_value);
        break;
      case JsonNumber::Kind::Integer:
        user = std::to_string(number.integer_value);
        break;
      case JsonNumber::Kind::Float:
        return Status::ClaimInvalid;
    }
  }
  return user.empty() ? Status::ClaimInvalid : Status::Ok;
}

bool hasField(const Claims& claims, const std::string& name) {
  const auto field =
      std::lower_bound(claims.fields.begin(), claims.fields.end(), name,
                       [](const auto& entry, const std::string& key) { return entry.first < key; });
  return field != claims.fields.end() && field->first == name;
}

// Needs out.fields complete and sorted (the required claims are looked up there).
void checkAll(const ClaimValues& values, const Policy& policy, std::int64_t now, Claims& out,
              Verdict& verdict) {
  checkExp(values.exp, policy, now, out, verdict);
  checkNotInFuture(values.nbf, "nbf", Status::NotYetValid, policy, now, verdict);
  checkNotInFuture(values.iat, "iat", Status::IssuedInFuture, policy, now, verdict);
  checkStringClaim(values.iss, "iss", policy.issuer, Status::IssuerMismatch, verdict);
  const Status audience = audienceStatus(values.aud, policy);
  if (audience != Status::Ok) {
    verdict.fail(audience, "aud");
  }
  checkStringClaim(values.token_type, "token_type", policy.token_type, Status::TokenTypeMismatch,
                   verdict);
  for (const std::string& name : policy.required_claims) {
    if (!hasField(out, name)) {
      verdict.fail(Status::ClaimMissing, name);
    }
  }
  const Status user = userStatus(values.user, out.user);
  if (user != Status::Ok) {
    verdict.fail(user, policy.user_claim);
  }
}

// A member as Claims::fields holds it: a string's content, any other value's JSON text.
std::string fieldText(const JsonValue& value) {
  if (value.type != JsonType::String) {
    return canonicalJson(value);
  }
  std::string scratch;
  const std::string_view text = jsonString(value, scratch);
  return text.data() == scratch.data() ? std::move(scratch) : std::string(text);
}

// Receives each top-level member of the payload during the scan.
void collect(std::string_view name, const JsonValue& value, const Policy& policy,
             ClaimValues& values, Claims& out) {
  std::optional<JsonValue>* registered = name == "exp"          ? &values.exp
                                         : name == "nbf"        ? &values.nbf
                                         : name == "iat"        ? &values.iat
                                         : name == "iss"        ? &values.iss
                                         : name == "aud"        ? &values.aud
                                         : name == "token_type" ? &values.token_type
                                                                : nullptr;
  if (registered != nullptr) {
    *registered = value;
  }
  if (name == policy.user_claim) {
    values.user = value;
  }
  out.fields.emplace_back(std::string(name), fieldText(value));
}

}  // namespace

Status checkClaims(std::string payload, const Policy& policy, std::int64_t now, Claims& out,
                   std::string& failed_claim) {
  Claims result;
  result.fields.reserve(kTypicalClaimCount);
  ClaimValues values;
  JsonType root = JsonType::Null;
  const Status status =
      scanJsonStrict(payload, JsonLimits{policy.max_token_size, policy.max_json_depth}, root,
                     [&](std::string_view name, const JsonValue& value) {
                       collect(name, value, policy, values, result);
                     });
  if (status == Status::JsonInvalid || (status == Status::Ok && root != JsonType::Object)) {
    return Status::PayloadInvalid;
  }
  if (status != Status::Ok) {
    return status;
  }
  std::sort(result.fields.begin(), result.fields.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  Verdict verdict;
  checkAll(values, policy, now, result, verdict);
  if (!verdict.ok()) {
    failed_claim = std::move(verdict.claim);
    return verdict.status;
  }
  result.json = std::move(payload);
  out = std::move(result);
  return Status::Ok;
}

}  // namespace appserver::auth
