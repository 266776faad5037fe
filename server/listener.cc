// listener.cc: parsing Gunicorn-style bind addresses and binding them.
//
// Thread: binding in the master, before any fork; listenQueue() in any process.
#include "listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "config.h"
#include "unique_fd.h"

namespace appserver::server {

namespace {

constexpr int kDefaultPort = 8000;

[[noreturn]] void fail(const std::string& bind, const std::string& why) {
  throw ConfigError("cannot bind " + bind + ": " + why);
}

// Fills in name/host/port from what the socket is actually bound to (port 0 becomes real).
void describe(Listener& l) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  ::getsockname(l.fd, reinterpret_cast<sockaddr*>(&ss), &len);
  char text[INET6_ADDRSTRLEN] = "";
  if (ss.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    l.port = ntohs(in->sin_port);
    l.host = text;
    l.name = "http://" + l.host + ":" + std::to_string(l.port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
    l.port = ntohs(in6->sin6_port);
    l.host = text;
    l.name = "http://[" + l.host + "]:" + std::to_string(l.port);
  } else if (ss.ss_family == AF_UNIX) {
    l.kind = Listener::Kind::Unix;
    l.host = reinterpret_cast<const sockaddr_un*>(&ss)->sun_path;
    l.name = "unix:" + l.host;
  }
}

Listener bindUnix(const std::string& bind, const std::string& path, int backlog) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    fail(bind, "socket path is empty or too long");
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
    ::unlink(path.c_str());  // a stale socket from an earlier run
  }
  Listener l;
  l.fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (l.fd < 0 || ::bind(l.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(l.fd, backlog) != 0) {
    const std::string why = std::strerror(errno);
    if (l.fd >= 0) {
      ::close(l.fd);
    }
    fail(bind, why);
  }
  describe(l);
  l.owns_path = true;
  return l;
}

Listener adoptFd(const std::string& bind, const std::string& number) {
  Listener l;
  try {
    l.fd = std::stoi(number);
  } catch (const std::exception&) {
    fail(bind, "not a descriptor number");
  }
  int type = 0;
  socklen_t len = sizeof(type);
  if (::getsockopt(l.fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) {
    fail(bind, "not a stream socket");
  }
  describe(l);
  return l;
}

// Splits "host:port", "[v6]:port" or "host" (port 8000, as Gunicorn).
void splitHostPort(const std::string& bind, std::string& host, std::string& port) {
  if (!bind.empty() && bind.front() == '[') {
    const size_t close = bind.find(']');
    if (close == std::string::npos) {
      fail(bind, "missing ']'");
    }
    host = bind.substr(1, close - 1);
    port = close + 1 < bind.size() && bind[close + 1] == ':' ? bind.substr(close + 2) : "";
  } else {
    const size_t colon = bind.rfind(':');
    host = colon == std::string::npos ? bind : bind.substr(0, colon);
    port = colon == std::string::npos ? "" : bind.substr(colon + 1);
  }
  if (port.empty()) {
    port = std::to_string(kDefaultPort);
  }
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 ||
      std::stoi(port) > 65535) {
    fail(bind, "invalid port '" + port + "'");
  }
}

Listener bindTcp(const std::string& bind, int backlog) {
  std::string host;
  std::string port;
  splitHostPort(bind, host, port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int rc =
          ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &found);
      rc != 0) {
    fail(bind, ::gai_strerror(rc));
  }
  const addrinfo* ai = found;
  Listener l;
  l.fd = ::socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  if (l.fd >= 0) {
    ::setsockopt(l.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ai->ai_family == AF_INET6) {
      ::setsockopt(l.fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
  }
  const bool ok =
      l.fd >= 0 && ::bind(l.fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(l.fd, backlog) == 0;
  const std::string why = ok ? "" : std::strerror(errno);
  ::freeaddrinfo(found);
  if (!ok) {
    if (l.fd >= 0) {
      ::close(l.fd);
    }
    fail(bind, why);
  }
  describe(l);
  return l;
}

// A Unix listener's queue: Linux reports it only through sock_diag, as the pending
// connections and the backlog (UNIX_DIAG_RQLEN) of the socket with this inode. The netlink
// socket is made per query: a shared one could hand one process another's answer after a
// fork, and queries are rare (accept_balance.h, a metrics scrape).
std::optional<ListenQueue> unixListenQueue(int fd) {
  struct stat st {};
  const UniqueFd diag(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (::fstat(fd, &st) != 0 || !diag) {
    return std::nullopt;
  }
  struct {
    nlmsghdr header;
    unix_diag_req body;
  } request{};
  request.header.nlmsg_len = sizeof(request);
  request.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  request.header.nlmsg_flags = NLM_F_REQUEST;
  request.body.sdiag_family = AF_UNIX;
  request.body.udiag_states = 1U << TCP_LISTEN;
  request.body.udiag_ino = static_cast<uint32_t>(st.st_ino);
  request.body.udiag_show = UDIAG_SHOW_RQLEN;
  request.body.udiag_cookie[0] = request.body.udiag_cookie[1] = ~0U;  // INET_DIAG_NOCOOKIE
  alignas(nlmsghdr) char reply[512];
  if (::send(diag.get(), &request, sizeof(request), 0) != static_cast<ssize_t>(sizeof(request))) {
    return std::nullopt;
  }
  // The kernel answers within send(): a reply that is not there yet is not waited for.
  const ssize_t got = ::recv(diag.get(), reply, sizeof(reply), MSG_DONTWAIT);
  const auto* header = reinterpret_cast<const nlmsghdr*>(reply);
  if (got < 0 || !NLMSG_OK(header, static_cast<size_t>(got)) ||
      header->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
      header->nlmsg_len < NLMSG_LENGTH(sizeof(unix_diag_msg))) {
    return std::nullopt;  // NLMSG_ERROR: no such socket, or no unix_diag in this kernel
  }
  const auto* message = static_cast<const unix_diag_msg*>(NLMSG_DATA(header));
  int left = static_cast<int>(header->nlmsg_len - NLMSG_LENGTH(sizeof(*message)));
  for (auto* attr = reinterpret_cast<const rtattr*>(message + 1); RTA_OK(attr, left);
       attr = RTA_NEXT(attr, left)) {
    if (attr->rta_type == UNIX_DIAG_RQLEN && RTA_PAYLOAD(attr) >= sizeof(unix_diag_rqlen)) {
      const auto* queue = static_cast<const unix_diag_rqlen*>(RTA_DATA(attr));
      return ListenQueue{queue->udiag_rqueue, queue->udiag_wqueue};
    }
  }
  return std::nullopt;
}

}  // namespace

Listener adoptListeningSocket(int fd, const std::string& origin) {
  const std::string what = origin + ": descriptor " + std::to_string(fd);
  int type = 0;
  int domain = 0;
  int listening = 0;
  socklen_t len = sizeof(int);
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) {
    throw ConfigError(what + " is not a stream socket");
  }
  len = sizeof(int);
  ::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len);
  if (domain != AF_INET && domain != AF_INET6 && domain != AF_UNIX) {
    throw ConfigError(what + " is neither a TCP nor a Unix socket");
  }
  len = sizeof(int);
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening == 0) {
    throw ConfigError(what + " is not listening");
  }
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);  // the app's subprocesses must not hold it open
  Listener l;
  l.fd = fd;
  describe(l);
  return l;
}

