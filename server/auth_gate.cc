// auth_gate.cc: per-path rules, token extraction and refusals.
//
// Thread: the worker's loop thread.
#include "auth_gate.h"

#include <algorithm>

#include "ascii.h"
#include "config.h"
#include "embed/wsgi_app.h"
#include "http_parser.h"

namespace appserver::server {

namespace {

constexpr size_t kCacheEntries = 4096;  // verified tokens remembered per worker
constexpr std::string_view kRealm = "appserver";

std::vector<std::string> splitList(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    const size_t comma = list.find(',');
    const std::string_view item = trimBlanks(list.substr(0, comma));
    if (!item.empty()) {
      out.emplace_back(item);
    }
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
  return out;
}

// "/./" and "/../" segments: the app may not resolve them as a prefix match would.
bool hasDotSegment(std::string_view path) {
  for (std::string_view dot : {"/./", "/../"}) {
    if (path.find(dot) != std::string_view::npos) {
      return true;
    }
  }
  return path.ends_with("/.") || path.ends_with("/..");
}

// The counted reason for a token auth/ did not accept.
JwtRefusal refusalFor(auth::Status status) {
  using S = auth::Status;
  switch (status) {
    case S::TokenTooLarge:
    case S::TokenMalformed:
    case S::Base64Invalid:
    case S::JsonInvalid:
    case S::JsonDuplicateKey:
    case S::JsonTooDeep:
    case S::HeaderInvalid:
    case S::PayloadInvalid:
      return JwtRefusal::Malformed;
    case S::AlgNone:
    case S::AlgUnsupported:
    case S::AlgNotAllowed:
    case S::CritUnsupported:
      return JwtRefusal::Algorithm;
    case S::KeyNotFound:
      return JwtRefusal::UnknownKey;
    case S::KeyAlgMismatch:
    case S::SignatureMalformed:
    case S::SignatureInvalid:
      return JwtRefusal::BadSignature;
    case S::Expired:
      return JwtRefusal::Expired;
    case S::NotYetValid:
    case S::IssuedInFuture:
      return JwtRefusal::NotYetValid;
    case S::ClaimMissing:
    case S::ClaimInvalid:
    case S::IssuerMismatch:
    case S::AudienceMismatch:
    case S::TokenTypeMismatch:
      return JwtRefusal::Claims;
    case S::Ok:  // key loading statuses: never a token's verdict
    case S::KeyInvalid:
    case S::KeyWeak:
    case S::KeyUnsupported:
    case S::KeyPrivateMaterial:
    case S::KeyDuplicateKid:
    case S::KeySetMixed:
    case S::KeySetEmpty:
    case S::SecretUnavailable:
    case S::FileUnreadable:
    case S::ConfigInvalid:
    case S::InternalError:
      return JwtRefusal::Internal;
  }
  return JwtRefusal::Internal;
}

}  // namespace

std::unique_ptr<AuthGate> AuthGate::create(const JwtConfig& config,
                                           std::unique_ptr<JwksFetcher> jwks) {
  if (!config.verify.enabled()) {
    if (!config.denylist.empty()) {
      throw ConfigError(
          "--jwt-denylist needs a key (--jwt-secret-env, --jwt-secret-file, "
          "--jwt-public-key, --jwt-jwks or --jwt-jwks-url)");
    }
    return nullptr;
  }
  return std::unique_ptr<AuthGate>(new AuthGate(config, std::move(jwks)));
}

AuthGate::AuthGate(const JwtConfig& config, std::unique_ptr<JwksFetcher> jwks)
    : config_(config),
      header_types_(splitList(config.header_types)),
      store_(config, std::move(jwks)),
      cache_(kCacheEntries) {}

void AuthGate::refresh(int64_t now) {
  if (store_.refresh(now)) {
    cache_.clear();  // its entries are verdicts under the old keys
  }
}

bool AuthGate::revoked(const auth::Claims& claims) const {
  const Denylist* denylist = store_.denylist();
  if (denylist == nullptr || denylist->size() == 0) {
    return false;
  }
  const auto jti =
      std::lower_bound(claims.fields.begin(), claims.fields.end(), std::string_view("jti"),
                       [](const auto& field, std::string_view name) { return field.first < name; });
  return jti != claims.fields.end() && jti->first == "jti" && denylist->contains(jti->second);
}

bool AuthGate::needsToken(std::string_view path) const {
  const bool dotted = hasDotSegment(path);
  for (const std::string& prefix : config_.exempt) {
    if (!dotted && path.starts_with(prefix)) {
      return false;
    }
  }
  if (config_.protect.empty() || dotted) {
    return true;
  }
  for (const std::string& prefix : config_.protect) {
    if (path.starts_with(prefix)) {
      return true;
    }
  }
  return false;
}

bool AuthGate::protectsExplicitly(std::string_view path) const {
  const std::string decoded = embed::decodePath(path);
  return std::any_of(config_.protect.begin(), config_.protect.end(),
                     [&](const std::string& prefix) { return decoded.starts_with(prefix); });
}

int AuthGate::findTokens(const HttpRequest& request, std::string_view& token) const {
  int found = 0;
  for (const embed::HeaderView& h : request.headers) {
    if (equalsIgnoringCase(h.name, "authorization")) {
      const size_t space = h.value.find(' ');
      const std::string_view scheme = h.value.substr(0, space);
      for (const std::string& type : header_types_) {
        if (space != std::string_view::npos && equalsIgnoringCase(scheme, type)) {
          token = trimBlanks(h.value.substr(space + 1));
          ++found;
          break;  // one header is one token, however many listed types match its scheme
        }
      }
    } else if (!config_.cookie.empty() && equalsIgnoringCase(h.name, "cookie")) {
      std::string_view rest = h.value;
      while (!rest.empty()) {
        const size_t semi = rest.find(';');
        const std::string_view pair = trimBlanks(rest.substr(0, semi));
        const size_t eq = pair.find('=');
        if (eq != std::string_view::npos && pair.substr(0, eq) == config_.cookie) {
          token = pair.substr(eq + 1);
          ++found;
        }
        rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      }
    }
  }
  return found;
}

AuthGate::Decision AuthGate::refuse(JwtRefusal why, int status, std::string_view error,
                                    std::string_view description, std::string_view detail,
                                    std::string_view code) const {
  Decision d;
  d.kind = Decision::Kind::Refuse;
  d.status = status;
  d.refusal = why;
  // Appended, not formatted: refusals can come at wire speed.
  std::string challenge;
  challenge.reserve(64 + error.size() + description.size());
  challenge.append("Bearer realm=\"").append(kRealm).append("\"");
  if (!error.empty()) {
    challenge.append(", error=\"").append(error).append("\", error_description=\"");
    challenge.append(description).append("\"");
  }
  d.headers.emplace_back("WWW-Authenticate", std::move(challenge));
  d.body.reserve(32 + detail.size() + code.size());
  d.body.append(R"({"detail":")").append(detail).append(R"(","code":")").append(code).append(R"("})");
  d.reason = error.empty() ? std::string(detail) : std::string(description);
  return d;
}

AuthGate::Decision AuthGate::check(const HttpRequest& request, int64_t now) {
  if (request.method == "OPTIONS" && !request.header("access-control-request-method").empty()) {
    return {};  // a CORS preflight never carries credentials
  }
  if (!needsToken(embed::decodePath(request.path))) {
    return {};
  }
  std::string_view token;
  const int tokens = findTokens(request, token);
  if (tokens > 1) {
    return refuse(JwtRefusal::Multiple, 400, "invalid_request", "more than one token in the request",
                  "More than one token in the request.", "invalid_request");
  }
  if (tokens == 0) {
    if (config_.optional) {
      return {};
    }
    return refuse(JwtRefusal::Missing, 401, {}, {},
                  "Authentication credentials were not provided.",
                  "not_authenticated");
  }
  refresh(now);
  const KeyMaterial& material = *store_.keys();
  const auth::Result result =
      auth::verifyCached(material.verifier, cache_, token, material.keys, now);
  if (result.status != auth::Status::Ok) {
    if (result.status == auth::Status::KeyNotFound) {
      store_.requestRefetch(now);  // with --jwt-jwks-url: the IdP may have rotated its keys
    }
    std::string description(auth::toString(result.status));
    if (!result.claim.empty()) {
      description += " (" + result.claim + ")";
    }
    return refuse(refusalFor(result.status), 401, "invalid_token", description,
                  "Given token not valid for any token type",
                  "token_not_valid");
  }
  if (revoked(result.claims)) {
    return refuse(JwtRefusal::Revoked, 401, "invalid_token", "token revoked",
                  "Given token not valid for any token type",
                  "token_not_valid");
  }
  claims_ = result.claims;
  Decision accepted;
  accepted.kind = Decision::Kind::Accept;
  return accepted;
}

}  // namespace appserver::server
