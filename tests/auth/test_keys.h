// test_keys.h: keys, tokens and corpus files shared by the auth tests.
//
// Asymmetric keys are generated once per test process (RSA generation takes a while) and
// shared read-only. Thread: the gtest main thread.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include "auth/alg.h"
#include "auth/key.h"
#include "auth/key_set.h"

namespace appserver::auth {

// Lets gtest print a Status by name in failure messages.
inline void PrintTo(Status status, std::ostream* out) { *out << toString(status); }

}  // namespace appserver::auth

namespace appserver::auth::testing {

// A 64-byte HMAC secret (long enough for HS512).
inline const std::string kSecret(64, 's');

// A fixed "now" for claim tests, and an exp one hour later.
inline constexpr std::int64_t kNow = 1700000000;
inline constexpr std::int64_t kExp = kNow + 3600;

// A private key (for signing) fitting alg: the HMAC secret, RSA 2048, the alg's curve, or
// Ed25519. Generated on first use and kept for the process.
const Key& signingKey(Alg alg);

// The public PEM of signingKey(alg); empty for HMAC.
std::string publicPem(Alg alg);

// A key set that verifies what signingKey(alg) signs (kid applied when not empty).
KeySet verifyingKeys(Alg alg, std::string_view kid = {});

// Signs payload with signingKey(alg) under header {"alg":...,"typ":"JWT"[,"kid"]}.
std::string sign(Alg alg, std::string_view payload, std::string_view kid = {});

// Signs payload with signingKey(alg) under the verbatim header text header_json.
std::string signWithHeader(Alg alg, std::string_view header_json, std::string_view payload);

// Reads a file below shared/corpus; fails the current test if it cannot.
std::string readCorpus(std::string_view relative_path);

// Hex to bytes ("0a1b" -> "\x0a\x1b").
std::string fromHex(std::string_view hex);

}  // namespace appserver::auth::testing
