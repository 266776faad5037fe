// key_set_test.cc: key loading rules of KeySet (auth/key_set.cc, auth/jwk.cc, auth/key.cc).
#include "auth/key_set.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "auth/base64url.h"
#include "auth/key.h"
#include "test_keys.h"

namespace appserver::auth {
namespace {

using Json = nlohmann::json;

// The key of the json_web_key_test.json group whose comment is comment.
std::string wycheproofKeyGroup(const std::string& comment) {
  const Json document = Json::parse(testing::readCorpus("wycheproof/json_web_key_test.json"));
  for (const Json& group : document.at("testGroups")) {
    if (group.at("comment") == comment) {
      return (group.contains("public") ? group.at("public") : group.at("private")).dump();
    }
  }
  ADD_FAILURE() << "no group " << comment;
  return "";
}

Status loadJwks(const std::string& json, std::string* detail = nullptr) {
  KeySet keys;
  return keys.addJwks(json, detail);
}

std::string octJwk(std::string_view secret, std::string_view extra = "") {
  return R"({"kty":"oct","k":")" + base64UrlEncode(secret) + "\"" + std::string(extra) + "}";
}

TEST(KeySet, AcceptsHmacSecretOfSha256Size) {
  KeySet keys;
  EXPECT_EQ(keys.addHmacSecret(std::string(32, 'x')), Status::Ok);
  EXPECT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys.usableAlgs(), std::vector<Alg>{Alg::Hs256});
}

TEST(KeySet, RefusesHmacSecretShorterThanSha256Output) {
  KeySet keys;
  EXPECT_EQ(keys.addHmacSecret(std::string(31, 'x')), Status::KeyWeak);
  EXPECT_EQ(keys.addHmacSecret(""), Status::KeyWeak);
  EXPECT_TRUE(keys.empty());
}

TEST(KeySet, RefusesPemTextAsHmacSecret) {
  KeySet keys;
  EXPECT_EQ(keys.addHmacSecret(testing::publicPem(Alg::Rs256)), Status::KeyInvalid);
}

TEST(KeySet, LoadsRsaEcAndEd25519PublicPems) {
  KeySet keys;
  for (const Alg alg : {Alg::Rs256, Alg::Es256, Alg::Es384, Alg::Es512, Alg::Es256k, Alg::EdDsa}) {
    EXPECT_EQ(keys.addPublicKeyPem(testing::publicPem(alg)), Status::Ok) << algName(alg);
  }
  EXPECT_EQ(keys.size(), 6u);
  EXPECT_EQ(keys.usableAlgs().size(), 11u);  // every algorithm but HS256/384/512
}

TEST(KeySet, LoadsSeveralPemBlocksFromOneText) {
  KeySet keys;
  EXPECT_EQ(keys.addPublicKeyPem(testing::publicPem(Alg::Es256) + testing::publicPem(Alg::EdDsa)),
            Status::Ok);
  EXPECT_EQ(keys.size(), 2u);
}

TEST(KeySet, RefusesPrivateKeyPem) {
  std::string pem =
      "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n";
  KeySet keys;
  EXPECT_EQ(keys.addPublicKeyPem(pem), Status::KeyPrivateMaterial);
  EXPECT_EQ(keys.addPublicKeyPem("not a key"), Status::KeyInvalid);
}

TEST(KeySet, RefusesRsaModulusBelow2048Bits) {
  Key small;
  ASSERT_EQ(
      makeKeyFromPkey(EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{1024})),
                      true, small),
      Status::KeyWeak);
  EXPECT_EQ(loadJwks(wycheproofKeyGroup("keysize_too_small")), Status::KeyWeak);
}

TEST(KeySet, RefusesRsaPublicExponentOne) {
  EXPECT_EQ(loadJwks(wycheproofKeyGroup("exponentOne")), Status::KeyWeak);
}

TEST(KeySet, RefusesRsaKeyWithRocaFingerprint) {
  EXPECT_EQ(loadJwks(wycheproofKeyGroup("jws_rsa_roca_key")), Status::KeyWeak);
  EXPECT_EQ(loadJwks(wycheproofKeyGroup("rs256")), Status::Ok);
}

TEST(KeySet, RefusesEcPointOffTheCurve) {
  EXPECT_EQ(loadJwks(wycheproofKeyGroup("invalid_point")), Status::KeyInvalid);
  EXPECT_EQ(loadJwks(wycheproofKeyGroup("wrong_curve")), Status::KeyInvalid);
}

TEST(KeySet, RefusesJwkWhoseAlgDoesNotFitItsCurve) {
  // A valid P-256 key marked use:enc.
  Json key = Json::parse(wycheproofKeyGroup("invalid_use")).at("keys").at(0);
  key.erase("use");
  EXPECT_EQ(loadJwks(key.dump()), Status::Ok);
  key["alg"] = "ES512";
  EXPECT_EQ(loadJwks(key.dump()), Status::KeyAlgMismatch);
}

TEST(KeySet, RefusesJwksMixingSecretsAndPublicKeys) {
  EXPECT_EQ(loadJwks(wycheproofKeyGroup("jws_mixedSymmetryKeyset")), Status::KeySetMixed);
}

