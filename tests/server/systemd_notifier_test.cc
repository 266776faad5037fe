// systemd_notifier_test.cc: SystemdNotifier sends each message as one datagram to
// $NOTIFY_SOCKET, a path or an abstract '@' name, and stays silent without one.
// Thread: the test's main thread.
#include "systemd_notifier.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <string>

#include "config.h"

namespace appserver::server {
namespace {

// A bound datagram socket standing in for systemd's; name starts with '@' for abstract.
class FakeSystemd {
 public:
  explicit FakeSystemd(const std::string& name) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, name.data(), name.size());
    if (name.front() == '@') {
      a.sun_path[0] = '\0';
    }
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), len), 0) << std::strerror(errno);
    ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
  }
  ~FakeSystemd() {
    ::close(fd_);
    ::unsetenv("NOTIFY_SOCKET");
  }
  std::string next() {
    char buf[256];
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
    return n >= 0 ? std::string(buf, static_cast<size_t>(n)) : "<none>";
  }

 private:
  int fd_;
};

TEST(SystemdNotifier, SendsToAnAbstractName) {
  FakeSystemd systemd("@appserver-notify-test-" + std::to_string(::getpid()));
  const SystemdNotifier notifier;
  EXPECT_TRUE(notifier.enabled());
  EXPECT_TRUE(notifier.notify("READY=1\nSTATUS=2 workers serving"));
  EXPECT_TRUE(notifier.notify("STOPPING=1"));
  EXPECT_EQ(systemd.next(), "READY=1\nSTATUS=2 workers serving");
  EXPECT_EQ(systemd.next(), "STOPPING=1");
  EXPECT_EQ(systemd.next(), "<none>");
}

TEST(SystemdNotifier, SendsToAPath) {
  const std::string path = "/tmp/appserver-notify-test-" + std::to_string(::getpid());
  ::unlink(path.c_str());
  {
    FakeSystemd systemd(path);
    EXPECT_TRUE(SystemdNotifier().notify("READY=1"));
    EXPECT_EQ(systemd.next(), "READY=1");
  }
  ::unlink(path.c_str());
}

TEST(SystemdNotifier, IsSilentWithoutNotifySocket) {
  ::unsetenv("NOTIFY_SOCKET");
  const SystemdNotifier notifier;
  EXPECT_FALSE(notifier.enabled());
  EXPECT_TRUE(notifier.notify("READY=1"));
}

TEST(SystemdNotifier, ReportsASocketNobodyListensOn) {
  ::setenv("NOTIFY_SOCKET", "@appserver-notify-test-nobody-listens", 1);
  EXPECT_FALSE(SystemdNotifier().notify("READY=1"));
  ::unsetenv("NOTIFY_SOCKET");
}

TEST(SystemdNotifier, RefusesARelativeOrLongAddress) {
  for (const std::string& value : {std::string("run/notify"), "/" + std::string(200, 'x')}) {
    ::setenv("NOTIFY_SOCKET", value.c_str(), 1);
    EXPECT_THROW(SystemdNotifier(), ConfigError) << value;
  }
  ::unsetenv("NOTIFY_SOCKET");
}

}  // namespace
}  // namespace appserver::server
