// test_keys.cc: generated keys and token helpers for the auth tests.
//
// Thread: the gtest main thread.
#include "test_keys.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <fstream>
#include <map>
#include <sstream>

#include "auth/jwt_signer.h"

namespace appserver::auth::testing {

namespace {

EVP_PKEY* generate(Alg alg) {
  switch (algFamily(alg)) {
    case AlgFamily::RsaPkcs1:
    case AlgFamily::RsaPss:
      return EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048});
    case AlgFamily::EdDsa:
      return EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    case AlgFamily::Ecdsa:
      return EVP_PKEY_Q_keygen(nullptr, nullptr, "EC",
                               alg == Alg::Es256   ? "P-256"
                               : alg == Alg::Es384 ? "P-384"
                               : alg == Alg::Es512 ? "P-521"
                                                   : "secp256k1");
    case AlgFamily::Hmac:
      return nullptr;
  }
  return nullptr;
}

}  // namespace

const Key& signingKey(Alg alg) {
  static std::map<Alg, Key> keys;
  // RSA keys are shared by all RS/PS algorithms to keep start-up fast.
  const Alg slot = algFamily(alg) == AlgFamily::RsaPss || algFamily(alg) == AlgFamily::RsaPkcs1
                       ? Alg::Rs256
                   : algFamily(alg) == AlgFamily::Hmac ? Alg::Hs256
                                                       : alg;
  auto found = keys.find(slot);
  if (found == keys.end()) {
    Key key;
    const Status status = algFamily(alg) == AlgFamily::Hmac
                              ? makeHmacKey(kSecret, key)
                              : makeKeyFromPkey(EvpPkeyPtr(generate(alg)), true, key);
    EXPECT_EQ(status, Status::Ok);
    found = keys.emplace(slot, std::move(key)).first;
  }
  return found->second;
}

std::string publicPem(Alg alg) {
  std::string pem;
  if (algFamily(alg) != AlgFamily::Hmac) {
    EXPECT_EQ(publicKeyToPem(signingKey(alg), pem), Status::Ok);
  }
  return pem;
}

KeySet verifyingKeys(Alg alg, std::string_view kid) {
  KeySet keys;
  const Status status = algFamily(alg) == AlgFamily::Hmac
                            ? keys.addHmacSecret(kSecret, kid)
                            : keys.addPublicKeyPem(publicPem(alg), kid);
  EXPECT_EQ(status, Status::Ok);
  return keys;
}

std::string sign(Alg alg, std::string_view payload, std::string_view kid) {
  std::string token;
  EXPECT_EQ(signJwt(alg, signingKey(alg), payload, kid, token), Status::Ok);
  return token;
}

std::string signWithHeader(Alg alg, std::string_view header_json, std::string_view payload) {
  std::string token;
  EXPECT_EQ(signJws(alg, signingKey(alg), header_json, payload, token), Status::Ok);
  return token;
}

std::string readCorpus(std::string_view relative_path) {
  const std::string path =
      std::string(APPSERVER_SHARED_DIR) + "/corpus/" + std::string(relative_path);
  std::ifstream file(path, std::ios::binary);
  EXPECT_TRUE(file.good()) << "cannot read " << path;
  std::ostringstream content;
  content << file.rdbuf();
  return content.str();
}

std::string fromHex(std::string_view hex) {
  std::string bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return bytes;
}

}  // namespace appserver::auth::testing
