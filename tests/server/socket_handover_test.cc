// socket_handover_test.cc: takeInheritedListeners() reading APPSERVER_FD (from an old
// master) and LISTEN_FDS (from systemd): what it adopts, what it refuses, and that it clears
// the variables. Descriptors are the test's own sockets; systemd's fixed numbers (3, 4, ...)
// are covered end to end by tests/integration/test_systemd.py.
// Thread: the test's main thread.
#include "socket_handover.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "config.h"

namespace appserver::server {
namespace {

constexpr const char* kVariables[] = {"APPSERVER_FD", "APPSERVER_PID", "LISTEN_FDS",
                                      "LISTEN_PID", "LISTEN_FDNAMES"};

class SocketHandoverTest : public testing::Test {
 protected:
  void TearDown() override {
    for (const char* name : kVariables) {
      ::unsetenv(name);
    }
    for (int fd : fds_) {
      ::close(fd);
    }
  }

  // A loopback TCP socket on port 0; listening unless told otherwise.
  int tcpSocket(bool listening = true) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    if (listening) {
      EXPECT_EQ(::listen(fd, 8), 0);
    }
    fds_.push_back(fd);
    return fd;
  }

  int unixSocket(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
    ::unlink(path.c_str());
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    EXPECT_EQ(::listen(fd, 8), 0);
    fds_.push_back(fd);
    return fd;
  }

