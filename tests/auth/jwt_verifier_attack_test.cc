// jwt_verifier_attack_test.cc: one test per known attack class on JWT verifiers
// (RFC 8725 section 2), run against JwtVerifier (auth/jwt_verifier.cc).
#include <gtest/gtest.h>
#include <openssl/ecdsa.h>

#include <string>

#include "auth/base64url.h"
#include "auth/jwt_signer.h"
#include "auth/jwt_verifier.h"
#include "auth/openssl_ptr.h"
#include "test_keys.h"

namespace appserver::auth {
namespace {

using testing::kNow;
using testing::sign;
using testing::signWithHeader;
using testing::verifyingKeys;

const std::string kClaims = R"({"sub":"alice","exp":1800000000})";

Status verifyToken(std::string_view token, const KeySet& keys) {
  Policy policy;
  policy.algorithms = allAlgs();
  return JwtVerifier(policy).verify(token, keys, kNow).status;
}

std::string segment(std::string_view text) { return base64UrlEncode(text); }

// Replaces the signature segment of token with the base64url of signature.
std::string withSignature(const std::string& token, std::string_view signature) {
  return token.substr(0, token.rfind('.') + 1) + base64UrlEncode(signature);
}

std::string rawSignature(const std::string& token) {
  std::string bytes;
  EXPECT_EQ(base64UrlDecode(token.substr(token.rfind('.') + 1), bytes), Status::Ok);
  return bytes;
}

TEST(JwtVerifierAttack, RejectsAlgNoneInAnyLetterCase) {
  const KeySet keys = verifyingKeys(Alg::Hs256);
  for (const char* alg : {"none", "None", "NONE", "nOnE"}) {
    const std::string header = std::string(R"({"alg":")") + alg + R"(","typ":"JWT"})";
    const std::string unsigned_token = segment(header) + "." + segment(kClaims) + ".";
    EXPECT_EQ(verifyToken(unsigned_token, keys), Status::AlgNone) << alg;
    const std::string hmac_signed = signWithHeader(Alg::Hs256, header, kClaims);
    EXPECT_EQ(verifyToken(hmac_signed, keys), Status::AlgNone) << alg;
  }
}

TEST(JwtVerifierAttack, RejectsHs256SignedWithRsaPublicKeyAsSecret) {
  const std::string pem = testing::publicPem(Alg::Rs256);
  Key forged_key;
  ASSERT_EQ(makeHmacKey(pem, forged_key), Status::Ok);
  std::string token;
  ASSERT_EQ(signJwt(Alg::Hs256, forged_key, kClaims, "", token), Status::Ok);
  const KeySet keys = verifyingKeys(Alg::Rs256);
  EXPECT_EQ(verifyToken(token, keys), Status::KeyAlgMismatch);
  KeySet confused;
  EXPECT_EQ(confused.addHmacSecret(pem), Status::KeyInvalid);
}

TEST(JwtVerifierAttack, RejectsEcdsaZeroSignature) {
  const std::string token = sign(Alg::Es256, kClaims);
  const KeySet keys = verifyingKeys(Alg::Es256);
  ASSERT_EQ(verifyToken(token, keys), Status::Ok);
  EXPECT_EQ(verifyToken(withSignature(token, std::string(64, '\0')), keys),
            Status::SignatureInvalid);
  const std::string valid = rawSignature(token);
  EXPECT_EQ(verifyToken(withSignature(token, std::string(32, '\0') + valid.substr(32)), keys),
            Status::SignatureInvalid);
  EXPECT_EQ(verifyToken(withSignature(token, valid.substr(0, 32) + std::string(32, '\0')), keys),
            Status::SignatureInvalid);
}

TEST(JwtVerifierAttack, RejectsDerEncodedEcdsaSignature) {
  const std::string token = sign(Alg::Es256, kClaims);
  const std::string raw = rawSignature(token);
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  EcdsaSigPtr sig(ECDSA_SIG_new());
  ASSERT_EQ(
      ECDSA_SIG_set0(sig.get(), BN_bin2bn(bytes, 32, nullptr), BN_bin2bn(bytes + 32, 32, nullptr)),
      1);
  unsigned char* der = nullptr;
  const int length = i2d_ECDSA_SIG(sig.get(), &der);
  ASSERT_GT(length, 0);
  const std::string der_bytes(reinterpret_cast<char*>(der), static_cast<std::size_t>(length));
  OPENSSL_free(der);
  EXPECT_EQ(verifyToken(withSignature(token, der_bytes), verifyingKeys(Alg::Es256)),
            Status::SignatureMalformed);
  EXPECT_EQ(verifyToken(withSignature(token, raw + '\0'), verifyingKeys(Alg::Es256)),
            Status::SignatureMalformed);
}

TEST(JwtVerifierAttack, RejectsUnknownKid) {
  KeySet keys;
  ASSERT_EQ(keys.addJwks(R"({"keys":[{"kty":"oct","kid":"k1","k":")" +
                         base64UrlEncode(testing::kSecret) + R"("}]})"),
            Status::Ok);
  EXPECT_EQ(verifyToken(sign(Alg::Hs256, kClaims, "k1"), keys), Status::Ok);
  EXPECT_EQ(verifyToken(sign(Alg::Hs256, kClaims, "k2"), keys), Status::KeyNotFound);
}

