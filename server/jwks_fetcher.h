// jwks_fetcher.h: the master's copy of an identity provider's JWKS (--jwt-jwks-url URL).
//
// Only the master fetches, with libcurl, never a worker. This class does the HTTP and the
// schedule; KeyStore (key_store.h) checks a fetched document, and hands it to the workers
// like any key file, through its snapshot directory. docs/auth.md ("Keys from a URL").
//
// The rules: https:// URLs only, verified against the system's CA store (libcurl's
// default), except http:// to a loopback host (127.0.0.0/8, ::1, localhost), which never
// goes through a proxy; redirects only to https://, at most 3; at most 1 MiB (auth/'s JWKS
// limit) within 5 s, connecting included; only a 200 answer counts. A document stays fresh
// for Cache-Control's max-age minus Age, bounded to [60 s, 24 h], 5 min without max-age;
// a failed fetch is retried after 30 s. Workers that meet an unknown kid ask for an early
// fetch, granted at most once per 30 s. A fetch blocks the master's loop for its duration
// (5 s at most): workers keep serving meanwhile.
// Thread: the master's only thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace appserver::server {

struct JwtConfig;

// The bounds of fetching (defaults: the rules above).
struct JwksLimits {
  std::size_t max_bytes = 1 << 20;  // the document's size, decoded
  std::chrono::milliseconds timeout{5000};
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::seconds min_fresh{60};
  std::chrono::seconds max_fresh{24 * 3600};
  std::chrono::seconds default_fresh{300};    // without Cache-Control max-age
  std::chrono::seconds refetch_cooldown{30};  // between fetches workers asked for
  std::chrono::seconds retry_after_failure{30};
};

class JwksFetcher {
 public:
  using Clock = std::chrono::steady_clock;
  using Limits = JwksLimits;

  // What one GET brought.
  struct Fetch {
    bool ok = false;
    std::string document;               // when ok
    std::chrono::seconds fresh_for{0};  // when ok: Cache-Control/Age, bounded by Limits
    std::string error;                  // when not ok: "HTTP status 404", curl's reason...
  };

  // With --jwt-jwks-url: checks the URL and fetches the document once (document()), and
  // sets config.verify.jwks to the URL, which from then on stands for "the JWKS comes from
  // the fetcher" (a key source is given, so --jwt-from-django adds no key of its own).
  // Returns null without --jwt-jwks-url. Throws ConfigError naming the option when the URL
  // is refused, --jwt-jwks is also given, or the first fetch fails (the document itself is
  // checked when the key set is built).
  static std::unique_ptr<JwksFetcher> startIfConfigured(JwtConfig& config);

  // Checks url; fetches nothing. Throws ConfigError.
  explicit JwksFetcher(std::string url, Limits limits = Limits());
  JwksFetcher(const JwksFetcher&) = delete;
  JwksFetcher& operator=(const JwksFetcher&) = delete;

  const std::string& url() const { return url_; }
  // The document the keys are built from: the first one fetched, then the last one
  // KeyStore adopted (adopt()).
  const std::string& document() const { return document_; }
  void adopt(std::string document) { document_ = std::move(document); }

  // One GET now, blocking for at most Limits::timeout. Schedules the next fetch: after
  // fresh_for on success, after retry_after_failure on failure. Never throws.
  Fetch fetch(Clock::time_point now);
  // The fetched document was refused (bad JSON, no usable key): retry sooner than its
  // freshness said.
  void retryAfterFailure(Clock::time_point now);

  // A worker met a token naming a kid that no key has: fetch again soon.
  void requestRefetch() { refetch_wanted_ = true; }
  bool refetchWanted() const { return refetch_wanted_; }
  // Whether a fetch is due at now: the document is stale, or a refetch was asked for and
  // the cooldown since the last such refetch has passed.
  bool due(Clock::time_point now) const;

  // The URL rule above; "" when url may be fetched, else why not.
  static std::string checkUrl(const std::string& url);
  // How long a document stays fresh, from its Cache-Control and Age header values ("" when
  // absent), bounded by limits.
  static std::chrono::seconds freshness(std::string_view cache_control, std::string_view age,
                                        const Limits& limits);

 private:
  std::string url_;
  Limits limits_;
  bool loopback_http_ = false;
  std::string document_;
  Clock::time_point next_fetch_{};
  Clock::time_point last_refetch_{};  // a fetch workers asked for
  bool refetched_ = false;            // last_refetch_ is set
  bool refetch_wanted_ = false;
};

}  // namespace appserver::server
