// signature.cc: HMAC, RSASSA-PKCS1-v1_5, RSASSA-PSS, ECDSA (JOSE r||s) and Ed25519 on
// OpenSSL 3.
//
// Digests are fetched once per process (an implicit fetch per call is measurably slow in
// OpenSSL 3.0). HMAC keys arrive pre-keyed (key.h) and are duplicated per use. MACs are
// compared with CRYPTO_memcmp. Thread: any.
#include "auth/signature.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include <array>

namespace appserver::auth {

namespace {

constexpr std::size_t kEd25519SignatureSize = 64;

Status fail(Status status) {
  ERR_clear_error();
  return status;
}

// SHA-256/384/512 by index 0/1/2, fetched once; EVP_MD objects are immutable.
const EVP_MD* digestFor(Alg alg) {
  static const std::array<EVP_MD*, 3> kDigests = {
      EVP_MD_fetch(nullptr, "SHA256", nullptr),
      EVP_MD_fetch(nullptr, "SHA384", nullptr),
      EVP_MD_fetch(nullptr, "SHA512", nullptr),
  };
  if (algFamily(alg) == AlgFamily::EdDsa) {
    return nullptr;  // Ed25519 hashes internally
  }
  const std::size_t size = algHashSize(alg);
  return kDigests[size == 32 ? 0 : size == 48 ? 1 : 2];
}

std::size_t hmacIndex(Alg alg) {
  const std::size_t size = algHashSize(alg);
  return size == 32 ? 0 : size == 48 ? 1 : 2;
}

std::size_t ecCoordinateSize(const Key& key) { return static_cast<std::size_t>(key.bits) / 8; }

bool keyTypeServes(const Key& key, Alg alg) {
  switch (algFamily(alg)) {
    case AlgFamily::Hmac:
      return key.type == KeyType::Oct && key.hmac[hmacIndex(alg)] != nullptr;
    case AlgFamily::RsaPkcs1:
    case AlgFamily::RsaPss:
      return key.type == KeyType::Rsa && key.pkey != nullptr;
    case AlgFamily::Ecdsa:
      return key.type == KeyType::Ec && key.pkey != nullptr && key.curve_nid == ecCurveForAlg(alg);
    case AlgFamily::EdDsa:
      return key.type == KeyType::Okp && key.pkey != nullptr;
  }
  return false;
}

Status computeHmac(Alg alg, const Key& key, std::string_view input, std::string& out) {
  const EvpMacCtxPtr ctx(EVP_MAC_CTX_dup(key.hmac[hmacIndex(alg)].get()));
  unsigned char mac[EVP_MAX_MD_SIZE];
  std::size_t mac_size = 0;
  if (!ctx ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1 ||
      EVP_MAC_final(ctx.get(), mac, &mac_size, sizeof(mac)) != 1) {
    return fail(Status::InternalError);
  }
  out.assign(reinterpret_cast<const char*>(mac), mac_size);
  OPENSSL_cleanse(mac, sizeof(mac));
  return Status::Ok;
}

Status verifyHmac(Alg alg, const Key& key, std::string_view input, std::string_view signature) {
  std::string expected;
  const Status status = computeHmac(alg, key, input, expected);
  if (status != Status::Ok) {
    return status;
  }
  if (signature.size() != expected.size() ||
      CRYPTO_memcmp(signature.data(), expected.data(), expected.size()) != 0) {
    return Status::SignatureInvalid;
  }
  return Status::Ok;
}

// Converts the JOSE r||s form to the DER ECDSA-Sig-Value OpenSSL verifies.
Status ecdsaRawToDer(std::string_view raw, std::size_t coordinate, std::string& der) {
  if (raw.size() != 2 * coordinate) {
    return Status::SignatureMalformed;
  }
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  BignumPtr r(BN_bin2bn(bytes, static_cast<int>(coordinate), nullptr));
  BignumPtr s(BN_bin2bn(bytes + coordinate, static_cast<int>(coordinate), nullptr));
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    return fail(Status::InternalError);
  }
  r.release();  // owned by sig now
  s.release();
  unsigned char* encoded = nullptr;
  const int length = i2d_ECDSA_SIG(sig.get(), &encoded);
  if (length <= 0) {
    return fail(Status::InternalError);
  }
  der.assign(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(length));
  OPENSSL_free(encoded);
  return Status::Ok;
}

// Converts OpenSSL's DER ECDSA signature to the JOSE r||s form.
Status ecdsaDerToRaw(std::string_view der, std::size_t coordinate, std::string& raw) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(der.data());
  const EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &bytes, static_cast<long>(der.size())));
  if (!sig) {
    return fail(Status::InternalError);
  }
  raw.assign(2 * coordinate, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out, static_cast<int>(coordinate)) < 0 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out + coordinate, static_cast<int>(coordinate)) <
          0) {
    return fail(Status::InternalError);
  }
  return Status::Ok;
}

