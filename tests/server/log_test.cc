// log_test.cc: the access log's Gunicorn atoms and escaping, and the error log's line format.
//
// Each test opens the logs on fresh files in a temporary directory (Log::open) and reads
// back what one call wrote. TZ is pinned to UTC so %(t)s and the error-log stamp are
// deterministic; entries carry a fixed start time and duration.
// Thread: the test's main thread.
#include "log.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "config.h"

namespace appserver::server {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// 2024-01-02 03:04:05 UTC.
const auto kStart = std::chrono::system_clock::from_time_t(1704164645);

class LogTest : public testing::Test {
 protected:
  void SetUp() override {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
    std::string pattern = (fs::temp_directory_path() / "log-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    config_.access_logfile = (dir_ / "access.log").string();
    config_.error_logfile = (dir_ / "error.log").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Opens the logs with format and writes one access line for entry; returns the line.
  std::string accessLine(const std::string& format, const AccessEntry& entry) {
    config_.access_logformat = format;
    Log::open(config_);
    Log::access(entry);
    return read(config_.access_logfile);
  }

  static std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  static AccessEntry entry() {
    AccessEntry e;
    e.remote_addr = "10.0.0.7";
    e.method = "GET";
    e.target = "/items?page=2";
    e.protocol = "HTTP/1.1";
    e.status = 200;
    e.body_bytes = 1234;
    e.start = kStart;
    e.duration = 1500us;
    return e;
  }

  fs::path dir_;
  Config config_;
};

TEST_F(LogTest, WritesGunicornDefaultFormat) {
  const std::vector<embed::HeaderView> headers = {{"Referer", "http://example.com/"},
                                                  {"User-Agent", "curl/8.0"}};
  AccessEntry e = entry();
  e.request_headers = headers;
  EXPECT_EQ(accessLine(Config().access_logformat, e),
            "10.0.0.7 - - [02/Jan/2024:03:04:05 +0000] \"GET /items?page=2 HTTP/1.1\" 200 1234 "
            "\"http://example.com/\" \"curl/8.0\"\n");
}

TEST_F(LogTest, WritesDashesForMissingValues) {
  AccessEntry e = entry();
  e.remote_addr = "";  // a Unix socket peer
  e.body_bytes = 0;
  EXPECT_EQ(accessLine(R"(%(h)s %(u)s %(b)s %(B)s "%(f)s" "%(a)s")", e), "- - - 0 \"-\" \"-\"\n");
}

TEST_F(LogTest, WritesRemoteUser) {
  AccessEntry e = entry();
  e.remote_user = "alice";
  EXPECT_EQ(accessLine("%(u)s", e), "alice\n");
}

TEST_F(LogTest, WritesDurationAtoms) {
  AccessEntry e = entry();
  e.duration = 2003456us;
  EXPECT_EQ(accessLine("%(D)s %(M)s %(T)s %(L)s", e), "2003456 2003 2 2.003456\n");
}

TEST_F(LogTest, WritesRequestLineAtoms) {
  EXPECT_EQ(accessLine("%(m)s|%(U)s|%(q)s|%(H)s|%(s)s", entry()),
            "GET|/items|page=2|HTTP/1.1|200\n");
}

TEST_F(LogTest, WritesProcessId) {
  EXPECT_EQ(accessLine("%(p)s", entry()), "<" + std::to_string(::getpid()) + ">\n");
}

TEST_F(LogTest, WritesNamedRequestAndResponseHeaders) {
  const std::vector<embed::HeaderView> request = {{"USER-AGENT", "ua/1"}, {"X-Id", "42"}};
  const std::vector<embed::HeaderView> response = {{"Content-Type", "text/html"}};
  AccessEntry e = entry();
  e.request_headers = request;
  e.response_headers = response;
  EXPECT_EQ(accessLine("%({user-agent}i)s %({x-id}i)s %({content-type}o)s %({missing}i)s", e),
            "ua/1 42 text/html -\n");
}

TEST_F(LogTest, WritesDashForEnvironmentAndUnknownAtoms) {
  EXPECT_EQ(accessLine("%({HOME}e)s %(z)s", entry()), "- -\n");
}

TEST_F(LogTest, KeepsTextThatIsNotAnAtom) {
  EXPECT_EQ(accessLine("100%(s) %(long)s %(s)s", entry()), "100%(s) %(long)s 200\n");
}

TEST_F(LogTest, EscapesQuotesBackslashesAndControlBytes) {
  const std::vector<embed::HeaderView> headers = {{"User-Agent", "a\"b\\c\nd\x01\x7f\xc3\xa9"}};
  AccessEntry e = entry();
  e.request_headers = headers;
  e.target = "/x\r\ninjected";
  EXPECT_EQ(accessLine("%(a)s %(r)s", e),
            "a\\x22b\\x5cc\\x0ad\\x01\\x7f\\xc3\\xa9 GET /x\\x0d\\x0ainjected HTTP/1.1\n");
}

TEST_F(LogTest, IsDisabledWithoutAccessLogfile) {
  config_.access_logfile = "";
  Log::open(config_);
  EXPECT_FALSE(Log::accessEnabled());
  config_.access_logfile = (dir_ / "access.log").string();
  Log::open(config_);
  EXPECT_TRUE(Log::accessEnabled());
}

TEST_F(LogTest, WritesErrorLinesWithStampPidAndLevel) {
  config_.log_level = "info";
  Log::open(config_);
  Log::write(LogLevel::Warning, "disk almost full");
  logAt(LogLevel::Error, "worker {} exited with {}", 7, 3);
  const std::string text = read(config_.error_logfile);
  const std::string pid = std::to_string(::getpid());
  const std::regex line(R"(\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000\] \[)" + pid +
                        R"(\] \[(WARNING|ERROR)\] [^\n]*\n)");
  const std::vector<std::string> lines = {"disk almost full", "worker 7 exited with 3"};
  std::smatch m;
  std::string rest = text;
  for (const std::string& expected : lines) {
    ASSERT_TRUE(std::regex_search(rest, m, line)) << text;
    EXPECT_EQ(m.position(0), 0);
    EXPECT_NE(m.str(0).find(expected), std::string::npos);
    rest = m.suffix();
  }
  EXPECT_EQ(rest, "");
}

TEST_F(LogTest, WritesTheChildsPidAfterFork) {
  Log::open(config_);
  Log::write(LogLevel::Info, "parent");  // the parent's pid is known before the fork
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    Log::write(LogLevel::Info, "child");
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  const std::string text = read(config_.error_logfile);
  EXPECT_NE(text.find("[" + std::to_string(::getpid()) + "] [INFO] parent\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("[" + std::to_string(child) + "] [INFO] child\n"), std::string::npos) << text;
}

TEST_F(LogTest, FiltersByLevel) {
  config_.log_level = "warning";
  Log::open(config_);
  EXPECT_FALSE(Log::enabled(LogLevel::Info));
  EXPECT_TRUE(Log::enabled(LogLevel::Warning));
  logAt(LogLevel::Info, "not written");
  EXPECT_EQ(read(config_.error_logfile), "");
}

TEST_F(LogTest, HonoursLevelGivenInUpperCase) {
  // Gunicorn users write --log-level ERROR; the command line accepts it in any case.
  std::string level_flag = "--log-level";
  std::string level = "ERROR";
  std::string name = "appserver";
  std::string app = "app";
  char* argv[] = {name.data(), level_flag.data(), level.data(), app.data(), nullptr};
  ASSERT_TRUE(parseCommandLine(4, argv, config_));
  config_.error_logfile = (dir_ / "error.log").string();
  Log::open(config_);
  EXPECT_FALSE(Log::enabled(LogLevel::Warning));
  EXPECT_TRUE(Log::enabled(LogLevel::Error));
}

TEST_F(LogTest, RefusesUnopenableFile) {
  config_.access_logfile = (dir_ / "no-such-dir" / "access.log").string();
  EXPECT_THROW(Log::open(config_), ConfigError);
}

}  // namespace
}  // namespace appserver::server