TEST(JwtVerifierAttack, IgnoresEmbeddedKeyHeaders) {
  // The attacker signs with their own key and points the header at it; only configured
  // keys are ever used, so the signature does not verify.
  const Alg attacker = Alg::Es384;
  const KeySet keys = verifyingKeys(Alg::Es256);
  const std::string headers[] = {
      R"({"alg":"ES384","jwk":{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}})",
      R"({"alg":"ES384","jku":"https://evil.example/jwks.json"})",
      R"({"alg":"ES384","x5u":"https://evil.example/cert.pem"})",
      R"({"alg":"ES384","x5c":["MIIB"]})",
  };
  for (const std::string& header : headers) {
    const std::string token = signWithHeader(attacker, header, kClaims);
    EXPECT_EQ(verifyToken(token, keys), Status::KeyAlgMismatch) << header;
  }
  const std::string same_alg = signWithHeader(
      Alg::Es256, R"({"alg":"ES256","jku":"https://evil.example/jwks.json"})", kClaims);
  KeySet other = verifyingKeys(Alg::Es256k);
  ASSERT_EQ(other.addHmacSecret(testing::kSecret), Status::Ok);
  EXPECT_EQ(verifyToken(same_alg, other), Status::KeyAlgMismatch);
}

TEST(JwtVerifierAttack, RejectsTamperedHeaderPayloadOrSignature) {
  const std::string token = sign(Alg::Rs256, kClaims);
  const KeySet keys = verifyingKeys(Alg::Rs256);
  const std::size_t first = token.find('.');
  const std::string forged_payload = token.substr(0, first + 1) +
                                     segment(R"({"sub":"admin","exp":1800000000})") +
                                     token.substr(token.rfind('.'));
  EXPECT_EQ(verifyToken(forged_payload, keys), Status::SignatureInvalid);
  const std::string forged_header = segment(R"({"alg":"RS256","typ":"JWS"})") + token.substr(first);
  EXPECT_EQ(verifyToken(forged_header, keys), Status::SignatureInvalid);
  std::string signature = rawSignature(token);
  signature[10] ^= 1;
  EXPECT_EQ(verifyToken(withSignature(token, signature), keys), Status::SignatureInvalid);
}

TEST(JwtVerifierAttack, RejectsWrongSegmentCount) {
  const std::string token = sign(Alg::Hs256, kClaims);
  const KeySet keys = verifyingKeys(Alg::Hs256);
  EXPECT_EQ(verifyToken("", keys), Status::TokenMalformed);
  EXPECT_EQ(verifyToken(token.substr(0, token.rfind('.')), keys), Status::TokenMalformed);
  EXPECT_EQ(verifyToken(token + ".", keys), Status::TokenMalformed);
  EXPECT_EQ(verifyToken(token + ".e30.e30", keys), Status::TokenMalformed);
  EXPECT_EQ(verifyToken("..", keys), Status::JsonInvalid);
}

TEST(JwtVerifierAttack, RejectsOversizedTokenBeforeDecoding) {
  const KeySet keys = verifyingKeys(Alg::Hs256);
  const std::string padding(9000, 'A');
  const std::string token =
      sign(Alg::Hs256, R"({"sub":"alice","exp":1800000000,"p":")" + padding + "\"}");
  EXPECT_EQ(verifyToken(token, keys), Status::TokenTooLarge);
  EXPECT_EQ(verifyToken(std::string(9000, '!'), keys), Status::TokenTooLarge);
}

