// key_store.h: the keys and the denylist the JWT gate checks tokens with, and their reloads.
//
// The master builds both before it forks, so every worker starts with them. After that the
// master alone decides when they change (docs/auth.md, "Key reloads"):
//   - poll(), once a second: stat(2) of the key files (--jwt-secret-file, --jwt-public-key,
//     --jwt-jwks) and of --jwt-denylist; a fetch of --jwt-jwks-url when it is due;
//   - reload(), on HUP before the new generation of workers is forked: everything again.
// The master reads the new bytes, copies them into a new generation of its private snapshot
// directory (key_snapshots.h) and builds the key set or list from the copies. A bad one is
// logged with its reason and the last good one stays, in the master and in every worker. A
// good one is adopted and announced: the generation's number goes into a page shared with
// the workers (SharedKeyState, mapped before any fork). Between requests a worker compares
// the numbers with its own (refresh()) and builds from that generation's copies, so it gets
// exactly what the master checked, whatever happened to the files since; the new immutable
// KeyMaterial is swapped in whole and the gate clears its token cache. Workers that meet an
// unknown kid raise a counter the master answers with an early JWKS fetch (requestRefetch()).
//
// Keys read through a pipe (--jwt-from-django's /proc/self/fd/N, bash's <(...)) can be read
// only once: when a key source is not a regular file, the keys stay as loaded at startup.
// Thread: the master's only thread (construction, poll, reload), or after fork one worker's
// loop thread (refresh, requestRefetch, the accessors). Never both in one process.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "auth/jwt_options.h"
#include "auth/jwt_verifier.h"
#include "auth/key_set.h"
#include "denylist.h"
#include "file_watch.h"
#include "jwks_fetcher.h"
#include "key_snapshots.h"

namespace appserver::server {

struct JwtConfig;

// One immutable key set and the verifier that goes with it: without --jwt-algorithms the
// allow-list follows the keys, so both change together.
struct KeyMaterial {
  KeyMaterial(auth::Policy policy, auth::KeySet key_set)
      : verifier(std::move(policy)), keys(std::move(key_set)) {}
  auth::JwtVerifier verifier;
  auth::KeySet keys;
};

// The page the master shares with its workers (MAP_SHARED | MAP_ANONYMOUS, before fork).
struct SharedKeyState {
  std::atomic<uint64_t> keys_generation{0};      // the snapshot generation of the key set
  std::atomic<uint64_t> denylist_generation{0};  // the snapshot generation of the denylist
  std::atomic<uint64_t> refetch_requests{0};     // raised by workers: a kid no key has
};

class KeyStore {
 public:
  // Master, before fork: loads the keys (config.verify; with --jwt-jwks-url the JWKS is the
  // fetcher's document) and the denylist. Throws ConfigError naming the option and the
  // reason when either cannot be used.
  // @param jwks the URL's fetcher (jwks_fetcher.h), or null without --jwt-jwks-url
  KeyStore(const JwtConfig& config, std::unique_ptr<JwksFetcher> jwks);
  ~KeyStore();
  KeyStore(const KeyStore&) = delete;
  KeyStore& operator=(const KeyStore&) = delete;

  // Master, once a second: reloads what changed, fetches the JWKS when due.
  void poll();
  // Master, on HUP: fetches the JWKS and re-reads every key file and the denylist.
  void reload();

  // Worker, between requests: adopts what the master announced since the last call.
  // Returns true when the keys changed (the caller must clear its TokenCache). When a
  // generation's copies are gone already (the worker lagged two generations behind), it
  // keeps its keys and tries the newest generation again a second later.
  // @param now seconds since the Unix epoch
  bool refresh(int64_t now);
  // Worker: a token named a kid that no key has. With --jwt-jwks-url, asks the master for
  // an early fetch (at most once a second per worker; the master adds its cooldown).
  void requestRefetch(int64_t now);

  // The current keys. Shared: the store swaps its own pointer on a reload, while a caller
  // that copied the pointer keeps the set it started a verification with.
  const std::shared_ptr<const KeyMaterial>& keys() const { return keys_; }
  // The current denylist, or null without --jwt-denylist.
  const Denylist* denylist() const { return denylist_.get(); }

 private:
  using Files = KeySnapshots::Files;

  // Builds from options as the files are now; null with a one-line reason in error.
  static std::shared_ptr<const KeyMaterial> build(const auth::JwtOptions& options,
                                                  std::string& error);
  // options_ with every key file replaced by its copy in generation's snapshot.
  auth::JwtOptions snapshotOptions(uint64_t generation) const;
  // Master: the bytes of every key file now (the JWKS: jwks_document, or the fetcher's).
  bool readKeySources(const std::string* jwks_document, Files& files, std::string& error) const;
  // Master: reads, copies into generation's snapshot and builds; null (snapshot removed)
  // with a reason naming the operator's file or URL in error.
  std::shared_ptr<const KeyMaterial> buildGeneration(uint64_t generation,
                                                     const std::string* jwks_document,
                                                     std::string& error);
  // Master: rebuilds from the files; adopts and announces the result if it is good.
  void reloadKeys(std::string_view why);
  void reloadDenylist(std::string_view why);
  // Master: one fetch of the URL, and a new key set adopted if the document changed.
  enum class FetchOutcome { Adopted, Unchanged, Failed };
  FetchOutcome fetchJwks(std::string_view why);
  void publish(std::shared_ptr<const KeyMaterial> keys, uint64_t generation, std::string_view why);
  // Master: reads the denylist, copies it into generation's snapshot and adopts it.
  bool loadDenylist(uint64_t generation, std::string& error);
  // Worker: rebuild for generation; false (and a retry later) when it fails.
  bool adoptKeys(uint64_t generation, int64_t now);
  void adoptDenylist(uint64_t generation, int64_t now);

  auth::JwtOptions options_;  // the key sources and the policy options
  std::string denylist_path_;
  std::unique_ptr<JwksFetcher> jwks_;
  pid_t owner_;  // the master: only it unmaps the page
  SharedKeyState* shared_;
  bool reloadable_;  // every key source is a regular file, the environment or the URL
  std::unique_ptr<KeySnapshots> snapshots_;  // null when nothing can be reloaded
  FileWatch key_files_;
  FileWatch denylist_file_;
  std::shared_ptr<const KeyMaterial> keys_;
  std::shared_ptr<const Denylist> denylist_;
  uint64_t keys_generation_ = 0;             // the generation keys_ belongs to
  uint64_t denylist_generation_ = 0;         // the generation denylist_ belongs to
  uint64_t refetch_requests_seen_ = 0;       // master
  int64_t retry_at_ = 0;                     // worker: no rebuild before this second
  uint64_t failed_keys_generation_ = 0;      // worker: the failure was logged
  uint64_t failed_denylist_generation_ = 0;  // worker: the failure was logged
  int64_t last_refetch_request_ = 0;         // worker: the second it last asked
};

}  // namespace appserver::server
