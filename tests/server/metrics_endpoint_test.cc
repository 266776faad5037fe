// metrics_endpoint_test.cc: the master's scrape listener: its answers to good and bad
// request heads, and a real socket served through poll() as the master does, with the
// limits that keep a scraper from stalling the master (cap, head size, timeout).
// Thread: the test's main thread.
#include "metrics_endpoint.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "config.h"

namespace appserver::server {
namespace {

constexpr std::string_view kPage = "# TYPE up gauge\nup 1\n";

std::string answerTo(std::string_view head) {
  return MetricsEndpoint::answer(head, [] { return std::string(kPage); });
}

std::string statusLine(const std::string& response) {
  return response.substr(0, response.find("\r\n"));
}

TEST(MetricsEndpoint, AnswersGetMetricsWithThePage) {
  const std::string r = answerTo("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n");
  EXPECT_EQ(statusLine(r), "HTTP/1.1 200 OK");
  EXPECT_NE(r.find("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
            std::string::npos);
  EXPECT_NE(r.find("\r\nContent-Length: " + std::to_string(kPage.size()) + "\r\n"),
            std::string::npos);
  EXPECT_NE(r.find("\r\nConnection: close\r\n"), std::string::npos);
  EXPECT_TRUE(r.ends_with(std::string("\r\n\r\n") + std::string(kPage)));
}

TEST(MetricsEndpoint, AnswersHeadWithoutABody) {
  const std::string r = answerTo("HEAD /metrics HTTP/1.0\r\n\r\n");
  EXPECT_EQ(statusLine(r), "HTTP/1.1 200 OK");
  EXPECT_NE(r.find("Content-Length: " + std::to_string(kPage.size())), std::string::npos);
  EXPECT_TRUE(r.ends_with("\r\n\r\n"));
}

TEST(MetricsEndpoint, IgnoresAQueryString) {
  EXPECT_EQ(statusLine(answerTo("GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n")),
            "HTTP/1.1 200 OK");
}

TEST(MetricsEndpoint, RefusesOtherTargetsAndMethods) {
  EXPECT_EQ(statusLine(answerTo("GET / HTTP/1.1\r\nHost: x\r\n\r\n")), "HTTP/1.1 404 Not Found");
  EXPECT_EQ(statusLine(answerTo("GET /metricsx HTTP/1.1\r\nHost: x\r\n\r\n")),
            "HTTP/1.1 404 Not Found");
  const std::string post = answerTo("POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(statusLine(post), "HTTP/1.1 405 Method Not Allowed");
  EXPECT_NE(post.find("\r\nAllow: GET, HEAD\r\n"), std::string::npos);
}

TEST(MetricsEndpoint, RefusesMalformedHeads) {
  for (const char* head : {
           "GET /metrics\r\n\r\n",                                   // no version
           "GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n",              // two spaces
           "GET /metrics HTTP/1.1\r\n\r\n",                          // 1.1 without Host
           "GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",    // two Hosts
           "GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n",               // not HTTP/1
           "GET metrics HTTP/1.1\r\nHost: x\r\n\r\n",                // not origin-form
           "G(T /metrics HTTP/1.1\r\nHost: x\r\n\r\n",               // not a token
           "GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n",              // space before colon
           "GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",    // obsolete folding
           "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n",  // a body
           "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
           "GET /met\x01rics HTTP/1.1\r\nHost: x\r\n\r\n",          // a control byte
       }) {
    EXPECT_EQ(statusLine(answerTo(head)), "HTTP/1.1 400 Bad Request") << head;
  }
}

// An endpoint on a loopback port, served the way the master's loop serves it.
class MetricsEndpointSocketTest : public ::testing::Test {
 protected:
  MetricsEndpointSocketTest()
      : endpoint_(MetricsEndpoint::bind("127.0.0.1:0"), [this] {
          ++renders_;
          return std::string(kPage);
        }) {}

  int connectClient() {
    std::vector<pollfd> fds;
    endpoint_.addPollFds(fds);
    sockaddr_in addr{};
    socklen_t len = sizeof(addr);
    ::getsockname(fds[0].fd, reinterpret_cast<sockaddr*>(&addr), &len);
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
    clients_.push_back(fd);
    return fd;
  }

  // One turn of the master's loop: poll() up to 50 ms, then handle() at now + shift.
  void turn(std::chrono::seconds shift = std::chrono::seconds(0)) {
    std::vector<pollfd> fds;
    endpoint_.addPollFds(fds);
    ::poll(fds.data(), fds.size(), 50);
    endpoint_.handle(fds, MetricsEndpoint::Clock::now() + shift);
  }

  // Everything the server sends until it closes, serving it meanwhile.
  std::string readToClose(int fd) {
    std::string got;
    for (int i = 0; i < 100; ++i) {
      turn();
      char buf[4096];
      ssize_t n;
      while ((n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
        got.append(buf, static_cast<size_t>(n));
      }
      if (n == 0) {
        return got;
      }
    }
    ADD_FAILURE() << "the endpoint did not close";
    return got;
  }

  size_t polled() const {
    std::vector<pollfd> fds;
    endpoint_.addPollFds(fds);
    return fds.size();
  }

  ~MetricsEndpointSocketTest() override {
    for (int fd : clients_) {
      ::close(fd);
    }
  }

  MetricsEndpoint endpoint_;
  int renders_ = 0;
  std::vector<int> clients_;
};

TEST_F(MetricsEndpointSocketTest, ServesAHeadSentInPiecesAndCloses) {
  const int fd = connectClient();
  const std::string head = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(fd, head.data(), 10, 0), 10);
  turn();
  turn();
  EXPECT_EQ(renders_, 0);
  ASSERT_EQ(::send(fd, head.data() + 10, head.size() - 10, 0),
            static_cast<ssize_t>(head.size() - 10));
  const std::string response = readToClose(fd);
  EXPECT_EQ(statusLine(response), "HTTP/1.1 200 OK");
  EXPECT_TRUE(response.ends_with(kPage));
  EXPECT_EQ(renders_, 1);
}

TEST_F(MetricsEndpointSocketTest, AnswersAnOverlongHeadWith431) {
  const int fd = connectClient();
  const std::string head = "GET /metrics HTTP/1.1\r\nX: " + std::string(5000, 'a');
  ASSERT_EQ(::send(fd, head.data(), head.size(), 0), static_cast<ssize_t>(head.size()));
  EXPECT_EQ(statusLine(readToClose(fd)), "HTTP/1.1 431 Request Header Fields Too Large");
  EXPECT_EQ(renders_, 0);
}

TEST_F(MetricsEndpointSocketTest, TakesNoMoreThanItsCapOfScrapesAtOnce) {
  for (size_t i = 0; i < MetricsEndpoint::kMaxClients + 2; ++i) {
    connectClient();
  }
  for (int i = 0; i < 5; ++i) {
    turn();
  }
  EXPECT_EQ(polled(), MetricsEndpoint::kMaxClients);  // the clients, not the listener
  const std::string head = "GET /metrics HTTP/1.0\r\n\r\n";
  ::send(clients_[0], head.data(), head.size(), 0);
  EXPECT_EQ(statusLine(readToClose(clients_[0])), "HTTP/1.1 200 OK");
  const int waited = clients_[MetricsEndpoint::kMaxClients];  // queued while at the cap
  ::send(waited, head.data(), head.size(), 0);
  EXPECT_EQ(statusLine(readToClose(waited)), "HTTP/1.1 200 OK");
}

TEST_F(MetricsEndpointSocketTest, ClosesAScrapeThatOutstaysItsTimeout) {
  const int fd = connectClient();
  ::send(fd, "GET /metr", 9, 0);
  turn();
  EXPECT_EQ(polled(), 2u);  // listener and the client
  turn(MetricsEndpoint::kTimeout + std::chrono::seconds(1));
  EXPECT_EQ(polled(), 1u);
  char c;
  EXPECT_EQ(::recv(fd, &c, 1, 0), 0);  // closed without an answer
}

TEST(MetricsEndpoint, RefusesAddressesThatAreNotHostAndPort) {
  EXPECT_THROW(MetricsEndpoint::bind("unix:/tmp/metrics.sock"), ConfigError);
  EXPECT_THROW(MetricsEndpoint::bind("127.0.0.1:99999"), ConfigError);
}

}  // namespace
}  // namespace appserver::server
