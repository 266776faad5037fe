// jwks_fetcher.h: the master's copy of an identity provider's JWKS (--jwt-jwks-url URL).
//
// Only the master fetches, with libcurl, never a worker. The document it accepts lives in
// a private directory (mkdtemp: mode 0700, under $TMPDIR or /tmp) as jwks.json, which the
// workers read like a --jwt-jwks file; a new document is written beside it, checked, and
// renamed over it, so a reader sees the old or the new file whole, and the file on disk is
// always the last good document. docs/auth.md ("Keys from a URL") has the whole protocol.
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

#include <sys/types.h>

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

  // With --jwt-jwks-url: checks the URL, fetches the document once and stores it, and points
  // config.verify.jwks at the stored file, so the key set is built from it like from any
  // JWKS file. Returns null without --jwt-jwks-url. Throws ConfigError naming the option
  // when the URL is refused, --jwt-jwks is also given, or the first fetch fails (the
  // document itself is checked when the key set is built).
  static std::unique_ptr<JwksFetcher> startIfConfigured(JwtConfig& config);

  // Checks url and makes the private directory; fetches nothing. Throws ConfigError.
  explicit JwksFetcher(std::string url, Limits limits = Limits());
  // Removes the private directory (only in the process that made it: never in a worker).
  ~JwksFetcher();
  JwksFetcher(const JwksFetcher&) = delete;
  JwksFetcher& operator=(const JwksFetcher&) = delete;

  const std::string& url() const { return url_; }
  // The current document's file (<private dir>/jwks.json).
  const std::string& path() const { return path_; }
  // Where stage() writes a candidate document.
  const std::string& stagedPath() const { return staged_path_; }
  // The current document's bytes ("" before the first commit()).
  const std::string& document() const { return document_; }

  // One GET now, blocking for at most Limits::timeout. Schedules the next fetch: after
  // fresh_for on success, after retry_after_failure on failure. Never throws.
  Fetch fetch(Clock::time_point now);
  // The fetched document was refused (bad JSON, no usable key): retry sooner than its
  // freshness said.
  void retryAfterFailure(Clock::time_point now);

  // Writes document to stagedPath() (mode 0600). False with a reason in error.
  bool stage(const std::string& document, std::string& error);
  // Renames the staged document over path() and makes it the current one.
  bool commit(std::string& error);
  // Removes the staged document.
  void discard();

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
  pid_t owner_ = 0;
  std::string directory_;
  std::string path_;
  std::string staged_path_;
  std::string document_;
  std::string staged_;
  Clock::time_point next_fetch_{};
  Clock::time_point last_refetch_{};  // a fetch workers asked for
  bool refetched_ = false;            // last_refetch_ is set
  bool refetch_wanted_ = false;
};

}  // namespace appserver::server
