// auth_gate.h: JWT verification in front of the app, per request, before any Python runs.
//
// Decides per path whether a token is needed (--jwt-protect / --jwt-exempt prefixes, on
// the decoded path the app would see), takes the bearer token from the Authorization
// header (scheme from --jwt-header-types, compared case-insensitively, RFC 7235) or from
// the --jwt-cookie cookie, verifies it with auth/ (through a per-worker cache of verified
// tokens) and answers refusals itself: 401 with an RFC 6750 WWW-Authenticate header and a
// body shaped like simplejwt's, or 400 invalid_request for several tokens at once. A token
// whose jti is on --jwt-denylist is refused too ("token revoked"). Token contents never
// reach a log line. CORS preflights pass unchecked.
// Keys and denylist come from a KeyStore (key_store.h): the master's gate reloads them
// (poll(), reload()), and each worker's copy adopts what the master announced between two
// requests, clearing its token cache whenever the keys change.
// Thread: the worker's loop thread (one gate, and so one cache, per worker); in the master,
// its only thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/jwt_verifier.h"
#include "auth/key_set.h"
#include "auth/token_cache.h"
#include "config.h"
#include "jwks_fetcher.h"
#include "key_store.h"
#include "worker_counters.h"

namespace appserver::server {

struct HttpRequest;

class AuthGate {
 public:
  struct Decision {
    enum class Kind {
      Pass,    // no token needed (or none given with --jwt-optional): call the app
      Accept,  // a valid token: call the app with claims()
      Refuse,  // answer with response (status) and do not call the app
    };
    Kind kind = Kind::Pass;
    // For Refuse: the answer (the connection adds framing and Connection).
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string reason;  // why, for the log: a fixed phrase, never token bytes
    JwtRefusal refusal = JwtRefusal::Missing;  // why, for the per-reason counter
  };

  // Loads keys, policy and denylist. Returns null when no key is configured (checking is
  // off). Throws ConfigError naming the option and the reason when a key or the denylist
  // cannot be used, or --jwt-denylist is given without a key.
  // @param jwks --jwt-jwks-url's fetcher (JwksFetcher::startIfConfigured), or null
  static std::unique_ptr<AuthGate> create(const JwtConfig& config,
                                          std::unique_ptr<JwksFetcher> jwks = nullptr);

  // @param now seconds since the Unix epoch
  Decision check(const HttpRequest& request, int64_t now);

  // Whether a --jwt-protect prefix names the (raw) path; an empty --jwt-protect list, which
  // protects every path, names none. Paths the server answers itself (--static) go through
  // check() only then.
  bool protectsExplicitly(std::string_view path) const;

  // Master, once a second: reloads changed key files and denylist, fetches a due JWKS.
  void poll() { store_.poll(); }
  // Master, on HUP before forking new workers: re-reads every key source and the denylist;
  // a bad one is logged and the last good one kept.
  void reload() { store_.reload(); }
  // Worker, between requests (check() calls it too): adopts the master's new keys or list.
  // @param now seconds since the Unix epoch
  void refresh(int64_t now);
  // The verified claims of the last Accept; valid until the next check().
  const auth::Claims& claims() const { return claims_; }

 private:
  AuthGate(const JwtConfig& config, std::unique_ptr<JwksFetcher> jwks);
  bool needsToken(std::string_view path) const;
  // How many tokens the request carries (header and cookie); token is the last one found.
  int findTokens(const HttpRequest& request, std::string_view& token) const;
  Decision refuse(JwtRefusal why, int status, std::string_view error,
                  std::string_view description, std::string_view detail,
                  std::string_view code) const;
  // Whether claims carry a jti that --jwt-denylist lists.
  bool revoked(const auth::Claims& claims) const;

  JwtConfig config_;
  std::vector<std::string> header_types_;
  KeyStore store_;
  auth::TokenCache cache_;
  auth::Claims claims_;
};

}  // namespace appserver::server