TEST(JwtVerifierAttack, RejectsDeeplyNestedJson) {
  const KeySet keys = verifyingKeys(Alg::Hs256);
  const std::string deep = std::string(100, '[') + std::string(100, ']');
  const std::string deep_header = R"({"alg":"HS256","x":)" + deep + "}";
  EXPECT_EQ(verifyToken(signWithHeader(Alg::Hs256, deep_header, kClaims), keys),
            Status::JsonTooDeep);
  const std::string deep_payload = R"({"sub":"alice","exp":1800000000,"x":)" + deep + "}";
  EXPECT_EQ(verifyToken(sign(Alg::Hs256, deep_payload), keys), Status::JsonTooDeep);
}

TEST(JwtVerifierAttack, RejectsDuplicateMemberNames) {
  const KeySet keys = verifyingKeys(Alg::Hs256);
  EXPECT_EQ(
      verifyToken(signWithHeader(Alg::Hs256, R"({"alg":"HS256","alg":"none"})", kClaims), keys),
      Status::JsonDuplicateKey);
  EXPECT_EQ(
      verifyToken(sign(Alg::Hs256, R"({"sub":"alice","exp":1800000000,"sub":"admin"})"), keys),
      Status::JsonDuplicateKey);
}

TEST(JwtVerifierAttack, RejectsBytesHiddenAfterANul) {
  using namespace std::string_literals;
  const KeySet keys = verifyingKeys(Alg::Hs256);
  EXPECT_EQ(
      verifyToken(signWithHeader(Alg::Hs256, "{\"alg\":\"HS256\"}\0{\"alg\":\"none\"}"s, kClaims),
                  keys),
      Status::JsonInvalid);
  EXPECT_EQ(verifyToken(sign(Alg::Hs256, kClaims + "\0{\"sub\":\"admin\"}"s), keys),
            Status::PayloadInvalid);
}

TEST(JwtVerifierAttack, RejectsUnderstoodNothingInCrit) {
  const std::string header = R"({"alg":"HS256","crit":["b64"],"b64":false})";
  EXPECT_EQ(verifyToken(signWithHeader(Alg::Hs256, header, kClaims), verifyingKeys(Alg::Hs256)),
            Status::CritUnsupported);
}

TEST(JwtVerifierAttack, RejectsMalformedHeaderMembers) {
  const KeySet keys = verifyingKeys(Alg::Hs256);
  EXPECT_EQ(verifyToken(signWithHeader(Alg::Hs256, R"({"typ":"JWT"})", kClaims), keys),
            Status::HeaderInvalid);
  EXPECT_EQ(verifyToken(signWithHeader(Alg::Hs256, R"({"alg":["HS256"]})", kClaims), keys),
            Status::HeaderInvalid);
  EXPECT_EQ(verifyToken(signWithHeader(Alg::Hs256, R"({"alg":"HS256","kid":7})", kClaims), keys),
            Status::HeaderInvalid);
  EXPECT_EQ(verifyToken(signWithHeader(Alg::Hs256, R"(["HS256"])", kClaims), keys),
            Status::HeaderInvalid);
  EXPECT_EQ(verifyToken(signWithHeader(Alg::Hs256, R"({"alg":"HS1"})", kClaims), keys),
            Status::AlgUnsupported);
}

TEST(JwtVerifierAttack, RejectsHmacSecretShorterThanTheHash) {
  KeySet keys;
  ASSERT_EQ(keys.addHmacSecret(std::string(32, 'k')), Status::Ok);
  Key key;
  ASSERT_EQ(makeHmacKey(std::string(32, 'k'), key), Status::Ok);
  std::string token;
  ASSERT_EQ(signJwt(Alg::Hs512, key, kClaims, "", token), Status::Ok);
  EXPECT_EQ(verifyToken(token, keys), Status::KeyAlgMismatch);
}

TEST(JwtVerifierAttack, RejectsNonCanonicalBase64InSignature) {
  const std::string token = sign(Alg::Hs256, kClaims);
  std::string altered = token;
  char& last = altered.back();  // 43 characters: the last one carries 2 unused bits
  last = last == 'A' ? 'B' : static_cast<char>(last + 1);
  EXPECT_EQ(verifyToken(altered, verifyingKeys(Alg::Hs256)), Status::Base64Invalid);
  EXPECT_EQ(verifyToken(token + "=", verifyingKeys(Alg::Hs256)), Status::Base64Invalid);
}

}  // namespace
}  // namespace appserver::auth
