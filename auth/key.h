// key.h: one verification (or, for the tool, signing) key with its JOSE metadata.
//
// A Key is either an HMAC secret (type Oct) or an OpenSSL EVP_PKEY (RSA, EC, OKP). The
// make* functions validate what they build: RSA moduli of at least 2048 bits with an odd
// exponent >= 3 and no ROCA fingerprint, EC points on one of the four JOSE curves, Ed25519
// only. HMAC strength (secret length) is a key-set policy and lives in key_set.cc, so that
// the raw Wycheproof vectors can still build short MAC keys here.
// Internal header: it exposes OpenSSL types; server/ uses key_set.h instead.
// Thread: a Key is immutable after construction; const use from many threads is safe.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/alg.h"
#include "auth/openssl_ptr.h"
#include "auth/status.h"

namespace appserver::auth {

enum class KeyType {
  Oct,  // symmetric secret (HMAC)
  Rsa,  // RSA public (or, for signing, private) key
  Ec,   // EC key on P-256, P-384, P-521 or secp256k1
  Okp,  // octet key pair: Ed25519
};

struct Key {
  Key() = default;
  Key(Key&&) noexcept = default;
  Key& operator=(Key&&) noexcept = default;
  ~Key();  // wipes the secret

  KeyType type = KeyType::Oct;
  // JWK "kid"; empty when the key has none (PEM keys, a bare secret).
  std::string kid;
  // JWK "alg"; when set, the key verifies only that algorithm.
  std::optional<Alg> alg;
  // Oct: the secret bytes. Empty for other types.
  std::string secret;
  // Oct: HMAC contexts already keyed for HS256/HS384/HS512 (index 0/1/2), duplicated per
  // use so the key schedule is computed once. Null where the secret is shorter than that
  // hash, which makes the key unusable for it.
  std::array<EvpMacCtxPtr, 3> hmac;
  // Rsa/Ec/Okp: the OpenSSL key. Null for Oct.
  EvpPkeyPtr pkey;
  // Rsa/Ec: per algorithm (indexed by Alg), a verification context already initialised
  // with this key, padding and digest, duplicated per signature (signature.cc): OpenSSL 3
  // spends about 3 µs fetching methods in each fresh initialisation. Null where the key
  // cannot serve the algorithm, for Okp and Oct keys, and if OpenSSL refused (verification
  // then initialises a fresh context).
  std::array<EvpPkeyCtxPtr, kAlgCount> verify_templates;
  // Ec: the curve's NID; Okp: NID_ED25519; otherwise 0.
  int curve_nid = 0;
  // Rsa: modulus size in bits; Ec: coordinate size in bytes * 8; otherwise 0.
  int bits = 0;
};

// True when key may verify (or sign) tokens of alg: the family matches the key type, an EC
// key is on alg's curve, the JWK alg (if any) equals alg, and an HMAC secret is at least
// as long as alg's hash output.
bool keyFitsAlg(const Key& key, Alg alg);

// The NID of the one curve an ECDSA alg uses (P-256, P-384, P-521, secp256k1); 0 for
// algorithms that are not ECDSA.
int ecCurveForAlg(Alg alg);

// Builds an Oct key from secret bytes without any strength policy (see key_set.h for the
// policy the server applies). Returns InternalError only if OpenSSL fails.
Status makeHmacKey(std::string_view secret, Key& out);

// Adopts an OpenSSL key after validating it (see the file comment). With allow_private
// false, a key carrying private material is refused with KeyPrivateMaterial.
Status makeKeyFromPkey(EvpPkeyPtr pkey, bool allow_private, Key& out);

// Parses every PEM "PUBLIC KEY" (SubjectPublicKeyInfo) block of pem, appending one Key per
// block to out. A PEM private key yields KeyPrivateMaterial; text without any readable
// public key block yields KeyInvalid. On failure out is unchanged.
Status makePublicKeysFromPem(std::string_view pem, std::vector<Key>& out);

// Parses a PEM private key (PKCS#8 or traditional) for signing. Tool and tests only.
// Encrypted keys are refused (KeyInvalid): the tool never prompts for a password.
Status makePrivateKeyFromPem(std::string_view pem, Key& out);

// Writes the public half of an asymmetric key as a PEM "PUBLIC KEY" block. Returns
// KeyUnsupported for Oct keys. For tests, the bench and the tool.
Status publicKeyToPem(const Key& key, std::string& pem);

}  // namespace appserver::auth