  std::string takeError(const std::vector<std::string>& binds = {}) {
    try {
      takeInheritedListeners(binds);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  }

  std::vector<int> fds_;
};

TEST_F(SocketHandoverTest, AdoptsTheOldMastersSockets) {
  const int tcp = tcpSocket();
  const std::string path = "/tmp/appserver-handover-" + std::to_string(::getpid()) + ".sock";
  const int unix_fd = unixSocket(path);
  ::setenv("APPSERVER_FD", (std::to_string(tcp) + "," + std::to_string(unix_fd)).c_str(), 1);
  ::setenv("APPSERVER_PID", std::to_string(::getppid()).c_str(), 1);
  const InheritedListeners got = takeInheritedListeners({"unix:" + path});
  EXPECT_EQ(got.source, InheritedListeners::Source::Predecessor);
  EXPECT_EQ(got.predecessor, ::getppid());
  ASSERT_EQ(got.listeners.size(), 2U);
  EXPECT_EQ(got.listeners[0].fd, tcp);
  EXPECT_EQ(got.listeners[0].host, "127.0.0.1");
  EXPECT_EQ(got.listeners[1].kind, Listener::Kind::Unix);
  EXPECT_TRUE(got.listeners[1].owns_path);  // a --bind of this master: removed at its exit
  for (const char* name : kVariables) {
    EXPECT_EQ(::getenv(name), nullptr) << name;
  }
  ::unlink(path.c_str());
}

TEST_F(SocketHandoverTest, ASocketNotInBindIsNotOwned) {
  const std::string path = "/tmp/appserver-handover-" + std::to_string(::getpid()) + ".sock";
  ::setenv("APPSERVER_FD", std::to_string(unixSocket(path)).c_str(), 1);
  EXPECT_FALSE(takeInheritedListeners({"127.0.0.1:8000"}).listeners.at(0).owns_path);
  ::unlink(path.c_str());
}

TEST_F(SocketHandoverTest, AnOldMasterThatIsNotTheParentIsNoPredecessor) {
  ::setenv("APPSERVER_FD", std::to_string(tcpSocket()).c_str(), 1);
  ::setenv("APPSERVER_PID", "1", 1);
  const InheritedListeners got = takeInheritedListeners({});
  EXPECT_EQ(got.source, InheritedListeners::Source::Predecessor);
  EXPECT_EQ(got.predecessor, 0);
}

TEST_F(SocketHandoverTest, RefusesWhatIsNotAListeningStreamSocket) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  fds_.insert(fds_.end(), {pipe_fds[0], pipe_fds[1]});
  ::setenv("APPSERVER_FD", std::to_string(pipe_fds[0]).c_str(), 1);
  EXPECT_NE(takeError().find("is not a stream socket"), std::string::npos);
  ::setenv("APPSERVER_FD", std::to_string(tcpSocket(/*listening=*/false)).c_str(), 1);
  EXPECT_NE(takeError().find("is not listening"), std::string::npos);
  for (const char* list : {"3,x", ",", "-1", "99999999999"}) {
    ::setenv("APPSERVER_FD", list, 1);
    EXPECT_NE(takeError(), "") << '"' << list << '"';
  }
}

TEST_F(SocketHandoverTest, IgnoresAndClearsSystemdVariablesForAnotherProcess) {
  ::setenv("LISTEN_FDS", "2", 1);
  ::setenv("LISTEN_PID", std::to_string(::getpid() + 1).c_str(), 1);
  ::setenv("LISTEN_FDNAMES", "web:local", 1);
  const InheritedListeners got = takeInheritedListeners({});
  EXPECT_EQ(got.source, InheritedListeners::Source::None);
  EXPECT_TRUE(got.listeners.empty());
  EXPECT_EQ(::getenv("LISTEN_FDS"), nullptr);
  EXPECT_EQ(::getenv("LISTEN_FDNAMES"), nullptr);
}

TEST_F(SocketHandoverTest, RefusesAMalformedListenFds) {
  ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
  ::setenv("LISTEN_FDS", "many", 1);
  EXPECT_NE(takeError().find("LISTEN_FDS=many"), std::string::npos);
}

TEST_F(SocketHandoverTest, NothingInheritedWithoutVariables) {
  EXPECT_EQ(takeInheritedListeners({}).source, InheritedListeners::Source::None);
}

// LaunchContext::capture for argv[0] = arg0.
LaunchContext captureWith(const char* arg0) {
  std::string first = arg0;
  char arg1[] = "--workers";
  char arg2[] = "2";
  char* argv[] = {first.data(), arg1, arg2, nullptr};
  return LaunchContext::capture(3, argv);
}

TEST(LaunchContext, CapturesArgvDirectoryAndEnvironment) {
  ::setenv("APPSERVER_TEST_LAUNCH", "yes", 1);
  const LaunchContext c = captureWith("/opt/app/current/bin/appserver");
  ::unsetenv("APPSERVER_TEST_LAUNCH");
  EXPECT_EQ(c.argv, (std::vector<std::string>{"/opt/app/current/bin/appserver", "--workers",
                                              "2"}));
  char cwd[4096];
  EXPECT_EQ(c.directory, ::getcwd(cwd, sizeof(cwd)));
  EXPECT_NE(std::find(c.environment.begin(), c.environment.end(), "APPSERVER_TEST_LAUNCH=yes"),
            c.environment.end());
}

TEST(LaunchContext, KeepsTheBinaryPathAsInvoked) {
  // Symlinks stay unresolved: a "current" link switched to a new release is followed.
  EXPECT_EQ(captureWith("/opt/app/current/bin/appserver").executable,
            "/opt/app/current/bin/appserver");
  char cwd[4096];
  EXPECT_EQ(captureWith("build/appserver").executable,
            std::string(::getcwd(cwd, sizeof(cwd))) + "/build/appserver");
  const char* path = ::getenv("PATH");
  const std::string saved = path != nullptr ? path : "";
  ::setenv("PATH", "/nonexistent:/bin", 1);
  EXPECT_EQ(captureWith("sh").executable, "/bin/sh");  // found on $PATH
  ::setenv("PATH", "/nonexistent", 1);
  EXPECT_TRUE(captureWith("no-such-binary").executable.ends_with("appserver_server_tests"));
  ::setenv("PATH", saved.c_str(), 1);
}

}  // namespace
}  // namespace appserver::server
