// auth_gate.cc: per-path rules, token extraction and refusals.
//
// Thread: the worker's loop thread.
#include "auth_gate.h"

#include <fmt/format.h>
#include <strings.h>

#include "config.h"
#include "embed/wsgi_app.h"
#include "http_parser.h"

namespace appserver::server {

namespace {

constexpr size_t kCacheEntries = 4096;  // verified tokens remembered per worker
constexpr std::string_view kRealm = "appserver";

bool is(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

std::vector<std::string> splitList(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    const size_t comma = list.find(',');
    const std::string_view item = trim(list.substr(0, comma));
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

}  // namespace

std::unique_ptr<AuthGate> AuthGate::create(const JwtConfig& config) {
  if (!config.verify.enabled()) {
    return nullptr;
  }
  auth::Policy policy;
  auth::KeySet keys;
  std::string detail;
  if (auth::buildJwtConfig(config.verify, policy, keys, &detail) != auth::Status::Ok) {
    throw ConfigError(detail);
  }
  return std::unique_ptr<AuthGate>(new AuthGate(config, std::move(policy), std::move(keys)));
}

AuthGate::AuthGate(const JwtConfig& config, auth::Policy policy, auth::KeySet keys)
    : config_(config),
      header_types_(splitList(config.header_types)),
      verifier_(std::move(policy)),
      keys_(std::move(keys)),
      cache_(kCacheEntries) {}

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

int AuthGate::findTokens(const HttpRequest& request, std::string_view& token) const {
  int found = 0;
  for (const embed::HeaderView& h : request.headers) {
    if (is(h.name, "authorization")) {
      const size_t space = h.value.find(' ');
      const std::string_view scheme = h.value.substr(0, space);
      for (const std::string& type : header_types_) {
        if (space != std::string_view::npos && is(scheme, type)) {
          token = trim(h.value.substr(space + 1));
          ++found;
          break;  // one header is one token, however many listed types match its scheme
        }
      }
    } else if (!config_.cookie.empty() && is(h.name, "cookie")) {
      std::string_view rest = h.value;
      while (!rest.empty()) {
        const size_t semi = rest.find(';');
        const std::string_view pair = trim(rest.substr(0, semi));
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

AuthGate::Decision AuthGate::refuse(int status, std::string_view error,
                                    std::string_view description, std::string_view detail,
                                    std::string_view code) const {
  Decision d;
  d.kind = Decision::Kind::Refuse;
  d.status = status;
  std::string challenge = fmt::format("Bearer realm=\"{}\"", kRealm);
  if (!error.empty()) {
    fmt::format_to(std::back_inserter(challenge), ", error=\"{}\", error_description=\"{}\"", error,
                   description);
  }
  d.headers.emplace_back("WWW-Authenticate", std::move(challenge));
  d.body = fmt::format(R"({{"detail":"{}","code":"{}"}})", detail, code);
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
    return refuse(400, "invalid_request", "more than one token in the request",
                  "More than one token in the request.", "invalid_request");
  }
  if (tokens == 0) {
    if (config_.optional) {
      return {};
    }
    return refuse(401, {}, {}, "Authentication credentials were not provided.",
                  "not_authenticated");
  }
  const auth::Result result = auth::verifyCached(verifier_, cache_, token, keys_, now);
  if (result.status != auth::Status::Ok) {
    std::string description(auth::toString(result.status));
    if (!result.claim.empty()) {
      description += " (" + result.claim + ")";
    }
    return refuse(401, "invalid_token", description, "Given token not valid for any token type",
                  "token_not_valid");
  }
  claims_ = result.claims;
  Decision accepted;
  accepted.kind = Decision::Kind::Accept;
  return accepted;
}

}  // namespace appserver::server
