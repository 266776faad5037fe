// config_test.cc: parseCommandLine() against Gunicorn's spellings, defaults and refusals.
//
// A Gunicorn command line must work unchanged, so each test writes argv the way a Gunicorn
// user would. --help and --version print to stdout; the tests capture it to keep the output
// clean. WEB_CONCURRENCY is saved and restored around every test.
// Thread: the test's main thread.
#include "config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace appserver::server {
namespace {

// Parses "appserver" followed by args into config.
bool parse(std::vector<std::string> args, Config& config) {
  args.insert(args.begin(), "appserver");
  std::vector<char*> argv;
  for (std::string& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  return parseCommandLine(static_cast<int>(args.size()), argv.data(), config);
}

Config parsed(std::vector<std::string> args) {
  Config config;
  EXPECT_TRUE(parse(std::move(args), config));
  return config;
}

class ConfigTest : public testing::Test {
 protected:
  void SetUp() override {
    if (const char* v = ::getenv("WEB_CONCURRENCY")) {
      saved_ = v;
    }
    ::unsetenv("WEB_CONCURRENCY");
  }
  void TearDown() override {
    if (saved_) {
      ::setenv("WEB_CONCURRENCY", saved_->c_str(), 1);
    } else {
      ::unsetenv("WEB_CONCURRENCY");
    }
  }

 private:
  std::optional<std::string> saved_;
};

TEST_F(ConfigTest, ParsesGunicornServerOptions) {
  const Config c = parsed({"-b",
                           "127.0.0.1:9000",
                           "--bind",
                           "unix:/tmp/app.sock",
                           "-w",
                           "4",
                           "--threads",
                           "8",
                           "--chdir",
                           "/srv/app",
                           "--pythonpath",
                           "lib,src",
                           "-e",
                           "A=1",
                           "--env",
                           "B=x=y",
                           "--keep-alive",
                           "5",
                           "--timeout",
                           "60",
                           "--graceful-timeout",
                           "10",
                           "--backlog",
                           "64",
                           "proj.wsgi:application"});
  EXPECT_EQ(c.app, "proj.wsgi:application");
  EXPECT_EQ(c.binds, (std::vector<std::string>{"127.0.0.1:9000", "unix:/tmp/app.sock"}));
  EXPECT_EQ(c.workers, 4);
  EXPECT_EQ(c.threads, 8);
  EXPECT_EQ(c.chdir, "/srv/app");
  EXPECT_EQ(c.python_path, (std::vector<std::string>{"lib", "src"}));
  EXPECT_EQ(c.env, (std::vector<std::string>{"A=1", "B=x=y"}));
  EXPECT_DOUBLE_EQ(c.keep_alive, 5);
  EXPECT_DOUBLE_EQ(c.timeout, 60);
  EXPECT_DOUBLE_EQ(c.graceful_timeout, 10);
  EXPECT_EQ(c.backlog, 64);
}

TEST_F(ConfigTest, ParsesGunicornProcessOptions) {
  const Config c = parsed({"-D", "-u", "www-data", "-g", "33", "-m", "0o027", "-n", "myproj",
                           "-p", "/run/app.pid", "app"});
  EXPECT_TRUE(c.daemon);
  EXPECT_EQ(c.user, "www-data");
  EXPECT_EQ(c.group, "33");
  EXPECT_EQ(c.umask, 027);
  EXPECT_EQ(c.name, "myproj");
  EXPECT_EQ(c.pidfile, "/run/app.pid");
  EXPECT_FALSE(parsed({"app"}).daemon);
  EXPECT_EQ(parsed({"app"}).umask, 0);  // Gunicorn's default
}

TEST_F(ConfigTest, ReadsUmaskAsPythonAndCWriteIt) {
  for (const char* mask : {"0o22", "0O22", "022", "18", "0x12"}) {
    EXPECT_EQ(parsed({"--umask", mask, "app"}).umask, 022) << mask;
  }
  for (const char* mask : {"0o1000", "-1", "0o8", "umask", "", "0x"}) {
    Config c;
    EXPECT_THROW(parse({"--umask", mask, "app"}, c), ConfigError) << mask;
  }
}

// The three Gunicorn header limits as (request line, fields, field size) after parsing.
std::tuple<int, int, int> limitsFrom(const char* line, const char* fields, const char* size) {
  const Config c = parsed({"--limit-request-line", line, "--limit-request-fields", fields,
                           "--limit-request-field_size", size, "app"});
  return {c.limit_request_line, c.limit_request_fields, c.limit_request_field_size};
}

TEST_F(ConfigTest, ParsesGunicornLimitOptions) {
  EXPECT_EQ(limitsFrom("1000", "50", "4000"), std::make_tuple(1000, 50, 4000));
}

TEST_F(ConfigTest, ReadsZeroLimitsAsTheLargestAllowed) {
  EXPECT_EQ(limitsFrom("0", "0", "0"), std::make_tuple(8190, 32768, 65536));
}

TEST_F(ConfigTest, ParsesGunicornLogOptions) {
  const Config c = parsed({"--access-logfile", "-", "--access-logformat", "%(h)s %(D)s",
                           "--error-logfile", "/var/log/err.log", "--log-level", "debug", "app"});
  EXPECT_EQ(c.access_logfile, "-");
  EXPECT_EQ(c.access_logformat, "%(h)s %(D)s");
  EXPECT_EQ(c.error_logfile, "/var/log/err.log");
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(parsed({"--log-file", "/tmp/e.log", "app"}).error_logfile, "/tmp/e.log");
}

TEST_F(ConfigTest, AcceptsLogLevelInAnyCase) {
  // Gunicorn accepts --log-level DEBUG; log_test checks that Log honours it.
  Config c;
  EXPECT_TRUE(parse({"--log-level", "DEBUG", "app"}, c));
}

TEST_F(ConfigTest, AcceptsAttachedValues) {
  EXPECT_EQ(parsed({"--workers=3", "app"}).workers, 3);
  EXPECT_EQ(parsed({"-w3", "app"}).workers, 3);
  EXPECT_EQ(parsed({"-b127.0.0.1:1", "app"}).binds, std::vector<std::string>{"127.0.0.1:1"});
  EXPECT_DOUBLE_EQ(parsed({"-t", "7", "app"}).timeout, 7);
  EXPECT_DOUBLE_EQ(parsed({"--timeout=7.5", "app"}).timeout, 7.5);
}

TEST_F(ConfigTest, AcceptsTheAppBeforeOptions) {
  const Config c = parsed({"hello:app", "-w", "2"});
  EXPECT_EQ(c.app, "hello:app");
  EXPECT_EQ(c.workers, 2);
}

TEST_F(ConfigTest, AppliesDefaults) {
  const Config c = parsed({"app"});
  EXPECT_EQ(c.binds, std::vector<std::string>{"127.0.0.1:8000"});
  EXPECT_EQ(c.workers, 1);
  EXPECT_EQ(c.threads, 1);
  EXPECT_EQ(c.backlog, 2048);
  EXPECT_DOUBLE_EQ(c.keep_alive, 2);
  EXPECT_DOUBLE_EQ(c.timeout, 30);
  EXPECT_DOUBLE_EQ(c.graceful_timeout, 30);
  EXPECT_EQ(c.limit_request_line, 4094);
  EXPECT_EQ(c.limit_request_fields, 100);
  EXPECT_EQ(c.limit_request_field_size, 8190);
  EXPECT_EQ(c.access_logfile, "");
  EXPECT_EQ(c.access_logformat, R"(%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s")");
  EXPECT_EQ(c.error_logfile, "-");
  EXPECT_EQ(c.log_level, "info");
}

TEST_F(ConfigTest, DoesNotAddTheDefaultBindToExplicitOnes) {
  EXPECT_EQ(parsed({"-b", "unix:/tmp/a", "app"}).binds, std::vector<std::string>{"unix:/tmp/a"});
}

TEST_F(ConfigTest, TakesWorkersFromWebConcurrency) {
  ::setenv("WEB_CONCURRENCY", "5", 1);
  EXPECT_EQ(parsed({"app"}).workers, 5);
  EXPECT_EQ(parsed({"-w", "2", "app"}).workers, 2);  // the command line wins
}

TEST_F(ConfigTest, RefusesNonNumericWebConcurrency) {
  ::setenv("WEB_CONCURRENCY", "many", 1);
  Config c;
  EXPECT_THROW(parse({"app"}, c), ConfigError);
}

TEST_F(ConfigTest, RefusesUnknownOption) {
  Config c;
  EXPECT_THROW(parse({"--no-such-option", "app"}, c), ConfigError);
}

TEST_F(ConfigTest, RefusesBadValues) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"-w", "many", "app"},
           {"-w", "0", "app"},
           {"--threads", "-1", "app"},
           {"--timeout", "soon", "app"},
           {"--log-level", "loud", "app"},
           {"-e", "NOVALUE", "app"},
           {"-e", "=x", "app"},
           {"--limit-request-line", "9000", "app"},
       }) {
    Config c;
    EXPECT_THROW(parse(args, c), ConfigError) << args[0] << " " << args[1];
  }
}

