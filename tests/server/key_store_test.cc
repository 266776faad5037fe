// key_store_test.cc: KeyStore, the keys and denylist a master reloads and its workers adopt.
//
// The master's side runs in the test process; a worker is a fork() of it, as in the server,
// which waits on a pipe, calls refresh() and reports through its exit status.
// Thread: the test's main thread (and the forked child's).
#include "key_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>
#include <string>

#include "auth/jwt_signer.h"
#include "auth/key.h"
#include "config.h"

namespace appserver::server {
namespace {

const std::string kSecretA(40, 'a');
const std::string kSecretB(40, 'b');

std::string token(const std::string& secret, const std::string& jti = "j1") {
  auth::Key key;
  EXPECT_EQ(auth::makeHmacKey(secret, key), auth::Status::Ok);
  const std::string payload = R"({"sub":"u","jti":")" + jti + R"(","exp":)" +
                              std::to_string(std::time(nullptr) + 300) + "}";
  std::string out;
  EXPECT_EQ(auth::signJwt(auth::Alg::Hs256, key, payload, "", out), auth::Status::Ok);
  return out;
}

bool accepts(const KeyStore& store, const std::string& token) {
  const KeyMaterial& m = *store.keys();
  return m.verifier.verify(token, m.keys, std::time(nullptr)).status == auth::Status::Ok;
}

class KeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/key_store_test_XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    config_.verify.secret_file = dir_ + "/secret";
    config_.denylist = dir_ + "/denylist";
    replace(config_.verify.secret_file, kSecretA);
    replace(config_.denylist, "revoked\n");
  }
  void TearDown() override {
    std::remove(config_.verify.secret_file.c_str());
    std::remove(config_.denylist.c_str());
    ::rmdir(dir_.c_str());
  }
  // Writes text beside path and renames it over path (a new inode: always a visible change).
  static void replace(const std::string& path, const std::string& text) {
    std::ofstream(path + ".new") << text;
    ASSERT_EQ(std::rename((path + ".new").c_str(), path.c_str()), 0);
  }
  // Runs check in a forked "worker" after the master did what prepare does; its result.
  static bool inWorker(const std::function<void()>& prepare, const std::function<bool()>& check) {
    int go[2];
    EXPECT_EQ(::pipe(go), 0);
    const pid_t pid = ::fork();
    if (pid == 0) {
      char byte;
      ::close(go[1]);
      const bool ok = ::read(go[0], &byte, 1) == 1 && check();
      ::_exit(ok ? 0 : 1);
    }
    ::close(go[0]);
    prepare();
    EXPECT_EQ(::write(go[1], "x", 1), 1);
    ::close(go[1]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }

  std::string dir_;
  JwtConfig config_;
};

TEST_F(KeyStoreTest, LoadsKeysAndDenylist) {
  const KeyStore store(config_, nullptr);
  EXPECT_TRUE(accepts(store, token(kSecretA)));
  ASSERT_NE(store.denylist(), nullptr);
  EXPECT_TRUE(store.denylist()->contains("revoked"));
}

TEST_F(KeyStoreTest, ThrowsForABadKeyOrAMissingDenylist) {
  replace(config_.verify.secret_file, "short");
  EXPECT_THROW(KeyStore(config_, nullptr), ConfigError);
  replace(config_.verify.secret_file, kSecretA);
  config_.denylist = dir_ + "/missing";
  EXPECT_THROW(KeyStore(config_, nullptr), ConfigError);
}

TEST_F(KeyStoreTest, PollAdoptsAChangedKeyFileAndKeepsOutABadOne) {
  KeyStore store(config_, nullptr);
  const auto first = store.keys();
  store.poll();
  EXPECT_EQ(store.keys(), first);  // nothing changed: nothing rebuilt
  replace(config_.verify.secret_file, kSecretB);
  store.poll();
  EXPECT_NE(store.keys(), first);
  EXPECT_TRUE(accepts(store, token(kSecretB)));
  EXPECT_FALSE(accepts(store, token(kSecretA)));
  const auto second = store.keys();
  replace(config_.verify.secret_file, "short");
  store.poll();
  store.reload();  // HUP: the same bad file, the same answer
  EXPECT_EQ(store.keys(), second);
}

TEST_F(KeyStoreTest, PollAdoptsAChangedDenylistAndKeepsTheLastGoodOne) {
  KeyStore store(config_, nullptr);
  replace(config_.denylist, "other\n");
  store.poll();
  EXPECT_TRUE(store.denylist()->contains("other"));
  EXPECT_FALSE(store.denylist()->contains("revoked"));
  std::remove(config_.denylist.c_str());
  store.poll();
  EXPECT_TRUE(store.denylist()->contains("other"));
}

TEST_F(KeyStoreTest, WorkerAdoptsWhatTheMasterAnnounced) {
  KeyStore store(config_, nullptr);
  const bool ok = inWorker(
      [&] {
        replace(config_.verify.secret_file, kSecretB);
        replace(config_.denylist, "j1\n");
        store.poll();
      },
      [&] {
        const int64_t now = std::time(nullptr);
        return store.refresh(now) && accepts(store, token(kSecretB)) &&
               !accepts(store, token(kSecretA)) && store.denylist()->contains("j1") &&
               !store.refresh(now);  // nothing new the second time
      });
  EXPECT_TRUE(ok);
}

TEST_F(KeyStoreTest, WorkerGetsWhatTheMasterCheckedEvenIfTheFileBreaksAfterwards) {
  KeyStore store(config_, nullptr);
  const bool ok = inWorker(
      [&] {
        replace(config_.verify.secret_file, kSecretB);
        replace(config_.denylist, "j1\n");
        store.poll();
        replace(config_.verify.secret_file, "short");  // before the worker looks
        std::remove(config_.denylist.c_str());
      },
      [&] {
        return store.refresh(std::time(nullptr)) && accepts(store, token(kSecretB)) &&
               store.denylist()->contains("j1");
      });
  EXPECT_TRUE(ok);
}

TEST_F(KeyStoreTest, WorkerSkipsToTheNewestGeneration) {
  KeyStore store(config_, nullptr);
  const bool ok = inWorker(
      [&] {
        for (const std::string& secret : {std::string(40, 'c'), std::string(40, 'd'), kSecretB}) {
          replace(config_.verify.secret_file, secret);
          store.poll();  // generations 2, 3, 4: the copies of 2 are gone by now
        }
      },
      [&] { return store.refresh(std::time(nullptr)) && accepts(store, token(kSecretB)); });
  EXPECT_TRUE(ok);
}

TEST(KeySnapshots, KeepsCopiesPrivateAndRemovesThemWithTheMaster) {
  std::string path;
  {
    KeySnapshots snapshots;
    path = snapshots.path();
    std::string error;
    ASSERT_TRUE(snapshots.writeDirectory("keys-1", {{"secret", "s3cr3t"}}, error)) << error;
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    ASSERT_EQ(::stat((path + "/keys-1/secret").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    snapshots.remove("keys-1");
    EXPECT_NE(::access((path + "/keys-1").c_str(), F_OK), 0);
    ASSERT_TRUE(snapshots.writeFile("denylist-1", "x\n", error)) << error;
  }
  EXPECT_NE(::access(path.c_str(), F_OK), 0);
}

TEST_F(KeyStoreTest, WorkerSeesNothingNewWithoutAnAnnouncement) {
  KeyStore store(config_, nullptr);
  const bool ok = inWorker(
      [&] { replace(config_.verify.secret_file, kSecretB); },
      [&] { return !store.refresh(std::time(nullptr)) && accepts(store, token(kSecretA)); });
  EXPECT_TRUE(ok);
}

TEST_F(KeyStoreTest, KeysReadThroughAPipeStayAsLoaded) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_EQ(::write(fds[1], kSecretA.data(), kSecretA.size()), ssize_t(kSecretA.size()));
  ::close(fds[1]);
  config_.verify.secret_file = "/proc/self/fd/" + std::to_string(fds[0]);
  KeyStore store(config_, nullptr);
  const auto first = store.keys();
  store.reload();  // the pipe is empty now: reading it again would fail
  store.poll();
  EXPECT_EQ(store.keys(), first);
  EXPECT_TRUE(accepts(store, token(kSecretA)));
  ::close(fds[0]);
  config_.verify.secret_file = dir_ + "/secret";
}

}  // namespace
}  // namespace appserver::server
