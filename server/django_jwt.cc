// django_jwt.cc: reading SIMPLE_JWT from the project.
//
// The master never runs Python, so a child process does (helper_process.h): Debian's
// interpreter (the one the workers embed, APPSERVER_PYTHON) runs
// `-m appserver.simplejwt_settings MODULE` from embed/python, with the workers' module path,
// in the current directory (--chdir is already applied). Its standard output is one JSON
// object (at most 1 MiB, within 60 s); the last lines of its standard error explain a
// failure. The values fill config.jwt wherever the operator left an option at its default.
// Keys reach auth/ through an emptied pipe named /proc/self/fd/N (handOver), so an HMAC
// secret is never written to disk, to the environment or to a log.
// Thread: the master, before any fork.
#include "django_jwt.h"

#include <fcntl.h>
#include <string.h>  // explicit_bzero
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "auth/key_set.h"
#include "auth/status.h"
#include "helper_process.h"
#include "log.h"

extern char** environ;

namespace appserver::server {

namespace {

using Json = nlohmann::json;

constexpr std::chrono::seconds kHelperTimeout{60};
constexpr size_t kMaxOutput = 1 << 20;  // bytes of JSON accepted from the helper
constexpr size_t kMaxHandOver = 4096;   // bytes a key hand-over pipe must take at once
constexpr const char* kHelperModule = "appserver.simplejwt_settings";

// What --jwt-from-django learnt from the project, checked and ready to merge.
struct DjangoJwt {
  std::string algorithm;
  std::string hmac_key;       // raw bytes; HS* only
  std::string verifying_key;  // PEM
  std::string jwk_url;
  std::vector<std::string> audiences;
  std::string issuer;
  int64_t leeway = 0;
  std::string user_claim;
  std::string header_types;  // comma-separated, as --jwt-header-types
  std::string token_type;
  std::string jti_claim;
  std::vector<std::string> endpoints;
  std::vector<std::string> skipped_endpoints;
};

[[noreturn]] void fail(const std::string& message) {
  throw ConfigError("--jwt-from-django: " + message);
}

void wipe(std::string& s) {
  if (!s.empty()) {
    ::explicit_bzero(s.data(), s.size());
  }
  s.clear();
}

std::string currentDirectory() {
  std::vector<char> buffer(4096);
  if (::getcwd(buffer.data(), buffer.size()) == nullptr) {
    fail(std::string("cannot read the current directory: ") + std::strerror(errno));
  }
  return buffer.data();
}

// The environment with PYTHONPATH = the workers' module path, then the inherited one.
std::vector<std::string> helperEnvironment(const Config& config) {
  std::string path;
  for (const std::string& entry : config.python_path) {
    path += entry + ":";
  }
  path += currentDirectory() + ":" + APPSERVER_PYTHON_DIR;
  if (const char* inherited = std::getenv("PYTHONPATH"); inherited != nullptr && *inherited) {
    path += std::string(":") + inherited;
  }
  std::vector<std::string> env{"PYTHONPATH=" + path};
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (std::strncmp(*entry, "PYTHONPATH=", 11) != 0) {
      env.emplace_back(*entry);
    }
  }
  return env;
}

Json readSettings(const Config& config) {
  const std::string module = config.app.substr(0, config.app.find(':'));
  const std::string command = fmt::format("{} -m {} {}", APPSERVER_PYTHON, kHelperModule, module);
  HelperProcessResult result =
      runHelperProcess({APPSERVER_PYTHON, "-m", kHelperModule, module}, helperEnvironment(config),
                       kHelperTimeout, kMaxOutput);
  if (result.end != HelperProcessResult::End::Exited || result.status != 0) {
    wipe(result.out);
    switch (result.end) {
      case HelperProcessResult::End::TimedOut:
        fail(fmt::format("{} did not finish in {} s", command, kHelperTimeout.count()));
      case HelperProcessResult::End::TooLarge:
        fail(fmt::format("{} wrote more than {} bytes", command, kMaxOutput));
      case HelperProcessResult::End::Exited:
        fail(fmt::format("{} failed (exit status {}): {}", command, result.status,
                         lastLines(result.err, 3)));
    }
  }
  Json settings = Json::parse(result.out, nullptr, /*allow_exceptions=*/false);
  wipe(result.out);
  if (!settings.is_object()) {
    fail(command + " printed no JSON object");
  }
  return settings;
}

// A text member; "" for null when nullable.
std::string text(const Json& settings, const char* key, const char* setting, bool nullable) {
  const auto it = settings.find(key);
  if (it != settings.end() && it->is_string()) {
    return it->get<std::string>();
  }
  if (nullable && (it == settings.end() || it->is_null())) {
    return {};
  }
  fail(fmt::format("SIMPLE_JWT {} must be text", setting));
}

std::vector<std::string> texts(const Json& settings, const char* key, const char* setting) {
  std::vector<std::string> out;
  const auto it = settings.find(key);
  if (it == settings.end() || it->is_null()) {
    return out;
  }
  if (!it->is_array()) {
    fail(fmt::format("SIMPLE_JWT {} must be a list of text", setting));
  }
  for (const Json& item : *it) {
    if (!item.is_string()) {
      fail(fmt::format("SIMPLE_JWT {} must be a list of text", setting));
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

int hexDigit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  return -1;
}

// The HMAC key from its hex form; the hex text in settings is wiped.
std::string takeHmacKey(Json& settings) {
  const auto it = settings.find("hmac_key_hex");
  if (it == settings.end() || !it->is_string()) {
    return {};
  }
  std::string& hex = it->get_ref<std::string&>();
  std::string key;
  key.reserve(hex.size() / 2);
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    const int hi = hexDigit(hex[i]);
    const int lo = hexDigit(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      wipe(key);
      break;
    }
    key.push_back(static_cast<char>(hi * 16 + lo));
  }
  wipe(hex);
  return key;
}

std::string headerTypes(const Json& settings) {
  std::string joined;
  for (const std::string& type : texts(settings, "auth_header_types", "AUTH_HEADER_TYPES")) {
    if (type.empty() || type.find_first_of(", \t") != std::string::npos) {
      fail(fmt::format("SIMPLE_JWT AUTH_HEADER_TYPES entry '{}' is not a scheme name", type));
    }
    if (::strcasestr(("," + joined + ",").c_str(), ("," + type + ",").c_str()) != nullptr) {
      continue;  // schemes match in any letter case: a repeat would count one token twice
    }
    joined += (joined.empty() ? "" : ",") + type;
  }
  if (joined.empty()) {
    fail("SIMPLE_JWT AUTH_HEADER_TYPES is empty");
  }
  return joined;
}

// TOKEN_TYPE_CLAIM and AUTH_TOKEN_CLASSES as one --jwt-token-type value.
std::string tokenType(const Json& settings) {
  const std::string claim = text(settings, "token_type_claim", "TOKEN_TYPE_CLAIM", true);
  if (claim.empty()) {
    fail(
        "SIMPLE_JWT TOKEN_TYPE_CLAIM is None: refresh tokens would pass as access tokens, "
        "so this is not supported");
  }
  if (claim != "token_type") {
    fail(fmt::format("SIMPLE_JWT TOKEN_TYPE_CLAIM '{}' is not supported (only 'token_type')",
                     claim));
  }
  const std::vector<std::string> types = texts(settings, "token_types", "AUTH_TOKEN_CLASSES");
  if (types.size() != 1 || types[0] == "untyped") {
    fail("SIMPLE_JWT AUTH_TOKEN_CLASSES must name one token type (AccessToken or SlidingToken)");
  }
  return types[0];
}

int64_t leewaySeconds(const Json& settings) {
  const auto it = settings.find("leeway");
  if (it == settings.end() || !it->is_number() || !(it->get<double>() >= 0) ||
      it->get<double>() > 86400.0 * 365) {
    fail("SIMPLE_JWT LEEWAY must be a number of seconds >= 0");
  }
  return static_cast<int64_t>(std::floor(it->get<double>()));  // the stricter side
}

DjangoJwt parseSettings(Json& settings) {
  DjangoJwt d;
  d.algorithm = text(settings, "algorithm", "ALGORITHM", false);
  d.hmac_key = takeHmacKey(settings);
  d.verifying_key = text(settings, "verifying_key", "VERIFYING_KEY", true);
  d.jwk_url = text(settings, "jwk_url", "JWK_URL", true);
  d.audiences = texts(settings, "audience", "AUDIENCE");
  d.issuer = text(settings, "issuer", "ISSUER", true);
  d.leeway = leewaySeconds(settings);
  d.user_claim = text(settings, "user_id_claim", "USER_ID_CLAIM", false);
  if (text(settings, "auth_header_name", "AUTH_HEADER_NAME", false) != "HTTP_AUTHORIZATION") {
    fail("SIMPLE_JWT AUTH_HEADER_NAME other than HTTP_AUTHORIZATION is not supported");
  }
  d.header_types = headerTypes(settings);
  d.token_type = tokenType(settings);
  d.jti_claim = text(settings, "jti_claim", "JTI_CLAIM", true);
  d.endpoints = texts(settings, "token_endpoints", "token views");
  d.skipped_endpoints = texts(settings, "skipped_endpoints", "token views");
  if (d.user_claim.empty()) {
    fail("SIMPLE_JWT USER_ID_CLAIM is empty");
  }
  return d;
}

// Puts bytes into a pipe whose write end is then closed, and returns a path that reads
// them once: auth/ opens it like a key file, and after that read the pipe is empty. The
// read end stays open (close-on-exec) for the master's lifetime: an empty pipe, no data.
std::string handOver(std::string bytes) {
  int fds[2];
  if (bytes.size() > kMaxHandOver || ::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    wipe(bytes);
    fail("cannot pass the key to the verifier (too large, or no pipe)");
  }
  const size_t size = bytes.size();
  const ssize_t written = ::write(fds[1], bytes.data(), size);
  ::close(fds[1]);
  wipe(bytes);
  if (written < 0 || static_cast<size_t>(written) != size) {
    ::close(fds[0]);
    fail("cannot pass the key to the verifier (pipe write failed)");
  }
  return "/proc/self/fd/" + std::to_string(fds[0]);
}

size_t minHmacSize(const std::string& alg) {
  return alg == "HS512" ? 64 : alg == "HS384" ? 48 : auth::kMinHmacSecretSize;
}

void useHmacKey(auth::JwtOptions& v, DjangoJwt& d) {
  if (d.hmac_key.empty()) {
    fail("SIMPLE_JWT SIGNING_KEY (SECRET_KEY by default) is empty");
  }
  if (d.hmac_key.size() < minHmacSize(d.algorithm)) {
    const size_t size = d.hmac_key.size();
    wipe(d.hmac_key);
    fail(
        fmt::format("SIMPLE_JWT SIGNING_KEY (SECRET_KEY by default) has {} bytes; {} needs at "
                    "least {}",
                    size, d.algorithm, minHmacSize(d.algorithm)));
  }
  auth::KeySet probe;
  const auth::Status status = probe.addHmacSecret(d.hmac_key);
  if (status != auth::Status::Ok || d.hmac_key.back() == '\r') {
    wipe(d.hmac_key);
    fail(fmt::format("SIMPLE_JWT SIGNING_KEY cannot be used: {}",
                     status != auth::Status::Ok ? auth::toString(status) : "ends with CR"));
  }
  // A key file loses one trailing newline; this one is added for it to lose.
  v.secret_file = handOver(std::exchange(d.hmac_key, {}) + "\n");
}

void usePublicKey(auth::JwtOptions& v, const DjangoJwt& d) {
  if (!d.jwk_url.empty()) {
    fail(
        "SIMPLE_JWT JWK_URL is not read by --jwt-from-django; give the same URL as "
        "--jwt-jwks-url URL (the master fetches it) or save the JWKS and give --jwt-jwks FILE");
  }
  if (d.verifying_key.empty()) {
    fail(
        fmt::format("SIMPLE_JWT VERIFYING_KEY is empty; {} needs it (or give --jwt-public-key "
                    "or --jwt-jwks)",
                    d.algorithm));
  }
  auth::KeySet probe;
  const auth::Status status = probe.addPublicKeyPem(d.verifying_key);
  if (status != auth::Status::Ok) {
    fail(fmt::format("SIMPLE_JWT VERIFYING_KEY cannot be used: {}", auth::toString(status)));
  }
  v.public_keys.push_back(handOver(d.verifying_key));
}

// Django's values wherever the operator left the option at its default.
void merge(JwtConfig& jwt, DjangoJwt& d) {
  const JwtConfig defaults;
  auth::JwtOptions& v = jwt.verify;
  if (!v.enabled()) {  // operator keys win, whole: Django's are then not added
    if (d.algorithm.starts_with("HS")) {
      useHmacKey(v, d);
    } else {
      usePublicKey(v, d);
    }
  }
  wipe(d.hmac_key);
  if (v.algorithms.empty()) {
    v.algorithms = d.algorithm;
  }
  if (v.issuer.empty()) {
    v.issuer = d.issuer;
  }
  if (v.audiences.empty()) {
    v.audiences = d.audiences;
  }
  if (v.leeway == defaults.verify.leeway) {
    v.leeway = d.leeway;
  }
  if (v.token_type.empty()) {
    v.token_type = d.token_type;
  }
  if (v.user_claim == defaults.verify.user_claim) {
    v.user_claim = d.user_claim;
  }
  if (jwt.header_types == defaults.header_types) {
    jwt.header_types = d.header_types;
  }
  if (!d.jti_claim.empty() &&
      std::find(v.required.begin(), v.required.end(), d.jti_claim) == v.required.end()) {
    v.required.push_back(d.jti_claim);
  }
}

// The token views need no token (simplejwt declares them open): always exempt, in
// addition to any --jwt-exempt, under SCRIPT_NAME when the app is mounted below one.
void exemptTokenEndpoints(JwtConfig& jwt, const DjangoJwt& d) {
  std::string script_name = std::getenv("SCRIPT_NAME") ? std::getenv("SCRIPT_NAME") : "";
  while (!script_name.empty() && script_name.back() == '/') {
    script_name.pop_back();
  }
  for (const std::string& endpoint : d.endpoints) {
    const std::string prefix = script_name + endpoint;
    if (std::find(jwt.exempt.begin(), jwt.exempt.end(), prefix) == jwt.exempt.end()) {
      jwt.exempt.push_back(prefix);
    }
  }
  for (const std::string& skipped : d.skipped_endpoints) {
    logAt(LogLevel::Warning,
          "--jwt-from-django: token view {} has a variable path and needs a token like any "
          "other path; add --jwt-exempt for it",
          skipped);
  }
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    out += (out.empty() ? "" : ", ") + item;
  }
  return out.empty() ? "none" : out;
}

}  // namespace

void applyDjangoJwtSettings(Config& config) {
  Json settings = readSettings(config);
  DjangoJwt django = parseSettings(settings);
  merge(config.jwt, django);
  exemptTokenEndpoints(config.jwt, django);
  const auth::JwtOptions& v = config.jwt.verify;
  logAt(LogLevel::Info,
        "--jwt-from-django: algorithms {}, user claim {}, token type {}, header types {}; "
        "token endpoints exempt: {}",
        v.algorithms, v.user_claim, v.token_type, config.jwt.header_types,
        joined(django.endpoints));
}

}  // namespace appserver::server