TEST_F(ConfigTest, RefusesMissingApp) {
  Config c;
  EXPECT_THROW(parse({"-w", "2"}, c), ConfigError);
}

TEST_F(ConfigTest, RefusesSecondApp) {
  Config c;
  EXPECT_THROW(parse({"one:app", "two:app"}, c), ConfigError);
}

// CLI11 2.1 looped forever on an empty argument where none was expected while an option
// group existed (found by fuzz_config); ctest's timeout would catch a relapse.
TEST_F(ConfigTest, RefusesAnEmptyArgumentAfterTheApp) {
  Config c;
  EXPECT_THROW(parse({"app:app", "", "-w", "2"}, c), ConfigError);
  EXPECT_THROW(parse({"app:app", "-w", "2", ""}, c), ConfigError);
}

TEST_F(ConfigTest, TakesTheLastOfARepeatedJwtOption) {
  EXPECT_EQ(parsed({"--jwt-issuer", "a", "--jwt-issuer", "b", "app:app"}).jwt.verify.issuer, "b");
}

TEST_F(ConfigTest, ReturnsFalseForHelp) {
  Config c;
  testing::internal::CaptureStdout();
  EXPECT_FALSE(parse({"--help"}, c));
  EXPECT_NE(testing::internal::GetCapturedStdout().find("--workers"), std::string::npos);
}

TEST_F(ConfigTest, ReturnsFalseForVersion) {
  for (const char* flag : {"--version", "-v"}) {
    Config c;
    testing::internal::CaptureStdout();
    EXPECT_FALSE(parse({flag}, c));
    EXPECT_NE(testing::internal::GetCapturedStdout().find("appserver"), std::string::npos);
  }
}

}  // namespace
}  // namespace appserver::server
