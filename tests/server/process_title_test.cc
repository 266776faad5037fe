// process_title_test.cc: ProcessTitle::set() writes over argv (and the environment strings
// right after it, moved away first) and names the thread. Works on an argv block of its
// own: /proc/self/cmdline of the test binary is covered end to end by test_process.py.
// Thread: the test's main thread.
#include "process_title.h"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace appserver::server {
namespace {

TEST(ProcessTitle, WritesOverArgvAndPadsWithNul) {
  // argv strings back to back, as the kernel lays them out.
  char block[] = "appserver\0--workers\0002\0myproj.wsgi";
  char* argv[] = {block, block + 10, block + 20, block + 22, nullptr};
  ::setenv("APPSERVER_TEST_TITLE", "kept", 1);
  ProcessTitle::init(4, argv);
  ProcessTitle::set("appserver: master [p]");
  EXPECT_EQ(std::string(block, sizeof(block)),
            std::string("appserver: master [p]") + std::string(sizeof(block) - 21, '\0'));
  EXPECT_STREQ(::getenv("APPSERVER_TEST_TITLE"), "kept");  // environ was moved, not lost
  char name[16] = {};
  ::prctl(PR_GET_NAME, name);
  EXPECT_STREQ(name, "appserver: mast");
}

TEST(ProcessTitle, CutsATitleLongerThanTheSpace) {
  char block[] = "abc\0de";
  char* argv[] = {block, block + 4, nullptr};
  ProcessTitle::init(2, argv);
  ProcessTitle::set("appserver: worker [long]");
  EXPECT_EQ(std::string(block, sizeof(block)), std::string("appser\0", 7));
}

}  // namespace
}  // namespace appserver::server
