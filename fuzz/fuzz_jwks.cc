// fuzz_jwks.cc: libFuzzer target for key loading and the strict JSON parser (auth/).
//
// The input is a document an operator (or whoever can write the JWKS file) supplies:
// parseJsonStrict must accept exactly the JSON it documents (its scanner is held to nlohmann
// plus the checks it replaced, tests/auth/json_reference.h) and survive a round trip
// through dumpJson; KeySet::addJwks and addPublicKeyPem load what they accept into keys
// that then verify the RFC example tokens without crashing (tokens read at start-up from
// ../shared/corpus/jose-rfc/vectors.json, never copied into the repository).
// Thread: libFuzzer's (one).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "auth/alg.h"
#include "auth/jwt_verifier.h"
#include "auth/key_set.h"
#include "auth/strict_json.h"
#include "tests/auth/json_reference.h"

namespace appserver::auth {
namespace {

using fuzz::check;
using fuzz::fail;

std::vector<std::string> loadTokens() {
  const char* env = std::getenv("APPSERVER_SHARED_DIR");
  const std::string dir = env != nullptr && *env != '\0' ? env : APPSERVER_SHARED_DIR;
  std::ifstream in(dir + "/corpus/jose-rfc/vectors.json");
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json vectors = nlohmann::json::parse(text.str(), nullptr, false);
  std::vector<std::string> tokens;
  if (vectors.is_array()) {
    for (const nlohmann::json& v : vectors) {
      tokens.push_back(v.value("token", ""));
    }
  }
  if (tokens.empty()) {
    fail("cannot read the RFC tokens", dir);
  }
  return tokens;
}

const std::vector<std::string>& tokens() {
  static const std::vector<std::string> all = loadTokens();
  return all;
}

const JwtVerifier& verifier() {
  static const JwtVerifier v = [] {
    Policy p;
    p.algorithms = allAlgs();
    p.check_claims = false;
    return JwtVerifier(p);
  }();
  return v;
}

void checkRoundTrip(std::string_view text) {
  for (const int depth : {JsonLimits{}.max_depth, 3}) {
    const std::string difference =
        testing::differenceFromReference(text, JsonLimits{JsonLimits{}.max_size, depth});
    check(difference.empty(), "the strict JSON scanner disagrees with nlohmann", difference);
  }
  nlohmann::json value;
  if (parseJsonStrict(text, JsonLimits{}, value) != Status::Ok) {
    return;
  }
  const std::string dumped = dumpJson(value);
  nlohmann::json again;
  // Same depth bound; the compact text may be longer than the input (escapes, numbers).
  JsonLimits limits;
  limits.max_size = std::max(limits.max_size, dumped.size());
  if (parseJsonStrict(dumped, limits, again) != Status::Ok) {
    fail("dumpJson output is refused by parseJsonStrict", dumped);
  }
  if (again != value) {
    fail("a JSON round trip changes the value", dumped);
  }
}

void useKeys(const KeySet& keys) {
  if (keys.empty()) {
    fail("an accepted document left no key");
  }
  (void)keys.usableAlgs();
  for (const std::string& token : tokens()) {
    (void)verifier().verify(token, keys, 0);
  }
}

}  // namespace
}  // namespace appserver::auth

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)appserver::auth::tokens();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  using namespace appserver::auth;
  const std::string_view text(reinterpret_cast<const char*>(bytes), size);
  checkRoundTrip(text);
  KeySet jwks;
  std::string detail;
  if (jwks.addJwks(text, &detail) == Status::Ok) {
    useKeys(jwks);
  }
  KeySet pem;
  if (pem.addPublicKeyPem(text) == Status::Ok) {
    useKeys(pem);
  }
  return 0;
}
