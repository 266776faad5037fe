// key_store.cc: building, checking, announcing and adopting key sets and denylists.
//
// Thread: see key_store.h.
#include "key_store.h"

#include <sys/mman.h>
#include <unistd.h>

#include <new>
#include <utility>
#include <vector>

#include "check.h"
#include "config.h"
#include "log.h"

namespace appserver::server {

namespace {

SharedKeyState* mapSharedState() {
  void* memory = ::mmap(nullptr, sizeof(SharedKeyState), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  APPSERVER_CHECK(memory != MAP_FAILED);
  return new (memory) SharedKeyState();
}

// The key files that can be read again, except the master's own JWKS copy (which only the
// master writes, and reloads itself when it does).
std::vector<std::string> keyFiles(const auth::JwtOptions& options, const JwksFetcher* jwks) {
  std::vector<std::string> files = options.public_keys;
  if (!options.secret_file.empty()) {
    files.push_back(options.secret_file);
  }
  if (!options.jwks.empty() && (jwks == nullptr || options.jwks != jwks->path())) {
    files.push_back(options.jwks);
  }
  return files;
}

// False when a key source is a pipe or another file that can be read only once.
bool allReadableAgain(const std::vector<std::string>& files) {
  for (const std::string& file : files) {
    if (!isRegularFile(file)) {
      return false;
    }
  }
  return true;
}

std::string algNames(const auth::Policy& policy) {
  std::string names;
  for (const auth::Alg alg : policy.algorithms) {
    names += (names.empty() ? "" : ",") + std::string(auth::algName(alg));
  }
  return names;
}

void replaceAll(std::string& text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); !from.empty() && at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

}  // namespace

KeyStore::KeyStore(const JwtConfig& config, std::unique_ptr<JwksFetcher> jwks)
    : options_(config.verify),
      denylist_path_(config.denylist),
      jwks_(std::move(jwks)),
      owner_(::getpid()),
      shared_(mapSharedState()),
      reloadable_(allReadableAgain(keyFiles(options_, jwks_.get()))) {
  if (jwks_ != nullptr && !reloadable_) {
    throw ConfigError(
        "--jwt-jwks-url: every other key source must be a regular file (a key "
        "read through a pipe could not be read again with a new JWKS)");
  }
  if (reloadable_) {
    key_files_ = FileWatch(keyFiles(options_, jwks_.get()));  // stamps before the read
  }
  std::string error;
  keys_ = build(options_, error);
  if (!keys_) {
    throw ConfigError(error);
  }
  if (!denylist_path_.empty()) {
    denylist_file_ = FileWatch({denylist_path_});
    std::optional<Denylist> list = Denylist::load(denylist_path_, error);
    if (!list) {
      throw ConfigError("--jwt-denylist " + denylist_path_ + ": " + error);
    }
    denylist_ = std::make_shared<const Denylist>(std::move(*list));
  }
}

KeyStore::~KeyStore() {
  if (::getpid() == owner_) {
    ::munmap(shared_, sizeof(SharedKeyState));
  }
}

std::shared_ptr<const KeyMaterial> KeyStore::build(const auth::JwtOptions& options,
                                                   std::string& error) const {
  auth::Policy policy;
  auth::KeySet keys;
  std::string detail;
  if (auth::buildJwtConfig(options, policy, keys, &detail) != auth::Status::Ok) {
    if (jwks_ != nullptr) {  // name the URL, not the master's private copy of it
      replaceAll(detail, "--jwt-jwks " + jwks_->stagedPath(), "--jwt-jwks-url " + jwks_->url());
      replaceAll(detail, "--jwt-jwks " + jwks_->path(), "--jwt-jwks-url " + jwks_->url());
    }
    error = std::move(detail);
    return nullptr;
  }
  return std::make_shared<const KeyMaterial>(std::move(policy), std::move(keys));
}

// --- master ---

void KeyStore::poll() {
  if (jwks_ != nullptr) {
    const uint64_t asked = shared_->refetch_requests.load();
    if (asked != refetch_requests_seen_) {
      refetch_requests_seen_ = asked;
      jwks_->requestRefetch();
    }
    if (jwks_->due(JwksFetcher::Clock::now())) {
      fetchJwks(jwks_->refetchWanted() ? "a worker met an unknown kid" : "the JWKS went stale");
    }
  }
  if (key_files_.changed()) {
    reloadKeys("a key file changed");
  }
  if (denylist_file_.changed()) {
    reloadDenylist("the file changed");
  }
}

void KeyStore::reload() {
  if (!reloadable_) {
    logAt(LogLevel::Info,
          "Hang up: JWT keys read through a pipe (--jwt-from-django) stay as loaded at startup");
  } else if (jwks_ == nullptr) {
    reloadKeys("HUP");
  } else {
    switch (fetchJwks("HUP")) {
      case FetchOutcome::Adopted:
        break;  // every key file was read again with the new document
      case FetchOutcome::Unchanged:
        reloadKeys("HUP");
        break;
      case FetchOutcome::Failed:
        reloadKeys("HUP, with the last good document of --jwt-jwks-url");
        break;
    }
  }
  reloadDenylist("HUP");
}

void KeyStore::reloadKeys(std::string_view why) {
  key_files_.mark();
  std::string error;
  std::shared_ptr<const KeyMaterial> built = build(options_, error);
  if (!built) {
    logAt(LogLevel::Warning, "JWT keys not reloaded ({}): {}; keeping the last good keys", why,
          error);
    return;
  }
  publish(std::move(built), why);
}

KeyStore::FetchOutcome KeyStore::fetchJwks(std::string_view why) {
  const auto now = JwksFetcher::Clock::now();
  JwksFetcher::Fetch fetched = jwks_->fetch(now);
  if (!fetched.ok) {
    logAt(LogLevel::Warning, "--jwt-jwks-url {}: fetch failed: {}; keeping the last good keys",
          jwks_->url(), fetched.error);
    return FetchOutcome::Failed;
  }
  if (fetched.document == jwks_->document()) {
    logAt(LogLevel::Debug, "--jwt-jwks-url {}: unchanged; fresh for {} s", jwks_->url(),
          fetched.fresh_for.count());
    return FetchOutcome::Unchanged;
  }
  std::string error;
  if (!jwks_->stage(fetched.document, error)) {
    logAt(LogLevel::Warning, "--jwt-jwks-url {}: {}", jwks_->url(), error);
    return FetchOutcome::Failed;
  }
  auth::JwtOptions candidate = options_;
  candidate.jwks = jwks_->stagedPath();
  key_files_.mark();  // the other key files are read again too
  std::shared_ptr<const KeyMaterial> built = build(candidate, error);
  if (!built) {
    jwks_->discard();
    jwks_->retryAfterFailure(now);
    logAt(LogLevel::Warning, "JWT keys not reloaded ({}): {}; keeping the last good keys", why,
          error);
    return FetchOutcome::Failed;
  }
  if (!jwks_->commit(error)) {
    logAt(LogLevel::Warning, "--jwt-jwks-url {}: {}", jwks_->url(), error);
    return FetchOutcome::Failed;
  }
  publish(std::move(built), fmt::format("{}: new document from --jwt-jwks-url, {} bytes, fresh "
                                        "for {} s",
                                        why, fetched.document.size(), fetched.fresh_for.count()));
  return FetchOutcome::Adopted;
}

void KeyStore::publish(std::shared_ptr<const KeyMaterial> keys, std::string_view why) {
  keys_ = std::move(keys);
  keys_generation_ = shared_->keys_generation.fetch_add(1) + 1;
  logAt(LogLevel::Info, "JWT keys reloaded ({}): {} key(s), algorithms {}", why, keys_->keys.size(),
        algNames(keys_->verifier.policy()));
}

void KeyStore::reloadDenylist(std::string_view why) {
  if (denylist_path_.empty()) {
    return;
  }
  denylist_file_.mark();
  std::string error;
  std::optional<Denylist> list = Denylist::load(denylist_path_, error);
  if (!list) {
    logAt(LogLevel::Warning,
          "--jwt-denylist {} not reloaded ({}): {}; keeping the last good list "
          "({} ids)",
          denylist_path_, why, error, denylist_->size());
    return;
  }
  denylist_ = std::make_shared<const Denylist>(std::move(*list));
  denylist_generation_ = shared_->denylist_generation.fetch_add(1) + 1;
  logAt(LogLevel::Info, "--jwt-denylist {} reloaded ({}): {} revoked token id(s)", denylist_path_,
        why, denylist_->size());
}

// --- worker ---

bool KeyStore::refresh(int64_t now) {
  if (now < retry_at_) {
    return false;
  }
  bool keys_changed = false;
  const uint64_t keys_generation = shared_->keys_generation.load(std::memory_order_acquire);
  if (keys_generation != keys_generation_) {
    keys_changed = adoptKeys(keys_generation, now);
  }
  const uint64_t denylist_generation = shared_->denylist_generation.load(std::memory_order_acquire);
  if (denylist_generation != denylist_generation_) {
    adoptDenylist(denylist_generation, now);
  }
  return keys_changed;
}

bool KeyStore::adoptKeys(uint64_t generation, int64_t now) {
  std::string error;
  std::shared_ptr<const KeyMaterial> built = build(options_, error);
  if (!built) {
    retry_at_ = now + 1;
    if (failed_keys_generation_ != generation) {
      failed_keys_generation_ = generation;
      logAt(LogLevel::Warning,
            "worker cannot load the new JWT keys: {}; keeping its keys, "
            "retrying",
            error);
    }
    return false;
  }
  keys_ = std::move(built);
  keys_generation_ = generation;
  return true;
}

void KeyStore::adoptDenylist(uint64_t generation, int64_t now) {
  std::string error;
  std::optional<Denylist> list = Denylist::load(denylist_path_, error);
  if (!list) {
    retry_at_ = now + 1;
    if (failed_denylist_generation_ != generation) {
      failed_denylist_generation_ = generation;
      logAt(LogLevel::Warning,
            "worker cannot load the new --jwt-denylist {}: {}; keeping its "
            "list, retrying",
            denylist_path_, error);
    }
    return;
  }
  denylist_ = std::make_shared<const Denylist>(std::move(*list));
  denylist_generation_ = generation;
}

void KeyStore::requestRefetch(int64_t now) {
  if (jwks_ == nullptr || now == last_refetch_request_) {
    return;
  }
  last_refetch_request_ = now;
  shared_->refetch_requests.fetch_add(1);
}

}  // namespace appserver::server
