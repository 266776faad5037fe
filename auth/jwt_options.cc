// jwt_options.cc: JwtOptions to Policy + KeySet.
//
// Thread: startup or a reload thread.
#include "auth/jwt_options.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <utility>

namespace appserver::auth {

namespace {

// Composes "<what>: <reason>" into detail and passes status through.
Status explain(Status status, const std::string& what, std::string& detail) {
  if (status != Status::Ok) {
    detail = what + ": " + std::string(toString(status));
  }
  return status;
}

void wipe(std::string& secret) {
  if (!secret.empty()) {
    OPENSSL_cleanse(secret.data(), secret.size());
  }
  secret.clear();
}

Status loadSecret(const JwtOptions& options, KeySet& keys, std::string& detail) {
  if (options.secret_env.empty() && options.secret_file.empty()) {
    return Status::Ok;
  }
  if (!options.secret_env.empty() && !options.secret_file.empty()) {
    return explain(Status::ConfigInvalid, "--jwt-secret-env and --jwt-secret-file", detail);
  }
  const bool from_env = !options.secret_env.empty();
  const std::string what = from_env ? "--jwt-secret-env " + options.secret_env
                                    : "--jwt-secret-file " + options.secret_file;
  std::string secret;
  Status status = from_env ? loadSecretFromEnv(options.secret_env, secret)
                           : loadSecretFromFile(options.secret_file, secret);
  if (status == Status::Ok) {
    status = keys.addHmacSecret(secret);
  }
  wipe(secret);
  return explain(status, what, detail);
}

Status loadPublicKeys(const JwtOptions& options, KeySet& keys, std::string& detail) {
  for (const std::string& path : options.public_keys) {
    std::string pem;
    Status status = readKeyFile(path, pem);
    if (status == Status::Ok) {
      status = keys.addPublicKeyPem(pem);
    }
    if (status != Status::Ok) {
      return explain(status, "--jwt-public-key " + path, detail);
    }
  }
  if (options.jwks.empty()) {
    return Status::Ok;
  }
  std::string text;
  std::string which;
  Status status = readKeyFile(options.jwks, text);
  if (status == Status::Ok) {
    status = keys.addJwks(text, &which);
  }
  return explain(status, "--jwt-jwks " + options.jwks + (which.empty() ? "" : ": " + which),
                 detail);
}

Status buildPolicy(const JwtOptions& options, const KeySet& keys, Policy& policy,
                   std::string& detail) {
  Policy built;
  if (options.algorithms.empty()) {
    built.algorithms = keys.usableAlgs();
  } else if (parseAlgList(options.algorithms, built.algorithms) != Status::Ok) {
    return explain(Status::ConfigInvalid, "--jwt-algorithms " + options.algorithms, detail);
  }
  const std::vector<Alg> usable = keys.usableAlgs();
  bool any_usable = false;
  for (const Alg alg : built.algorithms) {
    any_usable = any_usable || std::find(usable.begin(), usable.end(), alg) != usable.end();
  }
  if (!any_usable) {
    return explain(Status::KeySetEmpty, "--jwt-algorithms with the configured keys", detail);
  }
  if (options.leeway < 0) {
    return explain(Status::ConfigInvalid, "--jwt-leeway must be >= 0", detail);
  }
  built.issuer = options.issuer;
  built.audiences = options.audiences;
  built.leeway = options.leeway;
  built.required_claims = options.required;
  built.token_type = options.token_type;
  built.user_claim = options.user_claim.empty() ? "sub" : options.user_claim;
  built.check_claims = !options.no_claims;
  policy = std::move(built);
  return Status::Ok;
}

}  // namespace

bool JwtOptions::enabled() const {
  return !secret_env.empty() || !secret_file.empty() || !public_keys.empty() || !jwks.empty();
}

Status buildJwtConfig(const JwtOptions& options, Policy& policy, KeySet& keys,
                      std::string* detail) {
  std::string message;
  KeySet built;
  Status status = options.enabled() ? Status::Ok
                                    : explain(Status::ConfigInvalid,
                                              "no key given (--jwt-secret-env, --jwt-secret-file, "
                                              "--jwt-public-key or --jwt-jwks)",
                                              message);
  if (status == Status::Ok) {
    status = loadSecret(options, built, message);
  }
  if (status == Status::Ok) {
    status = loadPublicKeys(options, built, message);
  }
  if (status == Status::Ok) {
    status = buildPolicy(options, built, policy, message);
  }
  if (status == Status::Ok) {
    keys = std::move(built);
  } else if (detail != nullptr) {
    *detail = std::move(message);
  }
  return status;
}

}  // namespace appserver::auth
