// listener_test.cc: bindListeners() for every bind syntax, and its refusals.
//
// TCP tests bind port 0 on loopback and connect to the port the kernel chose; Unix socket
// tests work in a fresh temporary directory. IPv6 tests skip where ::1 cannot be bound.
// Thread: the test's main thread.
#include "listener.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "config.h"

namespace appserver::server {
namespace {

namespace fs = std::filesystem;

constexpr int kBacklog = 16;

size_t openDescriptors() {
  const auto entries = fs::directory_iterator("/proc/self/fd");
  return static_cast<size_t>(std::distance(begin(entries), end(entries)));
}

// True when a client can connect to the address (the listener really listens).
bool connects(const sockaddr* addr, socklen_t len) {
  const int fd = ::socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const bool ok = fd >= 0 && ::connect(fd, addr, len) == 0;
  if (fd >= 0) {
    ::close(fd);
  }
  return ok;
}

bool connectsTcp4(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return connects(reinterpret_cast<sockaddr*>(&a), sizeof(a));
}

bool connectsUnix(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
  return connects(reinterpret_cast<sockaddr*>(&a), sizeof(a));
}

// A listening IPv4 loopback socket of our own on a kernel-chosen port.
int listenTcp4(int& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(fd, 1) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return -1;
  }
  port = ntohs(a.sin_port);
  return fd;
}

// The ConfigError message bindListeners throws for binds, or "" when it does not throw.
std::string bindError(const std::vector<std::string>& binds) {
  try {
    std::vector<Listener> listeners = bindListeners(binds, kBacklog);
    closeListeners(listeners);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

class ListenerUnixTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "listener-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const char* name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

TEST(Listener, BindsPortZeroOnIpv4Loopback) {
  std::vector<Listener> l = bindListeners({"127.0.0.1:0"}, kBacklog);
  ASSERT_EQ(l.size(), 1U);
  EXPECT_GE(l[0].fd, 0);
  EXPECT_EQ(l[0].kind, Listener::Kind::Tcp);
  EXPECT_EQ(l[0].host, "127.0.0.1");
  EXPECT_GT(l[0].port, 0);
  EXPECT_EQ(l[0].name, "http://127.0.0.1:" + std::to_string(l[0].port));
  EXPECT_FALSE(l[0].owns_path);
  EXPECT_TRUE(connectsTcp4(l[0].port));
  closeListeners(l);
  EXPECT_EQ(l[0].fd, -1);
}

TEST(Listener, BindsPortZeroOnIpv6Loopback) {
  const int probe = ::socket(AF_INET6, SOCK_STREAM, 0);
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  const bool available =
      probe >= 0 && ::bind(probe, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  if (probe >= 0) {
    ::close(probe);
  }
  if (!available) {
    GTEST_SKIP() << "no IPv6 loopback here";
  }
  std::vector<Listener> l = bindListeners({"[::1]:0"}, kBacklog);
  ASSERT_EQ(l.size(), 1U);
  EXPECT_EQ(l[0].host, "::1");
  EXPECT_GT(l[0].port, 0);
  EXPECT_EQ(l[0].name, "http://[::1]:" + std::to_string(l[0].port));
  a.sin6_port = htons(static_cast<uint16_t>(l[0].port));
  EXPECT_TRUE(connects(reinterpret_cast<sockaddr*>(&a), sizeof(a)));
  closeListeners(l);
}

TEST(Listener, BindsSeveralAddressesInOrder) {
  std::vector<Listener> l = bindListeners({"127.0.0.1:0", "127.0.0.1:0"}, kBacklog);
  ASSERT_EQ(l.size(), 2U);
  EXPECT_NE(l[0].port, l[1].port);
  EXPECT_TRUE(connectsTcp4(l[0].port));
  EXPECT_TRUE(connectsTcp4(l[1].port));
  closeListeners(l);
}

TEST_F(ListenerUnixTest, BindsUnixSocket) {
  const std::string sock = path("app.sock");
  std::vector<Listener> l = bindListeners({"unix:" + sock}, kBacklog);
  ASSERT_EQ(l.size(), 1U);
  EXPECT_EQ(l[0].kind, Listener::Kind::Unix);
  EXPECT_EQ(l[0].host, sock);
  EXPECT_EQ(l[0].name, "unix:" + sock);
  EXPECT_TRUE(l[0].owns_path);
  EXPECT_TRUE(connectsUnix(sock));
  closeListeners(l, /*remove_files=*/true);
  EXPECT_FALSE(fs::exists(sock));
}

// Linux reports a Unix listener's queue only through sock_diag (listener.cc).
TEST_F(ListenerUnixTest, ReportsTheQueueOfAUnixListener) {
  const std::string sock = path("queue.sock");
  std::vector<Listener> l = bindListeners({"unix:" + sock}, kBacklog);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, sock.c_str(), sizeof(a.sun_path) - 1);
  std::vector<int> clients;
  for (int i = 0; i < 3; ++i) {  // connected, never accepted: they wait in the queue
    clients.push_back(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_EQ(::connect(clients.back(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  }
  const std::optional<ListenQueue> queue = listenQueue(l[0]);
  ASSERT_TRUE(queue.has_value());
  EXPECT_EQ(queue->waiting, 3U);
  EXPECT_EQ(queue->capacity, static_cast<uint32_t>(kBacklog));
  for (int fd : clients) {
    ::close(fd);
  }
  closeListeners(l, /*remove_files=*/true);
}

TEST_F(ListenerUnixTest, KeepsSocketFileUnlessAskedToRemoveIt) {
  const std::string sock = path("kept.sock");
  std::vector<Listener> l = bindListeners({"unix:" + sock}, kBacklog);
  closeListeners(l);
  EXPECT_TRUE(fs::is_socket(sock));
}

TEST_F(ListenerUnixTest, ReplacesStaleSocket) {
  const std::string sock = path("stale.sock");
  {
    // An earlier run that died without removing its socket file.
    std::vector<Listener> old = bindListeners({"unix:" + sock}, kBacklog);
    closeListeners(old);
  }
  ASSERT_TRUE(fs::is_socket(sock));
  std::vector<Listener> l = bindListeners({"unix:" + sock}, kBacklog);
  ASSERT_EQ(l.size(), 1U);
  EXPECT_TRUE(connectsUnix(sock));
  closeListeners(l, true);
}

TEST_F(ListenerUnixTest, RefusesToReplaceARegularFile) {
  const std::string file = path("data.txt");
  std::ofstream(file) << "keep me";
  EXPECT_NE(bindError({"unix:" + file}).find("unix:" + file), std::string::npos);
  EXPECT_TRUE(fs::is_regular_file(file));
}

TEST_F(ListenerUnixTest, RefusesTooLongPath) {
  EXPECT_NE(bindError({"unix:" + path("") + std::string(200, 's')}), "");
  EXPECT_NE(bindError({"unix:"}), "");
}

TEST(Listener, AdoptsInheritedDescriptor) {
  int port = 0;
  const int fd = listenTcp4(port);
  ASSERT_GE(fd, 0);
  std::vector<Listener> l = bindListeners({"fd://" + std::to_string(fd)}, kBacklog);
  ASSERT_EQ(l.size(), 1U);
  EXPECT_EQ(l[0].fd, fd);
  EXPECT_EQ(l[0].kind, Listener::Kind::Tcp);
  EXPECT_EQ(l[0].host, "127.0.0.1");
  EXPECT_EQ(l[0].port, port);
  EXPECT_TRUE(connectsTcp4(port));
  closeListeners(l);
}

TEST(Listener, RefusesDescriptorThatIsNotAStreamSocket) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  EXPECT_NE(bindError({"fd://" + std::to_string(pipe_fds[0])}).find("not a stream socket"),
            std::string::npos);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  EXPECT_NE(bindError({"fd://nine"}).find("fd://nine"), std::string::npos);
  EXPECT_NE(bindError({"fd://999999"}), "");
}

TEST(Listener, RefusesBadPort) {
  for (const char* bind : {"127.0.0.1:65536", "127.0.0.1:http", "127.0.0.1:-1", "[::1]:1x"}) {
    EXPECT_NE(bindError({bind}).find(bind), std::string::npos) << bind;
  }
}

TEST(Listener, RefusesUnclosedIpv6Bracket) {
  EXPECT_NE(bindError({"[::1:8000"}).find("missing ']'"), std::string::npos);
}

TEST(Listener, RefusesPortInUseNamingTheAddress) {
  int port = 0;
  const int fd = listenTcp4(port);
  ASSERT_GE(fd, 0);
  const std::string bind = "127.0.0.1:" + std::to_string(port);
  const std::string error = bindError({bind});
  EXPECT_NE(error.find("cannot bind " + bind), std::string::npos) << error;
  EXPECT_NE(error.find(std::strerror(EADDRINUSE)), std::string::npos) << error;
  ::close(fd);
}

TEST(Listener, ClosesEarlierListenersWhenALaterBindFails) {
  const size_t before = openDescriptors();
  EXPECT_NE(bindError({"127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:99999"}), "");
  EXPECT_EQ(openDescriptors(), before);
}

}  // namespace
}  // namespace appserver::server
