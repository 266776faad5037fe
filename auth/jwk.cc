// jwk.cc: JWK members to OpenSSL keys through OSSL_PARAM (OpenSSL 3 "fromdata").
//
// Thread: any.
#include "auth/jwk.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>

#include <array>
#include <string>
#include <string_view>
#include <utility>

#include "auth/base64url.h"

namespace appserver::auth {

namespace {

using Json = nlohmann::json;

struct CurveInfo {
  std::string_view jwk_name;
  const char* group_name;
  std::size_t coordinate_size;
};

constexpr std::array<CurveInfo, 4> kCurves = {{
    {"P-256", "prime256v1", 32},
    {"P-384", "secp384r1", 48},
    {"P-521", "secp521r1", 66},
    {"secp256k1", "secp256k1", 32},
}};

// Members whose presence means the JWK is (part of) a private RSA, EC or OKP key.
constexpr std::array<const char*, 7> kPrivateMembers = {"d", "p", "q", "dp", "dq", "qi", "oth"};

Status fail(Status status) {
  ERR_clear_error();
  return status;
}

// Reads an optional string member; Ok with found=false when absent, KeyInvalid when the
// member is not a string.
Status optionalString(const Json& jwk, const char* name, std::string& out, bool& found) {
  const auto it = jwk.find(name);
  found = it != jwk.end();
  if (!found) {
    return Status::Ok;
  }
  if (!it->is_string()) {
    return Status::KeyInvalid;
  }
  out = it->get_ref<const std::string&>();
  return Status::Ok;
}

// Reads a required string member; KeyInvalid when absent or not a string.
Status requiredString(const Json& jwk, const char* name, std::string& out) {
  bool found = false;
  const Status status = optionalString(jwk, name, out, found);
  return status == Status::Ok && found ? Status::Ok : Status::KeyInvalid;
}

// Reads a required base64url member into bytes.
Status requiredBytes(const Json& jwk, const char* name, std::string& out) {
  std::string text;
  if (requiredString(jwk, name, text) != Status::Ok) {
    return Status::KeyInvalid;
  }
  return base64UrlDecode(text, out) == Status::Ok ? Status::Ok : Status::KeyInvalid;
}

EvpPkeyPtr pkeyFromParams(const char* type, OSSL_PARAM_BLD* builder) {
  const OsslParamPtr params(OSSL_PARAM_BLD_to_param(builder));
  const EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  return EvpPkeyPtr(pkey);
}

Status parseRsa(const Json& jwk, Key& out) {
  std::string n_bytes;
  std::string e_bytes;
  if (requiredBytes(jwk, "n", n_bytes) != Status::Ok ||
      requiredBytes(jwk, "e", e_bytes) != Status::Ok || n_bytes.empty() || e_bytes.empty()) {
    return Status::KeyInvalid;
  }
  const auto* n_data = reinterpret_cast<const unsigned char*>(n_bytes.data());
  const auto* e_data = reinterpret_cast<const unsigned char*>(e_bytes.data());
  const BignumPtr n(BN_bin2bn(n_data, static_cast<int>(n_bytes.size()), nullptr));
  const BignumPtr e(BN_bin2bn(e_data, static_cast<int>(e_bytes.size()), nullptr));
  const OsslParamBldPtr builder(OSSL_PARAM_BLD_new());
  if (!n || !e || !builder ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return fail(Status::InternalError);
  }
  return makeKeyFromPkey(pkeyFromParams("RSA", builder.get()), /*allow_private=*/false, out);
}

Status parseEc(const Json& jwk, Key& out, JwkUsability& usability) {
  std::string crv;
  if (requiredString(jwk, "crv", crv) != Status::Ok) {
    return Status::KeyInvalid;
  }
  const CurveInfo* curve = nullptr;
  for (const CurveInfo& candidate : kCurves) {
    curve = candidate.jwk_name == crv ? &candidate : curve;
  }
  if (curve == nullptr) {
    usability = JwkUsability::Unsupported;
    return Status::Ok;
  }
  std::string x;
  std::string y;
  if (requiredBytes(jwk, "x", x) != Status::Ok || requiredBytes(jwk, "y", y) != Status::Ok ||
      x.size() != curve->coordinate_size || y.size() != curve->coordinate_size) {
    return Status::KeyInvalid;
  }
  const std::string point = '\x04' + x + y;  // SEC 1 uncompressed point
  const OsslParamBldPtr builder(OSSL_PARAM_BLD_new());
  if (!builder ||
      OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve->group_name,
                                      0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return fail(Status::InternalError);
  }
  // fromdata refuses a point that is not on the curve; makeKeyFromPkey checks again.
  return makeKeyFromPkey(pkeyFromParams("EC", builder.get()), /*allow_private=*/false, out);
}

Status parseOkp(const Json& jwk, Key& out, JwkUsability& usability) {
  std::string crv;
  if (requiredString(jwk, "crv", crv) != Status::Ok) {
    return Status::KeyInvalid;
  }
  if (crv != "Ed25519") {
    usability = JwkUsability::Unsupported;  // Ed448, and X25519/X448 (key agreement)
    return Status::Ok;
  }
  std::string x;
  if (requiredBytes(jwk, "x", x) != Status::Ok || x.size() != 32) {
    return Status::KeyInvalid;
  }
  EvpPkeyPtr pkey(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(x.data()), x.size()));
  return makeKeyFromPkey(std::move(pkey), /*allow_private=*/false, out);
}

Status parseOct(const Json& jwk, Key& out) {
  std::string secret;
  if (requiredBytes(jwk, "k", secret) != Status::Ok) {
    return Status::KeyInvalid;
  }
  const Status status = makeHmacKey(secret, out);
  if (!secret.empty()) {
    OPENSSL_cleanse(secret.data(), secret.size());
  }
  return status;
}

// Applies "use" and "key_ops" (RFC 7517 sections 4.2 and 4.3).
Status readIntendedUse(const Json& jwk, JwkUsability& usability) {
  std::string use;
  bool found = false;
  if (optionalString(jwk, "use", use, found) != Status::Ok) {
    return Status::KeyInvalid;
  }
  if (found && use != "sig") {
    usability = JwkUsability::NotForSigning;
  }
  const auto ops = jwk.find("key_ops");
  if (ops == jwk.end()) {
    return Status::Ok;
  }
  if (!ops->is_array()) {
    return Status::KeyInvalid;
  }
  bool verify = false;
  for (const Json& op : *ops) {
    if (!op.is_string()) {
      return Status::KeyInvalid;
    }
    verify = verify || op.get_ref<const std::string&>() == "verify";
  }
  if (!verify) {
    usability = JwkUsability::NotForSigning;
  }
  return Status::Ok;
}

// Reads kid and alg; an alg that is not a JWS signature algorithm makes the key unusable.
Status readIdentity(const Json& jwk, Key& key, JwkUsability& usability) {
  bool found = false;
  if (optionalString(jwk, "kid", key.kid, found) != Status::Ok) {
    return Status::KeyInvalid;
  }
  std::string alg_name;
  if (optionalString(jwk, "alg", alg_name, found) != Status::Ok) {
    return Status::KeyInvalid;
  }
  if (found) {
    key.alg = algFromName(alg_name);
    if (!key.alg) {
      usability = JwkUsability::NotForSigning;  // RSA-OAEP, A256GCM, ES521, ES224, ...
    }
  }
  return Status::Ok;
}

Status parseByType(const std::string& kty, const Json& jwk, Key& key, JwkUsability& usability) {
  if (kty != "oct") {
    for (const char* member : kPrivateMembers) {
      if (jwk.contains(member)) {
        return Status::KeyPrivateMaterial;
      }
    }
  }
  if (usability != JwkUsability::Verify) {
    return Status::Ok;  // skipped keys (e.g. "use":"enc") are not validated further
  }
  if (kty == "RSA") {
    return parseRsa(jwk, key);
  }
  if (kty == "EC") {
    return parseEc(jwk, key, usability);
  }
  if (kty == "OKP") {
    return parseOkp(jwk, key, usability);
  }
  if (kty == "oct") {
    return parseOct(jwk, key);
  }
  usability = JwkUsability::Unsupported;
  return Status::Ok;
}

// The JWK's alg must be usable with its own key type and curve (e.g. not ES512 on P-256).
bool algMatchesKeyType(const Key& key) {
  if (!key.alg) {
    return true;
  }
  if (algFamily(*key.alg) == AlgFamily::Hmac) {
    return key.type == KeyType::Oct;  // the secret's length is the key set's policy
  }
  return keyFitsAlg(key, *key.alg);
}

}  // namespace

Status parseJwk(const Json& jwk, Key& out, JwkUsability& usability) {
  usability = JwkUsability::Verify;
  std::string kty;
  bool found = false;
  if (!jwk.is_object() || optionalString(jwk, "kty", kty, found) != Status::Ok || !found) {
    return Status::KeyInvalid;
  }
  Key key;
  Status status = readIdentity(jwk, key, usability);
  if (status == Status::Ok) {
    status = readIntendedUse(jwk, usability);
  }
  if (status != Status::Ok) {
    return status;
  }
  const std::string kid = key.kid;
  const std::optional<Alg> alg = key.alg;
  status = parseByType(kty, jwk, key, usability);
  if (status != Status::Ok || usability != JwkUsability::Verify) {
    return status;
  }
  key.kid = kid;  // the type parsers build a fresh Key
  key.alg = alg;
  if (!algMatchesKeyType(key)) {
    return Status::KeyAlgMismatch;
  }
  out = std::move(key);
  return Status::Ok;
}

}  // namespace appserver::auth
