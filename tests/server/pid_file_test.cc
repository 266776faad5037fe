// pid_file_test.cc: PidFile's life: write, move aside for a new master (USR2) and back,
// and removal only while the file names this process.
// Thread: the test's main thread.
#include "pid_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "config.h"

namespace appserver::server {
namespace {

namespace fs = std::filesystem;

class PidFileTest : public testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/appserver-pidfile-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::string dir_;
};

TEST_F(PidFileTest, WritesThePidReplacingAStaleFile) {
  const std::string path = dir_ + "/app.pid";
  std::ofstream(path) << "99999999\n";
  PidFile(path).write();
  EXPECT_EQ(read(path), std::to_string(::getpid()) + "\n");
}

TEST_F(PidFileTest, RefusesAnUnwritablePath) {
  EXPECT_THROW(PidFile(dir_ + "/no/such/dir/app.pid").write(), ConfigError);
}

TEST_F(PidFileTest, MovesAsideForANewMasterAndBack) {
  const std::string path = dir_ + "/app.pid";
  PidFile pid_file(path);
  pid_file.write();
  ASSERT_TRUE(pid_file.moveAside(true));
  EXPECT_EQ(pid_file.current(), path + ".oldbin");
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(read(path + ".oldbin"), std::to_string(::getpid()) + "\n");
  std::ofstream(path) << "4242\n";  // the new master's, which then died
  ASSERT_TRUE(pid_file.moveAside(false));
  EXPECT_EQ(read(path), std::to_string(::getpid()) + "\n");
  EXPECT_FALSE(fs::exists(path + ".oldbin"));
}

TEST_F(PidFileTest, RemovesOnlyItsOwnFile) {
  const std::string path = dir_ + "/app.pid";
  PidFile pid_file(path);
  pid_file.write();
  ASSERT_TRUE(pid_file.moveAside(true));
  std::ofstream(path) << "4242\n";  // the new master's
  pid_file.remove();
  EXPECT_FALSE(fs::exists(path + ".oldbin"));
  EXPECT_EQ(read(path), "4242\n");
  PidFile(path).remove();
  EXPECT_TRUE(fs::exists(path));
}

TEST_F(PidFileTest, DoesNothingWithoutAPath) {
  PidFile none("");
  none.write();
  EXPECT_TRUE(none.moveAside(true));
  none.remove();
  EXPECT_TRUE(fs::is_empty(dir_));
}

}  // namespace
}  // namespace appserver::server
