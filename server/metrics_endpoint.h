// metrics_endpoint.h: the master's HTTP listener for Prometheus scrapes (--metrics-bind).
//
// The master's loop is plain POSIX (master.cc): it adds this endpoint's descriptors to its
// poll() set and hands back what poll() reported. Everything here is non-blocking and
// bounded, so a scraper can never stall the master's supervision of its workers: at most
// kMaxClients scrapes at once (more wait in the listen queue), a request head of at most
// kMaxHead bytes, kTimeout for a whole exchange (checked whenever the master wakes, which
// is at least once a second), one request per connection (answered with Connection:
// close). GET and HEAD /metrics get the page; other targets 404, other methods 405,
// anything malformed 400, a head that is too long 431.
// Thread: the master's only thread.
#pragma once

#include <poll.h>

#include <chrono>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "listener.h"

namespace appserver::server {

class MetricsEndpoint {
 public:
  using Clock = std::chrono::steady_clock;
  using Render = std::function<std::string()>;  // the page, made when a scrape asks for it

  static constexpr size_t kMaxClients = 4;
  static constexpr size_t kMaxHead = 4096;
  static constexpr auto kTimeout = std::chrono::seconds(5);

  // Binds address (HOST:PORT or [IPV6]:PORT). Throws ConfigError naming it when it cannot.
  static Listener bind(const std::string& address);

  // Takes over listener (bound by bind()).
  MetricsEndpoint(Listener listener, Render render);
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  // Appends the descriptors to watch and their events.
  void addPollFds(std::vector<pollfd>& fds) const;
  // Serves what poll() reported (entries of other descriptors are skipped) and ends
  // exchanges older than kTimeout.
  void handle(std::span<const pollfd> fds, Clock::time_point now);
  // In a forked worker: closes every descriptor, so the child holds no scrape open.
  void closeInChild();

  // The answer to one request head (the bytes up to and including the blank line), a
  // complete HTTP/1.1 response. Exposed for tests.
  static std::string answer(std::string_view head, const Render& render);

 private:
  struct Client {
    int fd;
    Clock::time_point deadline;
    std::string in;   // the request head so far
    std::string out;  // the response; empty while reading
    size_t sent = 0;
  };

  void acceptClients(Clock::time_point now);
  // Reads or writes what the socket allows; false when the exchange is over.
  bool progress(Client& client);

  Listener listener_;
  Render render_;
  std::vector<Client> clients_;
};

}  // namespace appserver::server
