// key_set.cc: loading keys into a KeySet, and the secret/key file helpers.
//
// Thread: building runs on one thread (startup or a reload thread); see key_set.h.
#include "auth/key_set.h"

#include <openssl/crypto.h>

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "auth/jwk.h"
#include "auth/key.h"
#include "auth/strict_json.h"

namespace appserver::auth {

namespace {

constexpr std::size_t kMaxSecretFileSize = 64 * 1024;
constexpr std::size_t kMaxKidInDetail = 64;
constexpr JsonLimits kJwksLimits{/*max_size=*/1 << 20, /*max_depth=*/8};

// "key 2 (kid \"abc\")" for error details; the kid is printable-filtered and truncated.
std::string describeJwk(std::size_t index, const nlohmann::json& jwk) {
  std::string text = "key " + std::to_string(index);
  const auto kid = jwk.is_object() ? jwk.find("kid") : jwk.end();
  if (kid != jwk.end() && kid->is_string()) {
    std::string printable;
    for (const char c : kid->get_ref<const std::string&>().substr(0, kMaxKidInDetail)) {
      printable.push_back(c >= 0x20 && c < 0x7f ? c : '?');
    }
    text += " (kid \"" + printable + "\")";
  }
  return text;
}

// Checks the per-key HMAC strength rule: the secret must cover its JWK alg's hash.
Status checkHmacStrength(const Key& key) {
  if (key.type != KeyType::Oct) {
    return Status::Ok;
  }
  const std::size_t needed = key.alg ? algHashSize(*key.alg) : kMinHmacSecretSize;
  return key.secret.size() >= needed ? Status::Ok : Status::KeyWeak;
}

// Parses the members of a JWKS into keys; detail names the failing key.
Status parseJwksKeys(const nlohmann::json& list, std::vector<Key>& keys, std::string* detail) {
  bool has_oct = false;
  bool has_asymmetric = false;
  for (std::size_t i = 0; i < list.size(); ++i) {
    Key key;
    JwkUsability usability = JwkUsability::Verify;
    Status status = parseJwk(list[i], key, usability);
    if (status == Status::Ok && usability == JwkUsability::Verify) {
      status = checkHmacStrength(key);
    }
    if (status != Status::Ok) {
      if (detail != nullptr) {
        *detail = describeJwk(i, list[i]);
      }
      return status;
    }
    if (usability == JwkUsability::Verify) {
      (key.type == KeyType::Oct ? has_oct : has_asymmetric) = true;
      keys.push_back(std::move(key));
    }
  }
  if (has_oct && has_asymmetric) {
    return Status::KeySetMixed;
  }
  return keys.empty() ? Status::KeySetEmpty : Status::Ok;
}

}  // namespace

KeySet::KeySet() = default;
KeySet::~KeySet() = default;
KeySet::KeySet(KeySet&&) noexcept = default;
KeySet& KeySet::operator=(KeySet&&) noexcept = default;

std::size_t KeySet::size() const { return keys_.size(); }

const Key& KeySet::key(std::size_t index) const { return keys_[index]; }

std::vector<Alg> KeySet::usableAlgs() const {
  std::vector<Alg> algs;
  for (const Alg alg : allAlgs()) {
    for (const Key& key : keys_) {
      if (keyFitsAlg(key, alg)) {
        algs.push_back(alg);
        break;
      }
    }
  }
  return algs;
}

Status KeySet::adopt(std::vector<Key>& keys) {
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (keys[i].kid.empty()) {
      continue;
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (keys[j].kid == keys[i].kid) {
        return Status::KeyDuplicateKid;
      }
    }
    for (const Key& existing : keys_) {
      if (existing.kid == keys[i].kid) {
        return Status::KeyDuplicateKid;
      }
    }
  }
  for (Key& key : keys) {
    keys_.push_back(std::move(key));
  }
  return Status::Ok;
}

Status KeySet::addHmacSecret(std::string_view secret, std::string_view kid) {
  if (secret.find("-----BEGIN") != std::string_view::npos) {
    return Status::KeyInvalid;
  }
  if (secret.size() < kMinHmacSecretSize) {
    return Status::KeyWeak;
  }
  std::vector<Key> keys(1);
  const Status status = makeHmacKey(secret, keys[0]);
  if (status != Status::Ok) {
    return status;
  }
  keys[0].kid.assign(kid);
  return adopt(keys);
}

Status KeySet::addPublicKeyPem(std::string_view pem, std::string_view kid) {
  std::vector<Key> keys;
  const Status status = makePublicKeysFromPem(pem, keys);
  if (status != Status::Ok) {
    return status;
  }
  if (!kid.empty() && keys.size() > 1) {
    return Status::KeyDuplicateKid;  // one kid cannot name several keys
  }
  for (Key& key : keys) {
    key.kid.assign(kid);
  }
  return adopt(keys);
}

Status KeySet::addJwks(std::string_view json, std::string* detail) {
  nlohmann::json document;
  Status status = parseJsonStrict(json, kJwksLimits, document);
  if (status != Status::Ok) {
    return status;
  }
  nlohmann::json single = nlohmann::json::array();
  const nlohmann::json* list = &single;
  if (document.is_object() && document.contains("keys")) {
    list = &*document.find("keys");
  } else if (document.is_object() && document.contains("kty")) {
    single.push_back(std::move(document));
  }
  if (!list->is_array()) {
    return Status::KeyInvalid;
  }
  std::vector<Key> keys;
  status = parseJwksKeys(*list, keys, detail);
  return status == Status::Ok ? adopt(keys) : status;
}

Status readKeyFile(const std::string& path, std::string& out, std::size_t max_size) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return Status::FileUnreadable;
  }
  std::string content;
  char buffer[4096];
  std::size_t count = 0;
  while ((count = std::fread(buffer, 1, sizeof(buffer), file)) > 0 && content.size() <= max_size) {
    content.append(buffer, count);
  }
  const bool failed = std::ferror(file) != 0 || content.size() > max_size;
  std::fclose(file);
  OPENSSL_cleanse(buffer, sizeof(buffer));
  if (failed) {
    return Status::FileUnreadable;
  }
  out = std::move(content);
  return Status::Ok;
}

Status loadSecretFromEnv(const std::string& name, std::string& out) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr || *value == '\0') {
    return Status::SecretUnavailable;
  }
  out = value;
  return Status::Ok;
}

Status loadSecretFromFile(const std::string& path, std::string& out) {
  std::string content;
  if (readKeyFile(path, content, kMaxSecretFileSize) != Status::Ok) {
    return Status::SecretUnavailable;
  }
  if (!content.empty() && content.back() == '\n') {
    content.pop_back();
    if (!content.empty() && content.back() == '\r') {
      content.pop_back();
    }
  }
  if (content.empty()) {
    return Status::SecretUnavailable;
  }
  out = std::move(content);
  return Status::Ok;
}

}  // namespace appserver::auth
