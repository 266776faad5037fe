// systemd_notifier.h: readiness and status messages to systemd (sd_notify's protocol).
//
// A service of Type=notify gets $NOTIFY_SOCKET, an AF_UNIX datagram socket (a path, or an
// abstract name written with a leading '@'); each message is one datagram of
// newline-separated VARIABLE=value lines: READY=1 once the workers accept, RELOADING=1
// while HUP replaces them, STOPPING=1 on shutdown, MAINPID=N when a new master takes over
// after USR2. No libsystemd: the protocol is one sendto(). Without $NOTIFY_SOCKET every
// message is dropped silently, so the master calls notify() unconditionally.
// Thread: the master's only thread.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <string_view>

namespace appserver::server {

class SystemdNotifier {
 public:
  // Reads $NOTIFY_SOCKET. Throws ConfigError when it is set but is no usable address.
  SystemdNotifier();

  // Whether $NOTIFY_SOCKET was set.
  bool enabled() const { return length_ > 0; }

  // Sends state ("READY=1\nSTATUS=...") as one datagram. Returns false when it could not
  // be sent (systemd gone, socket full); true when sent or when not enabled.
  bool notify(std::string_view state) const;

 private:
  sockaddr_un address_{};
  socklen_t length_ = 0;
};

}  // namespace appserver::server
