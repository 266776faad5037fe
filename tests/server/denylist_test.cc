// denylist_test.cc: Denylist, the --jwt-denylist file format and its refusals.
//
// Thread: the test's main thread.
#include "denylist.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace appserver::server {
namespace {

TEST(Denylist, IgnoresBlankLinesCommentsAndSurroundingSpace) {
  const Denylist list = Denylist::parse("# revoked\n\n  a-1 \r\n\tb-2\n#c-3\n   # d-4\nlast");
  EXPECT_EQ(list.size(), 3u);
  EXPECT_TRUE(list.contains("a-1"));
  EXPECT_TRUE(list.contains("b-2"));
  EXPECT_TRUE(list.contains("last"));
  EXPECT_FALSE(list.contains("c-3"));
  EXPECT_FALSE(list.contains("# d-4"));
  EXPECT_FALSE(list.contains(""));
}

TEST(Denylist, ComparesExactly) {
  const Denylist list = Denylist::parse("abc\n");
  EXPECT_FALSE(list.contains("ABC"));
  EXPECT_FALSE(list.contains("abc "));
  EXPECT_FALSE(list.contains("ab"));
}

TEST(Denylist, EmptyTextListsNothing) { EXPECT_EQ(Denylist::parse("").size(), 0u); }

TEST(Denylist, LoadsAFile) {
  char path[] = "/tmp/denylist_test_XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << "one\ntwo\n";
  std::string error;
  const std::optional<Denylist> list = Denylist::load(path, error);
  ::unlink(path);
  ASSERT_TRUE(list.has_value()) << error;
  EXPECT_TRUE(list->contains("two"));
}

TEST(Denylist, RefusesAMissingFileWithTheReason) {
  std::string error;
  EXPECT_FALSE(Denylist::load("/nonexistent/denylist", error).has_value());
  EXPECT_EQ(error, "No such file or directory");
}

TEST(Denylist, RefusesABinaryFile) {
  char path[] = "/tmp/denylist_test_XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "a\0b\n", 4), 4);
  ::close(fd);
  std::string error;
  EXPECT_FALSE(Denylist::load(path, error).has_value());
  ::unlink(path);
  EXPECT_NE(error.find("NUL"), std::string::npos);
}

}  // namespace
}  // namespace appserver::server
