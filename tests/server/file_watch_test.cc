// file_watch_test.cc: FileWatch, the stat(2) stamps that tell a key file has changed.
//
// Thread: the test's main thread.
#include "file_watch.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace appserver::server {
namespace {

class FileWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/file_watch_test_XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/key";
    write(path_, "first");
  }
  void TearDown() override {
    std::remove(path_.c_str());
    std::remove((path_ + ".new").c_str());
    ::rmdir(dir_.c_str());
  }
  static void write(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::trunc) << text;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(FileWatchTest, SeesNoChangeWhenNothingHappened) {
  const FileWatch watch({path_});
  EXPECT_FALSE(watch.changed());
}

TEST_F(FileWatchTest, SeesARenameOverTheFile) {
  FileWatch watch({path_});
  write(path_ + ".new", "first");  // same size and content: only the inode differs
  ASSERT_EQ(std::rename((path_ + ".new").c_str(), path_.c_str()), 0);
  EXPECT_TRUE(watch.changed());
  watch.mark();
  EXPECT_FALSE(watch.changed());
}

TEST_F(FileWatchTest, SeesAnInPlaceRewriteOfTheSameSize) {
  const FileWatch watch({path_});
  ::usleep(10000);  // mtime has nanoseconds, but the kernel's clock ticks coarser
  write(path_, "other");
  EXPECT_TRUE(watch.changed());
}

TEST_F(FileWatchTest, SeesDeletionAndCreation) {
  FileWatch watch({path_});
  std::remove(path_.c_str());
  EXPECT_TRUE(watch.changed());
  watch.mark();
  EXPECT_FALSE(watch.changed());
  write(path_, "back");
  EXPECT_TRUE(watch.changed());
}

TEST_F(FileWatchTest, TellsRegularFilesFromPipes) {
  EXPECT_TRUE(isRegularFile(path_));
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  EXPECT_FALSE(isRegularFile("/proc/self/fd/" + std::to_string(fds[0])));
  ::close(fds[0]);
  ::close(fds[1]);
  EXPECT_FALSE(isRegularFile(dir_ + "/missing"));
}

}  // namespace
}  // namespace appserver::server