// Creates a digest context for key with the padding alg needs (PSS: MGF1 with the same
// hash and a salt as long as the hash, RFC 7518 section 3.5).
EvpMdCtxPtr makeDigestContext(Alg alg, const Key& key, bool sign) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) {
    return nullptr;
  }
  EVP_PKEY_CTX* pkey_ctx = nullptr;  // owned by ctx
  const EVP_MD* md = digestFor(alg);
  const int rc = sign ? EVP_DigestSignInit(ctx.get(), &pkey_ctx, md, nullptr, key.pkey.get())
                      : EVP_DigestVerifyInit(ctx.get(), &pkey_ctx, md, nullptr, key.pkey.get());
  if (rc != 1) {
    return nullptr;
  }
  if (algFamily(alg) == AlgFamily::RsaPss &&
      (EVP_PKEY_CTX_set_rsa_padding(pkey_ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
       EVP_PKEY_CTX_set_rsa_pss_saltlen(pkey_ctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
       EVP_PKEY_CTX_set_rsa_mgf1_md(pkey_ctx, md) != 1)) {
    return nullptr;
  }
  return ctx;
}

// The exact signature length alg and key require, or 0 if only OpenSSL can tell.
std::size_t expectedSignatureSize(Alg alg, const Key& key) {
  switch (algFamily(alg)) {
    case AlgFamily::RsaPkcs1:
    case AlgFamily::RsaPss:
      return static_cast<std::size_t>(EVP_PKEY_get_size(key.pkey.get()));
    case AlgFamily::Ecdsa:
      return 2 * ecCoordinateSize(key);
    case AlgFamily::EdDsa:
      return kEd25519SignatureSize;
    case AlgFamily::Hmac:
      return algHashSize(alg);
  }
  return 0;
}

// A context for EVP_PKEY_verify over key with alg's padding and digest, to be duplicated
// per signature. Null (error queue cleared) when OpenSSL refuses.
EvpPkeyCtxPtr makeVerifyTemplate(Alg alg, const Key& key) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.pkey.get(), nullptr));
  const EVP_MD* md = digestFor(alg);
  bool ok = ctx && EVP_PKEY_verify_init(ctx.get()) == 1 &&
            EVP_PKEY_CTX_set_signature_md(ctx.get(), md) == 1;
  if (ok && algFamily(alg) == AlgFamily::RsaPkcs1) {
    ok = EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) == 1;
  } else if (ok && algFamily(alg) == AlgFamily::RsaPss) {
    ok = EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), RSA_PSS_SALTLEN_DIGEST) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md) == 1;
  }
  if (!ok) {
    ERR_clear_error();
    return nullptr;
  }
  return ctx;
}

// The fast path: hash the input, then verify the digest with a duplicate of the template.
Status verifyWithTemplate(Alg alg, const EVP_PKEY_CTX& tmpl, std::string_view input,
                          std::string_view signature) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &digest_size, digestFor(alg), nullptr) != 1) {
    return fail(Status::InternalError);
  }
  const EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_dup(&tmpl));
  if (!ctx) {
    return fail(Status::InternalError);
  }
  const int rc =
      EVP_PKEY_verify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                      signature.size(), digest, digest_size);
  if (rc != 1) {
    return fail(Status::SignatureInvalid);
  }
  return Status::Ok;
}

Status verifyWithPkey(Alg alg, const Key& key, std::string_view input, std::string_view signature) {
  if (signature.size() != expectedSignatureSize(alg, key)) {
    return Status::SignatureMalformed;
  }
  std::string der;
  if (algFamily(alg) == AlgFamily::Ecdsa) {
    const Status status = ecdsaRawToDer(signature, ecCoordinateSize(key), der);
    if (status != Status::Ok) {
      return status;
    }
    signature = der;
  }
  if (const EVP_PKEY_CTX* tmpl = key.verify_templates[static_cast<std::size_t>(alg)].get()) {
    return verifyWithTemplate(alg, *tmpl, input, signature);
  }
  const EvpMdCtxPtr ctx = makeDigestContext(alg, key, /*sign=*/false);
  if (!ctx) {
    return fail(Status::InternalError);
  }
  const int rc = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
      reinterpret_cast<const unsigned char*>(input.data()), input.size());
  if (rc != 1) {
    return fail(Status::SignatureInvalid);
  }
  return Status::Ok;
}

Status signWithPkey(Alg alg, const Key& key, std::string_view input, std::string& out) {
  const EvpMdCtxPtr ctx = makeDigestContext(alg, key, /*sign=*/true);
  std::size_t length = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (!ctx || EVP_DigestSign(ctx.get(), nullptr, &length, data, input.size()) != 1) {
    return fail(Status::InternalError);
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, data,
                     input.size()) != 1) {
    return fail(Status::InternalError);
  }
  signature.resize(length);
  if (algFamily(alg) == AlgFamily::Ecdsa) {
    return ecdsaDerToRaw(signature, ecCoordinateSize(key), out);
  }
  out = std::move(signature);
  return Status::Ok;
}

}  // namespace

void prepareVerifyTemplates(Key& key) {
  if (key.type != KeyType::Rsa && key.type != KeyType::Ec) {
    return;  // Ed25519 hashes internally: it has no digest-then-verify form
  }
  for (const Alg alg : allAlgs()) {
    if (keyTypeServes(key, alg)) {
      key.verify_templates[static_cast<std::size_t>(alg)] = makeVerifyTemplate(alg, key);
    }
  }
}

Status verifySignature(Alg alg, const Key& key, std::string_view input,
                       std::string_view signature) {
  if (!keyTypeServes(key, alg)) {
    return Status::KeyAlgMismatch;
  }
  if (algFamily(alg) == AlgFamily::Hmac) {
    return verifyHmac(alg, key, input, signature);
  }
  return verifyWithPkey(alg, key, input, signature);
}

Status signRaw(Alg alg, const Key& key, std::string_view input, std::string& out) {
  if (!keyTypeServes(key, alg)) {
    return Status::KeyAlgMismatch;
  }
  if (algFamily(alg) == AlgFamily::Hmac) {
    return computeHmac(alg, key, input, out);
  }
  return signWithPkey(alg, key, input, out);
}

}  // namespace appserver::auth
