// listener.h: the listening sockets, bound by the master before any worker is forked.
//
// Workers inherit the descriptors across fork() and adopt them into their own loops.
// Thread: the master (binding); workers read the fields and ask listenQueue().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace appserver::server {

struct Listener {
  enum class Kind { Tcp, Unix };
  int fd = -1;
  Kind kind = Kind::Tcp;
  std::string name;  // for logs: "http://127.0.0.1:8000", "unix:/run/app.sock"
  std::string host;  // the bound address, SERVER_NAME when a request has no Host
  int port = 0;
  bool owns_path = false;  // a Unix socket file this process created (removed at exit)
};

// Binds every address (HOST:PORT, [IPV6]:PORT, HOST, unix:PATH, fd://N) and listens.
// Throws ConfigError naming the address and the reason when one cannot be bound.
std::vector<Listener> bindListeners(const std::vector<std::string>& binds, int backlog);

// Adopts a descriptor inherited from systemd or from the master this one succeeds: it must
// already be a listening TCP or Unix stream socket. Marks it close-on-exec. Throws
// ConfigError naming origin (say "LISTEN_FDS") and the descriptor when it is not.
Listener adoptListeningSocket(int fd, const std::string& origin);

// A listener's accept queue as the kernel reports it (TCP_INFO, or sock_diag for a Unix
// socket): clients connected and not yet accepted, and the longest queue it keeps
// (--backlog, capped by somaxconn).
struct ListenQueue {
  uint32_t waiting = 0;
  uint32_t capacity = 0;
};
// nullopt when the query fails (a kernel without unix_diag, for a Unix socket).
std::optional<ListenQueue> listenQueue(const Listener& listener);

// Closes every listener's descriptor; with remove_files, also deletes the Unix socket files
// this process created.
void closeListeners(std::vector<Listener>& listeners, bool remove_files = false);

}  // namespace appserver::server