std::vector<Listener> bindListeners(const std::vector<std::string>& binds, int backlog) {
  std::vector<Listener> out;
  try {
    for (const std::string& bind : binds) {
      if (bind.starts_with("unix:")) {
        out.push_back(bindUnix(bind, bind.substr(5), backlog));
      } else if (bind.starts_with("fd://")) {
        out.push_back(adoptFd(bind, bind.substr(5)));
      } else {
        out.push_back(bindTcp(bind, backlog));
      }
    }
  } catch (...) {
    closeListeners(out);
    throw;
  }
  return out;
}

std::optional<ListenQueue> listenQueue(const Listener& listener) {
  if (listener.kind == Listener::Kind::Unix) {
    return unixListenQueue(listener.fd);
  }
  tcp_info info{};
  socklen_t len = sizeof(info);
  if (::getsockopt(listener.fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) {
    return std::nullopt;
  }
  // For a listening socket Linux reports the queue in these two fields.
  return ListenQueue{info.tcpi_unacked, info.tcpi_sacked};
}

void closeListeners(std::vector<Listener>& listeners, bool remove_files) {
  for (Listener& l : listeners) {
    if (remove_files && l.owns_path) {
      ::unlink(l.host.c_str());
    }
    if (l.fd >= 0) {
      ::close(l.fd);
      l.fd = -1;
    }
  }
}

}  // namespace appserver::server
