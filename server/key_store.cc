// key_store.cc: reading, snapshotting, checking, announcing and adopting key sets and
// denylists.
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

constexpr const char* kSecretCopy = "secret";
constexpr const char* kJwksCopy = "jwks.json";

std::string publicKeyCopy(size_t index) { return "key-" + std::to_string(index) + ".pem"; }
std::string keysGeneration(uint64_t generation) { return "keys-" + std::to_string(generation); }
std::string denylistGeneration(uint64_t generation) {
  return "denylist-" + std::to_string(generation);
}

SharedKeyState* mapSharedState() {
  void* memory = ::mmap(nullptr, sizeof(SharedKeyState), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  APPSERVER_CHECK(memory != MAP_FAILED);
  return new (memory) SharedKeyState();
}

// The operator's key files (not the URL, which the fetcher watches by its schedule).
std::vector<std::string> keyFiles(const auth::JwtOptions& options, const JwksFetcher* jwks) {
  std::vector<std::string> files = options.public_keys;
  if (!options.secret_file.empty()) {
    files.push_back(options.secret_file);
  }
  if (!options.jwks.empty() && jwks == nullptr) {
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

bool readSource(const char* option, const std::string& path, std::string& bytes,
                std::string& error) {
  const auth::Status status = auth::readKeyFile(path, bytes);
  if (status != auth::Status::Ok) {
    error = std::string(option) + " " + path + ": " + std::string(auth::toString(status));
    return false;
  }
  return true;
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
        "--jwt-jwks-url: every other key source must be a regular file (a key read through a "
        "pipe could not be read again with a new JWKS)");
  }
  if (reloadable_ || !denylist_path_.empty()) {
    snapshots_ = std::make_unique<KeySnapshots>();
  }
  std::string error;
  if (reloadable_) {
    key_files_ = FileWatch(keyFiles(options_, jwks_.get()));  // stamps before the read
    keys_ = buildGeneration(1, nullptr, error);
    keys_generation_ = 1;
  } else {
    keys_ = build(options_, error);  // a pipe: read once, never again
  }
  if (!keys_) {
    throw ConfigError(error);
  }
  shared_->keys_generation.store(keys_generation_);
  if (!denylist_path_.empty()) {
    denylist_file_ = FileWatch({denylist_path_});
    if (!loadDenylist(1, error)) {
      throw ConfigError("--jwt-denylist " + denylist_path_ + ": " + error);
    }
    denylist_generation_ = 1;
    shared_->denylist_generation.store(1);
  }
}

KeyStore::~KeyStore() {
  if (::getpid() == owner_) {
    ::munmap(shared_, sizeof(SharedKeyState));
  }
}

std::shared_ptr<const KeyMaterial> KeyStore::build(const auth::JwtOptions& options,
                                                   std::string& error) {
  auth::Policy policy;
  auth::KeySet keys;
  if (auth::buildJwtConfig(options, policy, keys, &error) != auth::Status::Ok) {
    return nullptr;
  }
  return std::make_shared<const KeyMaterial>(std::move(policy), std::move(keys));
}

auth::JwtOptions KeyStore::snapshotOptions(uint64_t generation) const {
  const std::string dir = snapshots_->entry(keysGeneration(generation)) + "/";
  auth::JwtOptions options = options_;
  if (!options.secret_file.empty()) {
    options.secret_file = dir + kSecretCopy;
  }
  for (size_t i = 0; i < options.public_keys.size(); ++i) {
    options.public_keys[i] = dir + publicKeyCopy(i);
  }
  if (!options.jwks.empty()) {
    options.jwks = dir + kJwksCopy;
  }
  return options;
}

// --- master ---

bool KeyStore::readKeySources(const std::string* jwks_document, Files& files,
                              std::string& error) const {
  std::string bytes;
  if (!options_.secret_file.empty()) {
    if (!readSource("--jwt-secret-file", options_.secret_file, bytes, error)) {
      return false;
    }
    files.emplace_back(kSecretCopy, std::move(bytes));
  }
  for (size_t i = 0; i < options_.public_keys.size(); ++i) {
    if (!readSource("--jwt-public-key", options_.public_keys[i], bytes, error)) {
      return false;
    }
    files.emplace_back(publicKeyCopy(i), std::move(bytes));
  }
  if (jwks_ != nullptr) {
    files.emplace_back(kJwksCopy, jwks_document != nullptr ? *jwks_document : jwks_->document());
  } else if (!options_.jwks.empty()) {
    if (!readSource("--jwt-jwks", options_.jwks, bytes, error)) {
      return false;
    }
    files.emplace_back(kJwksCopy, std::move(bytes));
  }
  return true;
}

std::shared_ptr<const KeyMaterial> KeyStore::buildGeneration(uint64_t generation,
                                                             const std::string* jwks_document,
                                                             std::string& error) {
  Files files;
  if (!readKeySources(jwks_document, files, error) ||
      !snapshots_->writeDirectory(keysGeneration(generation), files, error)) {
    return nullptr;
  }
  const auth::JwtOptions copies = snapshotOptions(generation);
  std::shared_ptr<const KeyMaterial> built = build(copies, error);
  if (built) {
    return built;
  }
  snapshots_->remove(keysGeneration(generation));
  // Name the operator's files (and the URL) in the message, not the copies.
  if (jwks_ != nullptr) {
    replaceAll(error, "--jwt-jwks " + copies.jwks, "--jwt-jwks-url " + jwks_->url());
  }
  replaceAll(error, copies.jwks, options_.jwks);
  replaceAll(error, copies.secret_file, options_.secret_file);
  for (size_t i = 0; i < copies.public_keys.size(); ++i) {
    replaceAll(error, copies.public_keys[i], options_.public_keys[i]);
  }
  return nullptr;
}

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
  std::shared_ptr<const KeyMaterial> built = buildGeneration(keys_generation_ + 1, nullptr, error);
  if (!built) {
    logAt(LogLevel::Warning, "JWT keys not reloaded ({}): {}; keeping the last good keys", why,
          error);
    return;
  }
  publish(std::move(built), keys_generation_ + 1, why);
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
  key_files_.mark();  // the other key files are read again too
  std::string error;
  std::shared_ptr<const KeyMaterial> built =
      buildGeneration(keys_generation_ + 1, &fetched.document, error);
  if (!built) {
    jwks_->retryAfterFailure(now);
    logAt(LogLevel::Warning, "JWT keys not reloaded ({}): {}; keeping the last good keys", why,
          error);
    return FetchOutcome::Failed;
  }
  const size_t size = fetched.document.size();
  jwks_->adopt(std::move(fetched.document));
  publish(std::move(built), keys_generation_ + 1,
          fmt::format("{}: new document from --jwt-jwks-url, {} bytes, fresh for {} s", why, size,
                      fetched.fresh_for.count()));
  return FetchOutcome::Adopted;
}

