// jwks_fetcher.cc: fetching the JWKS with libcurl, and the fetch schedule.
//
// Thread: the master's only thread. libcurl is loaded and initialised here (curl_api.h),
// before any worker is forked and while the master has no other thread; CURLOPT_NOSIGNAL
// keeps libcurl away from the master's signal handlers.
#include "jwks_fetcher.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "ascii.h"
#include "config.h"
#include "curl_api.h"
#include "log.h"

namespace appserver::server {

namespace {

using Seconds = std::chrono::seconds;

constexpr const char* kUserAgent = "appserver/0.1.0 (JWKS fetch)";
constexpr long kMaxRedirects = 3;

// A non-negative decimal number of seconds, saturating; nullopt when s is not one.
std::optional<int64_t> parseSeconds(std::string_view s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') {
    s = s.substr(1, s.size() - 2);  // max-age="60" is seen in the wild
  }
  if (s.empty() || s.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  int64_t value = 0;
  if (std::from_chars(s.data(), s.data() + s.size(), value).ec != std::errc()) {
    value = INT64_MAX;  // out of range: as long as possible (bounded by max_fresh later)
  }
  return value;
}

bool isLoopbackHost(std::string host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  in_addr v4{};
  in6_addr v6{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6);
  }
  return equalsIgnoringCase(host,
                            "localhost");  // libcurl resolves it to loopback itself, never via DNS
}

// One URL part as a string ("" when absent).
std::string urlPart(CURLU* url, CURLUPart part) {
  const CurlApi& curl = CurlApi::get();
  char* value = nullptr;
  if (curl.url_get(url, part, &value, 0) != CURLUE_OK || value == nullptr) {
    return {};
  }
  std::string out(value);
  curl.free(value);
  return out;
}

// What the libcurl callbacks collect during one transfer.
struct Transfer {
  std::string body;
  std::size_t max_bytes = 0;
  bool too_large = false;
  std::string cache_control;
  std::string age;
};

size_t onBody(char* data, size_t size, size_t count, void* user) noexcept {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (t->body.size() + n > t->max_bytes) {
    t->too_large = true;
    return 0;  // libcurl aborts the transfer (CURLE_WRITE_ERROR)
  }
  t->body.append(data, n);
  return n;
}

size_t onHeader(char* data, size_t size, size_t count, void* user) noexcept {
  auto* t = static_cast<Transfer*>(user);
  const std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {  // a new response (after a redirect): start over
    t->cache_control.clear();
    t->age.clear();
    return line.size();
  }
  const size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trimBlanks(line.substr(colon + 1), " \t\r\n");
    if (equalsIgnoringCase(name, "cache-control")) {
      t->cache_control += (t->cache_control.empty() ? "" : ", ") + std::string(value);
    } else if (equalsIgnoringCase(name, "age")) {
      t->age.assign(value);
    }
  }
  return line.size();
}

using CurlPtr = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using CurlListPtr = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;
using CurlUrlPtr = std::unique_ptr<CURLU, decltype(&curl_url_cleanup)>;

// A URL handle with url parsed into it; a null handle when libcurl refuses it.
CurlUrlPtr parseUrl(const std::string& url) {
  const CurlApi& curl = CurlApi::get();
  CurlUrlPtr parsed(curl.url(), curl.url_cleanup);
  if (parsed && curl.url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    parsed.reset();
  }
  return parsed;
}

}  // namespace

std::unique_ptr<JwksFetcher> JwksFetcher::startIfConfigured(JwtConfig& config) {
  if (config.jwks_url.empty()) {
    return nullptr;
  }
  if (!config.verify.jwks.empty()) {
    throw ConfigError("--jwt-jwks and --jwt-jwks-url: give only one of them");
  }
  auto fetcher = std::make_unique<JwksFetcher>(config.jwks_url);
  Fetch fetched = fetcher->fetch(Clock::now());
  if (!fetched.ok) {
    throw ConfigError("--jwt-jwks-url " + config.jwks_url + ": " + fetched.error);
  }
  logAt(LogLevel::Info, "--jwt-jwks-url {}: fetched {} bytes; fresh for {} s", config.jwks_url,
        fetched.document.size(), fetched.fresh_for.count());
  fetcher->adopt(std::move(fetched.document));
  config.verify.jwks = config.jwks_url;
  return fetcher;
}

JwksFetcher::JwksFetcher(std::string url, Limits limits) : url_(std::move(url)), limits_(limits) {
  if (const std::string refused = checkUrl(url_); !refused.empty()) {
    throw ConfigError("--jwt-jwks-url " + url_ + ": " + refused);
  }
  loopback_http_ = equalsIgnoringCase(urlPart(parseUrl(url_).get(), CURLUPART_SCHEME), "http");
}

