// signature_wycheproof_test.cc: the Wycheproof primitive vectors (ECDSA P1363, RSA PKCS#1
// v1.5, RSA-PSS, Ed25519, HMAC) against verifySignature (auth/signature.cc).
//
// Each group's key is loaded the way the server loads keys (PEM through KeySet's loader,
// with its strength checks); a group whose key is refused must contain no valid vector.
// "acceptable" vectors (RSA PKCS#1 "MissingNull") may go either way and are only counted.
// See shared/corpus/wycheproof/README.md and docs/auth.md.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "auth/key.h"
#include "auth/signature.h"
#include "test_keys.h"

namespace appserver::auth {
namespace {

using Json = nlohmann::json;
using testing::fromHex;

struct PrimitiveFile {
  const char* file;
  Alg alg;
};

// Names the parameter in test listings (ctest shows it) by its file.
void PrintTo(const PrimitiveFile& file, std::ostream* out) { *out << file.file; }

struct Tally {
  int passed = 0;
  int acceptable = 0;
  int acceptable_accepted = 0;
  int failed = 0;
};

Status loadGroupKey(const Json& group, Alg alg, Key& key) {
  if (algFamily(alg) == AlgFamily::Hmac) {
    return Status::Ok;  // HMAC keys come with each test
  }
  std::vector<Key> keys;
  const Status status = makePublicKeysFromPem(group.at("publicKeyPem").get<std::string>(), keys);
  if (status == Status::Ok) {
    key = std::move(keys.front());
  }
  return status;
}

void checkVector(const Json& test, Status status, Tally& tally) {
  const std::string expected = test.at("result").get<std::string>();
  if (expected == "acceptable") {
    ++tally.acceptable;
    tally.acceptable_accepted += status == Status::Ok ? 1 : 0;
    return;
  }
  const bool ok = (status == Status::Ok) == (expected == "valid");
  ok ? ++tally.passed : ++tally.failed;
  EXPECT_TRUE(ok) << "tcId " << test.at("tcId") << " (" << test.at("comment") << ") expected "
                  << expected << ", got " << toString(status);
}

void runGroup(const Json& group, Alg alg, Tally& tally) {
  if (group.contains("tagSize") && group.at("tagSize").get<std::size_t>() != 8 * algHashSize(alg)) {
    return;  // truncated MACs: JWS never uses them
  }
  Key key;
  const Status key_status = loadGroupKey(group, alg, key);
  for (const Json& test : group.at("tests")) {
    Status status = key_status;
    if (algFamily(alg) == AlgFamily::Hmac) {
      status = makeHmacKey(fromHex(test.at("key").get<std::string>()), key);
    }
    const std::string signature = fromHex(test.contains("sig") ? test.at("sig").get<std::string>()
                                                               : test.at("tag").get<std::string>());
    if (status == Status::Ok) {
      status = verifySignature(alg, key, fromHex(test.at("msg").get<std::string>()), signature);
    }
    checkVector(test, status, tally);
  }
}

class SignatureWycheproofTest : public ::testing::TestWithParam<PrimitiveFile> {};

TEST_P(SignatureWycheproofTest, AgreesWithEveryVector) {
  const Json document =
      Json::parse(testing::readCorpus(std::string("wycheproof/") + GetParam().file));
  Tally tally;
  for (const Json& group : document.at("testGroups")) {
    runGroup(group, GetParam().alg, tally);
  }
  EXPECT_GT(tally.passed, 50);
  std::printf("%s: %d agree, %d disagree, %d acceptable (%d of them accepted)\n", GetParam().file,
              tally.passed, tally.failed, tally.acceptable, tally.acceptable_accepted);
}

const PrimitiveFile kFiles[] = {
    {"ecdsa_secp256r1_sha256_p1363_test.json", Alg::Es256},
    {"ecdsa_secp384r1_sha384_p1363_test.json", Alg::Es384},
    {"ecdsa_secp521r1_sha512_p1363_test.json", Alg::Es512},
    {"ecdsa_secp256k1_sha256_p1363_test.json", Alg::Es256k},
    {"rsa_signature_2048_sha256_test.json", Alg::Rs256},
    {"rsa_signature_2048_sha384_test.json", Alg::Rs384},
    {"rsa_signature_2048_sha512_test.json", Alg::Rs512},
    {"rsa_signature_3072_sha256_test.json", Alg::Rs256},
    {"rsa_signature_3072_sha384_test.json", Alg::Rs384},
    {"rsa_signature_3072_sha512_test.json", Alg::Rs512},
    {"rsa_signature_4096_sha256_test.json", Alg::Rs256},
    {"rsa_signature_4096_sha384_test.json", Alg::Rs384},
    {"rsa_signature_4096_sha512_test.json", Alg::Rs512},
    {"rsa_pss_2048_sha256_mgf1_32_test.json", Alg::Ps256},
    {"rsa_pss_2048_sha384_mgf1_48_test.json", Alg::Ps384},
    {"rsa_pss_3072_sha256_mgf1_32_test.json", Alg::Ps256},
    {"rsa_pss_4096_sha256_mgf1_32_test.json", Alg::Ps256},
    {"rsa_pss_4096_sha384_mgf1_48_test.json", Alg::Ps384},
    {"rsa_pss_4096_sha512_mgf1_64_test.json", Alg::Ps512},
    {"ed25519_test.json", Alg::EdDsa},
    {"hmac_sha256_test.json", Alg::Hs256},
    {"hmac_sha384_test.json", Alg::Hs384},
    {"hmac_sha512_test.json", Alg::Hs512},
};

std::string fileTestName(const ::testing::TestParamInfo<PrimitiveFile>& info) {
  std::string name = info.param.file;
  name = name.substr(0, name.find("_test.json"));
  for (char& c : name) {
    c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Corpus, SignatureWycheproofTest, ::testing::ValuesIn(kFiles),
                         fileTestName);

}  // namespace
}  // namespace appserver::auth
