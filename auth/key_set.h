// key_set.h: the verification keys a JwtVerifier may use.
//
// Built once from configuration (an HMAC secret, PEM public keys, a JWKS document) and
// then only read: the server holds a std::shared_ptr<const KeySet> and swaps in a new one
// to rotate keys, so a KeySet never changes while a verification reads it. Loading is
// strict (see docs/auth.md): weak keys, private asymmetric material, duplicate kids, and
// JWKS documents that mix secrets with public keys are refused, and error details never
// contain key bytes.
// Thread: build on one thread; after that, const use from any number of threads is safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "auth/alg.h"
#include "auth/status.h"

namespace appserver::auth {

struct Key;  // auth/key.h (internal: it carries OpenSSL types)

// Shortest accepted HMAC secret, in bytes: the output size of SHA-256 (RFC 7518 section
// 3.2 requires a key at least as long as the hash output). A secret serves HS384/HS512
// only if it is at least 48/64 bytes long.
inline constexpr std::size_t kMinHmacSecretSize = 32;

class KeySet {
 public:
  KeySet();
  ~KeySet();
  KeySet(KeySet&&) noexcept;
  KeySet& operator=(KeySet&&) noexcept;
  KeySet(const KeySet&) = delete;
  KeySet& operator=(const KeySet&) = delete;

  // Adds an HMAC secret given as raw bytes. Returns KeyWeak when it is shorter than
  // kMinHmacSecretSize, KeyInvalid when it looks like a PEM key (a public key is never an
  // HMAC secret: that is the HS256/RS256 confusion attack), KeyDuplicateKid.
  Status addHmacSecret(std::string_view secret, std::string_view kid = {});

  // Adds every "PUBLIC KEY" block of a PEM text (RSA >= 2048 bits, EC P-256/P-384/P-521/
  // secp256k1, Ed25519). Returns KeyInvalid, KeyWeak, KeyUnsupported or KeyPrivateMaterial
  // on the first bad block; the set is then unchanged.
  Status addPublicKeyPem(std::string_view pem, std::string_view kid = {});

  // Adds the keys of a JWKS document {"keys":[...]} (or of one bare JWK object). Keys not
  // meant for signatures ("use" other than "sig", "key_ops" without "verify", an "alg" that
  // is no JWS algorithm) and unimplemented types or curves are skipped; any other bad key
  // fails the whole document, which is then not added. Returns KeySetEmpty when nothing
  // usable remains, KeySetMixed when oct keys and asymmetric keys share the document.
  // @param detail if not null, receives which key failed ("key 2 (kid \"a\")"); no key bytes
  Status addJwks(std::string_view json, std::string* detail = nullptr);

  // Number of keys held.
  std::size_t size() const;
  bool empty() const { return size() == 0; }

  // The key at index (< size()). For auth/ internals and tests.
  const Key& key(std::size_t index) const;

  // Every algorithm that at least one key can verify; the default allow-list when the
  // operator names none.
  std::vector<Alg> usableAlgs() const;

 private:
  Status adopt(std::vector<Key>& keys);

  std::vector<Key> keys_;
};

// Reads an HMAC secret from the environment variable name (raw bytes, used as they are).
// Returns SecretUnavailable when the variable is unset or empty.
Status loadSecretFromEnv(const std::string& name, std::string& out);

// Reads an HMAC secret from a file; one trailing "\n" or "\r\n" is removed, as editors and
// `echo` add one. Returns SecretUnavailable when the file cannot be read or is empty.
Status loadSecretFromFile(const std::string& path, std::string& out);

// Reads a whole (key) file of at most max_size bytes. Returns FileUnreadable.
Status readKeyFile(const std::string& path, std::string& out, std::size_t max_size = 1 << 20);

}  // namespace appserver::auth