TEST(KeySet, RefusesDuplicateKid) {
  const std::string jwks = R"({"keys":[)" + octJwk(testing::kSecret, R"(,"kid":"a")") + "," +
                           octJwk(std::string(40, 'b'), R"(,"kid":"a")") + "]}";
  EXPECT_EQ(loadJwks(jwks), Status::KeyDuplicateKid);
  // The corpus case also has a non-canonical base64url "k", refused first.
  EXPECT_EQ(loadJwks(wycheproofKeyGroup("jws_duplicate_kid")), Status::KeyInvalid);
  KeySet keys;
  ASSERT_EQ(keys.addHmacSecret(testing::kSecret, "a"), Status::Ok);
  EXPECT_EQ(keys.addHmacSecret(std::string(40, 'b'), "a"), Status::KeyDuplicateKid);
  EXPECT_EQ(keys.size(), 1u);
}

TEST(KeySet, SkipsKeysNotMeantForSignatures) {
  EXPECT_EQ(loadJwks(wycheproofKeyGroup("invalid_use")), Status::KeySetEmpty);
  EXPECT_EQ(loadJwks(wycheproofKeyGroup("invalid_aes_gcm_key")), Status::KeySetEmpty);
  EXPECT_EQ(loadJwks(octJwk(testing::kSecret, R"(,"key_ops":["encrypt"])")), Status::KeySetEmpty);
  KeySet keys;
  const std::string jwks = R"({"keys":[)" + octJwk(testing::kSecret, R"(,"use":"enc","kid":"e")") +
                           "," + octJwk(testing::kSecret, R"(,"use":"sig","kid":"s")") + "]}";
  EXPECT_EQ(keys.addJwks(jwks), Status::Ok);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys.key(0).kid, "s");
}

TEST(KeySet, SkipsUnsupportedKeyTypesAndCurves) {
  KeySet keys;
  const std::string jwks = R"({"keys":[{"kty":"OKP","crv":"Ed448","x":"AA"},)"
                           R"({"kty":"AKP","alg":"ML-DSA-44","pub":"AA"},)" +
                           octJwk(testing::kSecret) + "]}";
  EXPECT_EQ(keys.addJwks(jwks), Status::Ok);
  EXPECT_EQ(keys.size(), 1u);
}

TEST(KeySet, RefusesPrivateJwk) {
  const Json vectors = Json::parse(testing::readCorpus("jose-rfc/vectors.json"));
  int checked = 0;
  for (const Json& vector : vectors) {
    if (vector.contains("private_jwk")) {
      EXPECT_EQ(loadJwks(vector.at("private_jwk").dump()), Status::KeyPrivateMaterial);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 4);
}

TEST(KeySet, RefusesOctKeyShorterThanItsAlgHash) {
  EXPECT_EQ(loadJwks(octJwk(std::string(40, 'k'), R"(,"alg":"HS384")")), Status::KeyWeak);
  EXPECT_EQ(loadJwks(octJwk(std::string(48, 'k'), R"(,"alg":"HS384")")), Status::Ok);
  EXPECT_EQ(loadJwks(octJwk(std::string(16, 'k'))), Status::KeyWeak);
}

TEST(KeySet, ExplainsFailureWithoutKeyMaterial) {
  const std::string secret(16, 'Q');
  const std::string jwks = R"({"keys":[)" + octJwk(testing::kSecret, R"(,"kid":"good")") + "," +
                           octJwk(secret, R"(,"kid":"short")") + "]}";
  std::string detail;
  EXPECT_EQ(loadJwks(jwks, &detail), Status::KeyWeak);
  EXPECT_EQ(detail, "key 1 (kid \"short\")");
}

TEST(KeySet, RefusesMalformedJwks) {
  EXPECT_EQ(loadJwks(R"({"keys":{}})"), Status::KeyInvalid);
  EXPECT_EQ(loadJwks(R"({"keys":[{"kty":"RSA","n":"AQAB"}]})"), Status::KeyInvalid);
  EXPECT_EQ(loadJwks(R"({"keys":[{"kty":"oct","k":"a+b/"}]})"), Status::KeyInvalid);
  EXPECT_EQ(loadJwks(R"({"keys":[],"keys":[]})"), Status::JsonDuplicateKey);
  EXPECT_EQ(loadJwks(R"({"keys":[]})"), Status::KeySetEmpty);
}

TEST(KeySet, LoadsSecretFromFileWithoutTrailingNewline) {
  const std::string path = ::testing::TempDir() + "/key_set_test_secret";
  std::ofstream(path) << testing::kSecret << "\r\n";
  std::string secret;
  EXPECT_EQ(loadSecretFromFile(path, secret), Status::Ok);
  EXPECT_EQ(secret, testing::kSecret);
  std::remove(path.c_str());
  EXPECT_EQ(loadSecretFromFile(path, secret), Status::SecretUnavailable);
}

TEST(KeySet, LoadsSecretFromEnvironment) {
  std::string secret;
  ::setenv("KEY_SET_TEST_SECRET", "abc", 1);
  EXPECT_EQ(loadSecretFromEnv("KEY_SET_TEST_SECRET", secret), Status::Ok);
  EXPECT_EQ(secret, "abc");
  ::setenv("KEY_SET_TEST_SECRET", "", 1);
  EXPECT_EQ(loadSecretFromEnv("KEY_SET_TEST_SECRET", secret), Status::SecretUnavailable);
  ::unsetenv("KEY_SET_TEST_SECRET");
  EXPECT_EQ(loadSecretFromEnv("KEY_SET_TEST_SECRET", secret), Status::SecretUnavailable);
}

}  // namespace
}  // namespace appserver::auth
