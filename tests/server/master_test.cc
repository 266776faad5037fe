// master_test.cc: the pre-fork master, one scenario per test.
//
// Each test starts a real Master in a child process (ctest runs every test in a process
// of its own, so the master's signal handlers never meet another test) with a tiny app
// written to a temporary directory, then watches its workers through /proc and steers it
// with signals, as an operator would.
#include "master.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "config.h"
#include "listener.h"
#include "log.h"
#include "worker.h"

namespace appserver::server {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kGoodApp =
    "def application(environ, start_response):\n"
    "    start_response('200 OK', [('Content-Length', '2')])\n"
    "    return [b'ok']\n";

class MasterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("master_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (master_ > 0 && ::kill(master_, 0) == 0) {
      ::kill(master_, SIGKILL);
      ::waitpid(master_, nullptr, 0);
    }
    fs::remove_all(dir_);
  }

  void writeModule(const std::string& name, const std::string& source) {
    std::ofstream(dir_ / (name + ".py")) << source;
  }

  // Runs a master for module:application with `workers` workers in a child process.
  void startMaster(const std::string& module, int workers) {
    master_ = ::fork();
    ASSERT_GE(master_, 0);
    if (master_ > 0) {
      return;
    }
    fs::current_path(dir_);
    Config config;
    config.app = module;
    config.workers = workers;
    config.binds = {"127.0.0.1:0"};
    config.graceful_timeout = 5;
    config.error_logfile = (dir_ / "error.log").string();
    Log::open(config);
    std::vector<Listener> listeners = bindListeners(config.binds, config.backlog);
    ::signal(SIGPIPE, SIG_IGN);
    ::_exit(Master(config, listeners, nullptr).run());
  }

  // The master's exit status, or -1 if it is still running after `limit`.
  int waitForExit(milliseconds limit) {
    for (auto waited = milliseconds(0); waited < limit; waited += milliseconds(50)) {
      int status = 0;
      if (::waitpid(master_, &status, WNOHANG) == master_) {
        master_ = 0;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
    return -1;
  }

  std::set<pid_t> workers() const {
    std::ifstream in("/proc/" + std::to_string(master_) + "/task/" + std::to_string(master_) +
                     "/children");
    std::set<pid_t> pids;
    for (pid_t pid = 0; in >> pid;) {
      pids.insert(pid);
    }
    return pids;
  }

  // Waits until the master has `count` workers, none of them in `old`.
  std::set<pid_t> waitForWorkers(size_t count, const std::set<pid_t>& old = {}) const {
    for (int i = 0; i < 200; ++i) {
      std::set<pid_t> now = workers();
      bool fresh = now.size() == count;
      for (pid_t pid : now) {
        fresh = fresh && old.count(pid) == 0;
      }
      if (fresh) {
        return now;
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
    return {};
  }

  std::string errorLog() const {
    std::ifstream in(dir_ / "error.log");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  fs::path dir_;
  pid_t master_ = 0;
};

bool gone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

TEST_F(MasterTest, HaltsWithTheAppLoadStatusWhenTheAppCannotBeImported) {
  startMaster("no_such_module_here", 2);
  EXPECT_EQ(waitForExit(seconds(20)), kExitAppLoadError);
  EXPECT_NE(errorLog().find("No module named 'no_such_module_here'"), std::string::npos)
      << errorLog();
}

TEST_F(MasterTest, HaltsWhenWorkersKeepDyingAtBoot) {
  writeModule("dies", "import os\nos._exit(1)\n");
  startMaster("dies", 1);
  EXPECT_EQ(waitForExit(seconds(20)), kExitBootError);
  EXPECT_NE(errorLog().find("keep dying"), std::string::npos) << errorLog();
}

TEST_F(MasterTest, ReplacesAWorkerThatDiesAndStopsOnTerm) {
  writeModule("good", kGoodApp);
  startMaster("good", 2);
  const std::set<pid_t> first = waitForWorkers(2);
  ASSERT_EQ(first.size(), 2U) << errorLog();
  const pid_t victim = *first.begin();
  ::kill(victim, SIGKILL);
  std::set<pid_t> survivors = first;
  survivors.erase(victim);
  std::set<pid_t> now;
  for (int i = 0; i < 200 && (now.size() != 2 || now.count(victim) != 0); ++i) {
    std::this_thread::sleep_for(milliseconds(50));
    now = workers();
  }
  EXPECT_EQ(now.size(), 2U);
  EXPECT_EQ(now.count(victim), 0U);
  EXPECT_NE(errorLog().find("Worker (pid:" + std::to_string(victim) + ") was sent SIGKILL"),
            std::string::npos)
      << errorLog();
  ::kill(master_, SIGTERM);
  EXPECT_EQ(waitForExit(seconds(10)), 0);
  for (pid_t pid : now) {
    EXPECT_TRUE(gone(pid)) << "worker " << pid << " outlived its master's graceful stop";
  }
}

TEST_F(MasterTest, WorkersDoNotOutliveAKilledMaster) {
  writeModule("good", kGoodApp);
  startMaster("good", 2);
  const std::set<pid_t> pids = waitForWorkers(2);
  ASSERT_EQ(pids.size(), 2U) << errorLog();
  ::kill(master_, SIGKILL);
  ::waitpid(master_, nullptr, 0);
  master_ = 0;
  bool all_gone = false;
  for (int i = 0; i < 100 && !all_gone; ++i) {
    std::this_thread::sleep_for(milliseconds(50));
    all_gone = true;
    for (pid_t pid : pids) {
      all_gone = all_gone && gone(pid);
    }
  }
  EXPECT_TRUE(all_gone) << "workers still running 5 s after their master was killed";
}

}  // namespace
}  // namespace appserver::server
