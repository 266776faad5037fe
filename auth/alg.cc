// alg.cc: names and properties of the implemented JWS algorithms.
//
// Thread: any.
#include "auth/alg.h"

#include <array>
#include <utility>

namespace appserver::auth {

namespace {

constexpr std::array<std::pair<std::string_view, Alg>, 14> kNames = {{
    {"HS256", Alg::Hs256},
    {"HS384", Alg::Hs384},
    {"HS512", Alg::Hs512},
    {"RS256", Alg::Rs256},
    {"RS384", Alg::Rs384},
    {"RS512", Alg::Rs512},
    {"PS256", Alg::Ps256},
    {"PS384", Alg::Ps384},
    {"PS512", Alg::Ps512},
    {"ES256", Alg::Es256},
    {"ES384", Alg::Es384},
    {"ES512", Alg::Es512},
    {"ES256K", Alg::Es256k},
    {"EdDSA", Alg::EdDsa},
}};

std::string_view trimSpaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

}  // namespace

const std::vector<Alg>& allAlgs() {
  static const std::vector<Alg> kAll = [] {
    std::vector<Alg> all;
    for (const auto& entry : kNames) {
      all.push_back(entry.second);
    }
    return all;
  }();
  return kAll;
}

std::optional<Alg> algFromName(std::string_view name) {
  for (const auto& entry : kNames) {
    if (entry.first == name) {
      return entry.second;
    }
  }
  return std::nullopt;
}

std::string_view algName(Alg alg) {
  for (const auto& entry : kNames) {
    if (entry.second == alg) {
      return entry.first;
    }
  }
  return "?";
}

AlgFamily algFamily(Alg alg) {
  switch (alg) {
    case Alg::Hs256:
    case Alg::Hs384:
    case Alg::Hs512:
      return AlgFamily::Hmac;
    case Alg::Rs256:
    case Alg::Rs384:
    case Alg::Rs512:
      return AlgFamily::RsaPkcs1;
    case Alg::Ps256:
    case Alg::Ps384:
    case Alg::Ps512:
      return AlgFamily::RsaPss;
    case Alg::Es256:
    case Alg::Es384:
    case Alg::Es512:
    case Alg::Es256k:
      return AlgFamily::Ecdsa;
    case Alg::EdDsa:
      return AlgFamily::EdDsa;
  }
  return AlgFamily::Hmac;  // unreachable: the switch is exhaustive
}

std::size_t algHashSize(Alg alg) {
  switch (alg) {
    case Alg::Hs256:
    case Alg::Rs256:
    case Alg::Ps256:
    case Alg::Es256:
    case Alg::Es256k:
      return 32;
    case Alg::Hs384:
    case Alg::Rs384:
    case Alg::Ps384:
    case Alg::Es384:
      return 48;
    case Alg::Hs512:
    case Alg::Rs512:
    case Alg::Ps512:
    case Alg::Es512:
    case Alg::EdDsa:  // Ed25519 hashes with SHA-512 internally
      return 64;
  }
  return 64;  // unreachable: the switch is exhaustive
}

bool isNoneAlg(std::string_view name) {
  constexpr std::string_view kNone = "none";
  if (name.size() != kNone.size()) {
    return false;
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char lower = (name[i] >= 'A' && name[i] <= 'Z') ? char(name[i] - 'A' + 'a') : name[i];
    if (lower != kNone[i]) {
      return false;
    }
  }
  return true;
}

Status parseAlgList(std::string_view list, std::vector<Alg>& out) {
  std::vector<Alg> parsed;
  while (true) {
    const std::size_t comma = list.find(',');
    const std::string_view name = trimSpaces(list.substr(0, comma));
    const std::optional<Alg> alg = algFromName(name);
    if (!alg) {
      return Status::ConfigInvalid;
    }
    parsed.push_back(*alg);
    if (comma == std::string_view::npos) {
      break;
    }
    list.remove_prefix(comma + 1);
  }
  out = std::move(parsed);
  return Status::Ok;
}

}  // namespace appserver::auth
