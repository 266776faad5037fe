// claim_rules.h: the JWT claim checks (RFC 7519 section 4.1) applied to a verified payload.
//
// Runs only after the signature has verified, so the payload's JSON parser never sees
// unauthenticated input. Internal header. Thread: any; never throws.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "auth/jwt_verifier.h"
#include "auth/status.h"

namespace appserver::auth {

// Scans payload strictly and applies policy at time now (seconds since the epoch), filling
// out on Ok; out.json then takes payload's bytes without a copy. Returns PayloadInvalid,
// JsonDuplicateKey, JsonTooDeep, ClaimMissing, ClaimInvalid, Expired, NotYetValid,
// IssuedInFuture, IssuerMismatch, AudienceMismatch or TokenTypeMismatch; failed_claim then
// names the claim at fault.
Status checkClaims(std::string payload, const Policy& policy, std::int64_t now, Claims& out,
                   std::string& failed_claim);

}  // namespace appserver::auth
