// privileges_test.cc: RunAs resolving --user/--group names and numbers, refusing unknown
// ones, and drop() in a child process (it changes the process for good). Needs root for
// everything but the refusals; skipped otherwise.
// Thread: the test's main thread (drop() in a forked child).
#include "privileges.h"

#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include "config.h"

namespace appserver::server {
namespace {

const passwd& nobody() {
  static const passwd* pw = ::getpwnam("nobody");
  return *pw;
}

void requireRoot() {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "switching users needs root";
  }
}

TEST(RunAs, NothingGivenChangesNothing) {
  const RunAs r = RunAs::resolve("", "");
  EXPECT_FALSE(r.changes());
  EXPECT_EQ(r.drop(), "");
  EXPECT_EQ(r.giveTo("/nonexistent/file"), "");
}

TEST(RunAs, RefusesUnknownNames) {
  EXPECT_THROW(RunAs::resolve("no-such-user-here", ""), ConfigError);
  EXPECT_THROW(RunAs::resolve("", "no-such-group-here"), ConfigError);
}

TEST(RunAs, AUserBringsItsPrimaryGroup) {
  requireRoot();
  const RunAs r = RunAs::resolve("nobody", "");
  EXPECT_TRUE(r.changes());
  EXPECT_EQ(r.uid(), nobody().pw_uid);
  EXPECT_EQ(r.gid(), nobody().pw_gid);
}

TEST(RunAs, TakesNumbersAlsoWithoutAnEntry) {
  requireRoot();
  const RunAs r = RunAs::resolve("4000123", "4000456");
  EXPECT_EQ(r.uid(), 4000123U);
  EXPECT_EQ(r.gid(), 4000456U);
  EXPECT_EQ(RunAs::resolve("", "100").gid(), 100U);
}

TEST(RunAs, DropLeavesOnlyTheUsersIdentity) {
  requireRoot();
  const RunAs r = RunAs::resolve("nobody", "");
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::vector<gid_t> groups(64);
    bool ok = r.drop().empty() && ::getuid() == nobody().pw_uid &&
              ::geteuid() == nobody().pw_uid && ::getgid() == nobody().pw_gid;
    const int n = ::getgroups(static_cast<int>(groups.size()), groups.data());
    ok = ok && n == 1 && groups[0] == nobody().pw_gid;  // root's groups are gone
    ok = ok && ::setuid(0) != 0;                         // and for good
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(RunAs, GivesAFileToTheUser) {
  requireRoot();
  char path[] = "/tmp/appserver-runas-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  EXPECT_EQ(RunAs::resolve("nobody", "").giveTo(path), "");
  struct stat st {};
  ASSERT_EQ(::stat(path, &st), 0);
  EXPECT_EQ(st.st_uid, nobody().pw_uid);
  EXPECT_EQ(st.st_gid, nobody().pw_gid);
  ::unlink(path);
  EXPECT_NE(RunAs::resolve("nobody", "").giveTo(path), "");
}

}  // namespace
}  // namespace appserver::server