std::string JwksFetcher::checkUrl(const std::string& url) {
  const CurlUrlPtr parsed = parseUrl(url);
  if (!parsed) {
    return "not an absolute URL";
  }
  if (!urlPart(parsed.get(), CURLUPART_USER).empty()) {
    return "credentials in the URL are not accepted (they would reach the log)";
  }
  const std::string scheme = urlPart(parsed.get(), CURLUPART_SCHEME);
  if (equalsIgnoringCase(scheme, "https")) {
    return {};
  }
  if (equalsIgnoringCase(scheme, "http")) {
    return isLoopbackHost(urlPart(parsed.get(), CURLUPART_HOST))
               ? std::string()
               : "http:// is allowed only to a loopback host (127.0.0.0/8, [::1], localhost); "
                 "use https://";
  }
  return "only https:// URLs are fetched (and http:// to a loopback host)";
}

std::chrono::seconds JwksFetcher::freshness(std::string_view cache_control, std::string_view age,
                                            const Limits& limits) {
  std::optional<int64_t> max_age;
  while (!cache_control.empty()) {
    const size_t comma = cache_control.find(',');
    const std::string_view directive = trimBlanks(cache_control.substr(0, comma));
    const size_t eq = directive.find('=');
    const std::string_view name = trimBlanks(directive.substr(0, eq));
    if (equalsIgnoringCase(name, "no-store") || equalsIgnoringCase(name, "no-cache")) {
      max_age = 0;
    } else if (equalsIgnoringCase(name, "max-age") && eq != std::string_view::npos && !max_age) {
      max_age = parseSeconds(trimBlanks(directive.substr(eq + 1)));
    }
    cache_control =
        comma == std::string_view::npos ? std::string_view() : cache_control.substr(comma + 1);
  }
  if (!max_age) {
    return std::clamp(limits.default_fresh, limits.min_fresh, limits.max_fresh);
  }
  const int64_t elapsed = parseSeconds(trimBlanks(age)).value_or(0);
  const int64_t left = *max_age > elapsed ? *max_age - elapsed : 0;
  return Seconds(std::clamp<int64_t>(left, limits.min_fresh.count(), limits.max_fresh.count()));
}

JwksFetcher::Fetch JwksFetcher::fetch(Clock::time_point now) {
  Fetch result;
  Transfer transfer;
  transfer.max_bytes = limits_.max_bytes;
  const CurlApi& api = CurlApi::get();
  CurlPtr curl(api.easy_init(), api.easy_cleanup);
  CurlListPtr headers(
      api.slist_append(nullptr, "Accept: application/jwk-set+json, application/json"),
      api.slist_free_all);
  char error[CURL_ERROR_SIZE] = {};
  CURLcode code = CURLE_FAILED_INIT;
  if (curl && headers) {
    CURL* c = curl.get();
    api.easy_setopt(c, CURLOPT_URL, url_.c_str());
    api.easy_setopt(c, CURLOPT_PROTOCOLS_STR, loopback_http_ ? "http,https" : "https");
    api.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    api.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    api.easy_setopt(c, CURLOPT_MAXREDIRS, kMaxRedirects);
    api.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    api.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (loopback_http_) {
      api.easy_setopt(c, CURLOPT_PROXY, "");  // loopback: never through a proxy
    }
    api.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    api.easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(limits_.timeout.count()));
    api.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(limits_.connect_timeout.count()));
    api.easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(limits_.max_bytes));
    api.easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");  // gzip etc.; the limit applies decoded
    api.easy_setopt(c, CURLOPT_USERAGENT, kUserAgent);
    api.easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    api.easy_setopt(c, CURLOPT_ERRORBUFFER, error);
    api.easy_setopt(c, CURLOPT_WRITEFUNCTION, onBody);
    api.easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
    api.easy_setopt(c, CURLOPT_HEADERFUNCTION, onHeader);
    api.easy_setopt(c, CURLOPT_HEADERDATA, &transfer);
    code = api.easy_perform(c);
  }
  long status = 0;
  if (code == CURLE_OK) {
    api.easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  }
  if (refetch_wanted_) {
    refetch_wanted_ = false;
    refetched_ = true;
    last_refetch_ = now;
  }
  if (transfer.too_large || code == CURLE_FILESIZE_EXCEEDED) {
    result.error = "the document is larger than " + std::to_string(limits_.max_bytes) + " bytes";
  } else if (code != CURLE_OK) {
    result.error = *error != '\0' ? error : api.easy_strerror(code);
  } else if (status != 200) {
    result.error = "HTTP status " + std::to_string(status);
  } else {
    result.ok = true;
    result.document = std::move(transfer.body);
    result.fresh_for = freshness(transfer.cache_control, transfer.age, limits_);
    next_fetch_ = now + result.fresh_for;
    return result;
  }
  retryAfterFailure(now);
  return result;
}

void JwksFetcher::retryAfterFailure(Clock::time_point now) {
  next_fetch_ = now + limits_.retry_after_failure;
}

bool JwksFetcher::due(Clock::time_point now) const {
  if (now >= next_fetch_) {
    return true;
  }
  return refetch_wanted_ && (!refetched_ || now >= last_refetch_ + limits_.refetch_cooldown);
}

}  // namespace appserver::server
