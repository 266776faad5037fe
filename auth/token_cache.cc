// token_cache.cc: LRU list plus hash index over verified tokens.
//
// The index's string_view keys point into the list entries' own token strings, which do
// not move while the entry lives (std::list nodes are stable). Thread: one thread.
#include "auth/token_cache.h"

#include <algorithm>
#include <limits>

namespace appserver::auth {

TokenCache::TokenCache(std::size_t capacity, std::int64_t max_age_seconds)
    : capacity_(capacity), max_age_(std::max<std::int64_t>(max_age_seconds, 0)) {}

void TokenCache::erase(EntryList::iterator entry) {
  index_.erase(std::string_view(entry->token));
  entries_.erase(entry);
}

const Claims* TokenCache::find(std::string_view token, std::int64_t now) {
  const auto found = index_.find(token);
  if (found == index_.end()) {
    return nullptr;
  }
  const EntryList::iterator entry = found->second;
  if (now >= entry->expires_at) {
    erase(entry);
    return nullptr;
  }
  entries_.splice(entries_.begin(), entries_, entry);
  return &entry->claims;
}

void TokenCache::insert(std::string_view token, const Claims& claims, std::int64_t now) {
  if (capacity_ == 0) {
    return;
  }
  std::int64_t expires_at = 0;
  if (__builtin_add_overflow(now, max_age_, &expires_at)) {
    expires_at = std::numeric_limits<std::int64_t>::max();
  }
  if (claims.exp) {
    expires_at = std::min(expires_at, *claims.exp);
  }
  if (now >= expires_at) {
    return;
  }
  const auto found = index_.find(token);
  if (found != index_.end()) {
    erase(found->second);
  }
  while (index_.size() >= capacity_) {
    erase(std::prev(entries_.end()));
  }
  entries_.push_front(Entry{std::string(token), claims, expires_at});
  index_.emplace(std::string_view(entries_.front().token), entries_.begin());
}

void TokenCache::clear() {
  index_.clear();
  entries_.clear();
}

Result verifyCached(const JwtVerifier& verifier, TokenCache& cache, std::string_view token,
                    const KeySet& keys, std::int64_t now) {
  if (const Claims* cached = cache.find(token, now)) {
    return Result{Status::Ok, *cached, {}};
  }
  Result result = verifier.verify(token, keys, now);
  if (result.status == Status::Ok) {
    cache.insert(token, result.claims, now);
  }
  return result;
}

}  // namespace appserver::auth