void KeyStore::publish(std::shared_ptr<const KeyMaterial> keys, uint64_t generation,
                       std::string_view why) {
  keys_ = std::move(keys);
  keys_generation_ = generation;
  shared_->keys_generation.store(generation, std::memory_order_release);
  if (generation > 2) {
    snapshots_->remove(keysGeneration(generation - 2));  // the last one may still be read
  }
  logAt(LogLevel::Info, "JWT keys reloaded ({}): {} key(s), algorithms {}", why, keys_->keys.size(),
        algNames(keys_->verifier.policy()));
}

bool KeyStore::loadDenylist(uint64_t generation, std::string& error) {
  std::string text;
  if (!Denylist::readFile(denylist_path_, text, error)) {
    return false;
  }
  std::optional<Denylist> list = Denylist::fromText(text, error);
  if (!list || !snapshots_->writeFile(denylistGeneration(generation), text, error)) {
    return false;
  }
  denylist_ = std::make_shared<const Denylist>(std::move(*list));
  denylist_generation_ = generation;
  shared_->denylist_generation.store(generation, std::memory_order_release);
  if (generation > 2) {
    snapshots_->remove(denylistGeneration(generation - 2));
  }
  return true;
}

void KeyStore::reloadDenylist(std::string_view why) {
  if (denylist_path_.empty()) {
    return;
  }
  denylist_file_.mark();
  std::string error;
  if (!loadDenylist(denylist_generation_ + 1, error)) {
    logAt(LogLevel::Warning,
          "--jwt-denylist {} not reloaded ({}): {}; keeping the last good list ({} ids)",
          denylist_path_, why, error, denylist_->size());
    return;
  }
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
  std::shared_ptr<const KeyMaterial> built = build(snapshotOptions(generation), error);
  if (!built) {
    retry_at_ = now + 1;
    if (failed_keys_generation_ != generation) {
      failed_keys_generation_ = generation;
      logAt(LogLevel::Warning, "worker cannot load JWT key generation {}: {}; keeping its keys",
            generation, error);
    }
    return false;
  }
  keys_ = std::move(built);
  keys_generation_ = generation;
  return true;
}

void KeyStore::adoptDenylist(uint64_t generation, int64_t now) {
  std::string error;
  std::optional<Denylist> list =
      Denylist::load(snapshots_->entry(denylistGeneration(generation)), error);
  if (!list) {
    retry_at_ = now + 1;
    if (failed_denylist_generation_ != generation) {
      failed_denylist_generation_ = generation;
      logAt(LogLevel::Warning,
            "worker cannot load --jwt-denylist generation {}: {}; keeping its "
            "list",
            generation, error);
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
