// alg.h: the JWS algorithms this library implements (RFC 7518, RFC 8037, RFC 8812).
//
// Alg is an allow-list: a header alg that does not map to an enumerator is refused, and
// "none" has no enumerator at all. Code that branches on Alg uses an exhaustive switch
// without a default branch (DESIGN.md, auth rules). Thread: any; pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/status.h"

namespace appserver::auth {

enum class Alg {
  Hs256,   // HMAC with SHA-256
  Hs384,   // HMAC with SHA-384
  Hs512,   // HMAC with SHA-512
  Rs256,   // RSASSA-PKCS1-v1_5 with SHA-256
  Rs384,   // RSASSA-PKCS1-v1_5 with SHA-384
  Rs512,   // RSASSA-PKCS1-v1_5 with SHA-512
  Ps256,   // RSASSA-PSS, MGF1 and salt length of SHA-256
  Ps384,   // RSASSA-PSS, MGF1 and salt length of SHA-384
  Ps512,   // RSASSA-PSS, MGF1 and salt length of SHA-512
  Es256,   // ECDSA P-256 with SHA-256, raw r||s signature
  Es384,   // ECDSA P-384 with SHA-384, raw r||s signature
  Es512,   // ECDSA P-521 with SHA-512, raw r||s signature
  Es256k,  // ECDSA secp256k1 with SHA-256, raw r||s signature (RFC 8812)
  EdDsa,   // Ed25519 (RFC 8037); Ed448 is not implemented
};

// Number of Alg enumerators (EdDsa is the last), for tables indexed by Alg.
inline constexpr std::size_t kAlgCount = static_cast<std::size_t>(Alg::EdDsa) + 1;

// The family decides which key type an algorithm may use.
enum class AlgFamily {
  Hmac,      // oct keys
  RsaPkcs1,  // RSA keys
  RsaPss,    // RSA keys
  Ecdsa,     // EC keys on the algorithm's one curve
  EdDsa,     // OKP Ed25519 keys
};

// Every implemented algorithm, in enumerator order.
const std::vector<Alg>& allAlgs();

// Maps a registered name ("HS256", "ES256K", "EdDSA") to Alg; names are case-sensitive as
// RFC 7515 requires. Returns nullopt for anything else, including "none".
std::optional<Alg> algFromName(std::string_view name);

// The registered name of alg, e.g. "PS384".
std::string_view algName(Alg alg);

AlgFamily algFamily(Alg alg);

// Output size in bytes of the algorithm's hash (32, 48 or 64).
std::size_t algHashSize(Alg alg);

// True when name spells "none" in any letter case.
bool isNoneAlg(std::string_view name);

// Parses a comma-separated list such as "HS256,RS256" (spaces around names allowed) into
// out. Returns ConfigInvalid on an empty list, an unknown name or "none"; out is then
// unchanged.
Status parseAlgList(std::string_view list, std::vector<Alg>& out);

}  // namespace appserver::auth
