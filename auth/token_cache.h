// token_cache.h: a bounded cache of verified tokens, one per worker thread.
//
// Verifying an RS256 token costs tens of microseconds and a client sends the same token
// on every request, so a worker remembers the claims of tokens it has verified. Only
// successful results are cached (a refused token may become valid later, e.g. at nbf). An
// entry is never returned at or after its token's exp, nor after max_age seconds, and the
// least recently used entry is evicted when the cache is full. The key is the whole token
// string, so a lookup is exact. The server must call clear() when it swaps the KeySet or
// the Policy, since an entry records a verdict under the old ones.
// Thread: not thread-safe; give each worker thread its own cache.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/jwt_verifier.h"

namespace appserver::auth {

class TokenCache {
 public:
  // @param capacity most entries held (0 disables caching)
  // @param max_age_seconds longest time an entry is trusted, also for tokens without exp
  explicit TokenCache(std::size_t capacity, std::int64_t max_age_seconds = 300);

  // Returns the cached claims of token if an entry exists and now is before its expiry,
  // else null (and drops an expired entry). The pointer is valid until the next call that
  // modifies the cache.
  // @param now seconds since the Unix epoch
  const Claims* find(std::string_view token, std::int64_t now);

  // Remembers claims (from a successful verification of token at now).
  void insert(std::string_view token, const Claims& claims, std::int64_t now);

  void clear();
  std::size_t size() const { return index_.size(); }

 private:
  struct Entry {
    std::string token;
    Claims claims;
    std::int64_t expires_at;  // first second at which the entry is no longer returned
  };
  using EntryList = std::list<Entry>;

  // Transparent hashing lets find() look up a string_view without building a string.
  struct TokenHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view token) const {
      return std::hash<std::string_view>{}(token);
    }
  };

  void erase(EntryList::iterator entry);

  std::size_t capacity_;
  std::int64_t max_age_;
  EntryList entries_;  // most recently used first
  std::unordered_map<std::string_view, EntryList::iterator, TokenHash, std::equal_to<>> index_;
};

// Verifies token through cache: a hit returns the cached claims, a miss runs verifier and
// caches an Ok result.
Result verifyCached(const JwtVerifier& verifier, TokenCache& cache, std::string_view token,
                    const KeySet& keys, std::int64_t now);

}  // namespace appserver::auth
