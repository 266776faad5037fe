// systemd_notifier.cc: one datagram per message.
//
// Thread: the master's only thread.
#include "systemd_notifier.h"

#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

#include "config.h"

namespace appserver::server {

SystemdNotifier::SystemdNotifier() {
  const char* value = std::getenv("NOTIFY_SOCKET");
  if (value == nullptr || *value == '\0') {
    return;
  }
  const std::string name = value;
  if ((name.front() != '/' && name.front() != '@') || name.size() >= sizeof(address_.sun_path)) {
    throw ConfigError("NOTIFY_SOCKET=" + name + ": expected an absolute path or @name");
  }
  address_.sun_family = AF_UNIX;
  std::memcpy(address_.sun_path, name.data(), name.size());
  if (name.front() == '@') {
    address_.sun_path[0] = '\0';  // an abstract name: no NUL at its end, the length bounds it
  }
  length_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() +
                                   (name.front() == '/' ? 1 : 0));
}

bool SystemdNotifier::notify(std::string_view state) const {
  if (!enabled()) {
    return true;
  }
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return false;
  }
  const ssize_t sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                                reinterpret_cast<const sockaddr*>(&address_), length_);
  ::close(fd);
  return sent == static_cast<ssize_t>(state.size());
}

}  // namespace appserver::server
