// metrics_endpoint.cc: accepting scrapes, reading a head, answering, closing.
//
// Thread: the master's only thread.
#include "metrics_endpoint.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "ascii.h"
#include "config.h"
#include "http_response.h"
#include "metrics_text.h"

namespace appserver::server {

namespace {

constexpr int kBacklog = 16;
constexpr std::string_view kPath = "/metrics";

// The next CRLF-terminated line of text, removed from it; false when none is left.
bool takeLine(std::string_view& text, std::string_view& line) {
  const size_t end = text.find("\r\n");
  if (end == std::string_view::npos) {
    return false;
  }
  line = text.substr(0, end);
  text.remove_prefix(end + 2);
  return true;
}

// Checks the header lines; counts Host fields and notes whether a body is announced.
bool checkFields(std::string_view fields, int& hosts, bool& body) {
  std::string_view line;
  while (takeLine(fields, line) && !line.empty()) {
    const size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos ||
        !std::all_of(line.begin(), line.begin() + static_cast<long>(colon), isTokenChar)) {
      return false;  // no name, whitespace before the colon, or a folded line
    }
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trimBlanks(line.substr(colon + 1));
    hosts += equalsIgnoringCase(name, "host") ? 1 : 0;
    body = body || equalsIgnoringCase(name, "transfer-encoding") ||
           (equalsIgnoringCase(name, "content-length") && value != "0");
  }
  return true;
}

}  // namespace

Listener MetricsEndpoint::bind(const std::string& address) {
  if (address.starts_with("unix:") || address.starts_with("fd://")) {
    throw ConfigError("--metrics-bind " + address + ": expected HOST:PORT");
  }
  std::vector<Listener> bound = bindListeners({address}, kBacklog);
  ::fcntl(bound[0].fd, F_SETFL, ::fcntl(bound[0].fd, F_GETFL) | O_NONBLOCK);
  return bound[0];
}

MetricsEndpoint::MetricsEndpoint(Listener listener, Render render)
    : listener_(std::move(listener)), render_(std::move(render)) {}

MetricsEndpoint::~MetricsEndpoint() { closeInChild(); }

void MetricsEndpoint::closeInChild() {
  for (const Client& c : clients_) {
    ::close(c.fd);
  }
  clients_.clear();
  if (listener_.fd >= 0) {
    ::close(listener_.fd);
    listener_.fd = -1;
  }
}

void MetricsEndpoint::addPollFds(std::vector<pollfd>& fds) const {
  if (clients_.size() < kMaxClients) {
    fds.push_back({listener_.fd, POLLIN, 0});  // at the cap, new scrapes wait in the queue
  }
  for (const Client& c : clients_) {
    fds.push_back({c.fd, static_cast<short>(c.out.empty() ? POLLIN : POLLOUT), 0});
  }
}

void MetricsEndpoint::handle(std::span<const pollfd> fds, Clock::time_point now) {
  for (const pollfd& p : fds) {
    if (p.revents == 0) {
      continue;
    }
    if (p.fd == listener_.fd) {
      acceptClients(now);
      continue;
    }
    const auto client = std::find_if(clients_.begin(), clients_.end(),
                                     [&](const Client& c) { return c.fd == p.fd; });
    if (client != clients_.end() && !progress(*client)) {
      ::close(client->fd);
      clients_.erase(client);
    }
  }
  std::erase_if(clients_, [&](const Client& c) {
    const bool late = now >= c.deadline;
    if (late) {
      ::close(c.fd);  // a scraper that does not send or does not read
    }
    return late;
  });
}

void MetricsEndpoint::acceptClients(Clock::time_point now) {
  while (clients_.size() < kMaxClients) {
    const int fd = ::accept4(listener_.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      return;  // EAGAIN, or a client that gave up while queued: nothing to do either way
    }
    clients_.push_back(Client{fd, now + kTimeout, {}, {}, 0});
  }
}

bool MetricsEndpoint::progress(Client& client) {
  char buf[1024];
  while (client.out.empty()) {
    const ssize_t n = ::recv(client.fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && errno == EAGAIN) {
      return true;  // poll() says when more arrives
    }
    if (n <= 0) {
      return false;  // gone before its request was complete
    }
    client.in.append(buf, static_cast<size_t>(n));
    if (const size_t end = client.in.find("\r\n\r\n"); end != std::string::npos) {
      client.out = answer(std::string_view(client.in).substr(0, end + 4), render_);
    } else if (client.in.size() >= kMaxHead) {
      client.out = simpleResponse(431, /*close=*/true);
    }
  }
  while (client.sent < client.out.size()) {
    const ssize_t n = ::send(client.fd, client.out.data() + client.sent,
                             client.out.size() - client.sent, MSG_NOSIGNAL);
    if (n < 0) {
      return errno == EAGAIN || errno == EINTR;  // EAGAIN: poll() says when there is room
    }
    client.sent += static_cast<size_t>(n);
  }
  return false;  // all sent: one request per connection
}

std::string MetricsEndpoint::answer(std::string_view head, const Render& render) {
  std::string_view request_line;
  takeLine(head, request_line);
  const size_t first = request_line.find(' ');
  const size_t second = first == std::string_view::npos ? first : request_line.find(' ', first + 1);
  if (second == std::string_view::npos) {
    return simpleResponse(400, /*close=*/true);
  }
  const std::string_view method = request_line.substr(0, first);
  const std::string_view target = request_line.substr(first + 1, second - first - 1);
  const std::string_view version = request_line.substr(second + 1);
  int hosts = 0;
  bool body = false;
  if (method.empty() || !std::all_of(method.begin(), method.end(), isTokenChar) ||
      !target.starts_with('/') ||
      std::any_of(target.begin(), target.end(), [](char c) { return c <= ' ' || c == 0x7f; }) ||
      (version != "HTTP/1.1" && version != "HTTP/1.0") || !checkFields(head, hosts, body) ||
      hosts > 1 || (hosts == 0 && version == "HTTP/1.1") || body) {
    return simpleResponse(400, /*close=*/true);
  }
  if (target.substr(0, target.find('?')) != kPath) {
    return simpleResponse(404, /*close=*/true);
  }
  if (method != "GET" && method != "HEAD") {
    return serverResponse(405, "text/plain; charset=utf-8", "405 Method Not Allowed\n",
                          {{"Allow", "GET, HEAD"}}, /*close=*/true);
  }
  std::string response = serverResponse(200, MetricsText::kContentType, render(),
                                         {{"Cache-Control", "no-store"}}, /*close=*/true);
  if (method == "HEAD") {
    response.resize(response.find("\r\n\r\n") + 4);
  }
  return response;
}

}  // namespace appserver::server
