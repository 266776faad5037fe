// jwt_signer.cc: compact JWS serialisation over signRaw().
//
// Thread: any.
#include "auth/jwt_signer.h"

#include "auth/base64url.h"
#include "auth/signature.h"
#include "auth/strict_json.h"

namespace appserver::auth {

Status signJws(Alg alg, const Key& key, std::string_view header_json, std::string_view payload,
               std::string& out) {
  std::string token = base64UrlEncode(header_json);
  token.push_back('.');
  token += base64UrlEncode(payload);
  std::string signature;
  const Status status = signRaw(alg, key, token, signature);
  if (status != Status::Ok) {
    return status;
  }
  token.push_back('.');
  token += base64UrlEncode(signature);
  out = std::move(token);
  return Status::Ok;
}

Status signJwt(Alg alg, const Key& key, std::string_view payload_json, std::string_view kid,
               std::string& out) {
  nlohmann::json header = {{"alg", std::string(algName(alg))}, {"typ", "JWT"}};
  if (!kid.empty()) {
    header["kid"] = std::string(kid);
  }
  return signJws(alg, key, dumpJson(header), payload_json, out);
}

}  // namespace appserver::auth
