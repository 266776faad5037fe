// jwks_fetcher_test.cc: JwksFetcher, the master's fetch of --jwt-jwks-url.
//
// The URL rule and the freshness arithmetic are pure; fetches go to a one-shot HTTP server
// on a loopback port (a thread that answers one connection with canned bytes).
// Thread: the test's main thread, plus one server thread per fetch test.
#include "jwks_fetcher.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "config.h"

namespace appserver::server {
namespace {

using std::chrono::seconds;

TEST(JwksFetcher, AcceptsHttpsAndLoopbackHttpOnly) {
  EXPECT_EQ(JwksFetcher::checkUrl("https://idp.example/.well-known/jwks.json"), "");
  EXPECT_EQ(JwksFetcher::checkUrl("http://127.0.0.1:8080/jwks"), "");
  EXPECT_EQ(JwksFetcher::checkUrl("http://127.9.9.9/jwks"), "");
  EXPECT_EQ(JwksFetcher::checkUrl("http://[::1]:9/jwks"), "");
  EXPECT_EQ(JwksFetcher::checkUrl("http://LOCALHOST/jwks"), "");
  for (const char* refused :
       {"http://idp.example/jwks", "http://10.0.0.1/jwks", "http://128.0.0.1/jwks",
        "http://[::2]/jwks", "http://localhost.evil.example/jwks", "ftp://127.0.0.1/jwks",
        "file:///etc/passwd", "idp.example/jwks", "", "https://user:secret@idp.example/jwks"}) {
    EXPECT_NE(JwksFetcher::checkUrl(refused), "") << refused;
  }
}

TEST(JwksFetcher, ConstructorRefusesABadUrl) {
  EXPECT_THROW(JwksFetcher("http://idp.example/jwks"), ConfigError);
}

TEST(JwksFetcher, FreshnessFollowsMaxAgeMinusAgeWithinBounds) {
  const JwksLimits limits;
  EXPECT_EQ(JwksFetcher::freshness("public, max-age=3600", "", limits), seconds(3600));
  EXPECT_EQ(JwksFetcher::freshness("max-age=3600", "600", limits), seconds(3000));
  EXPECT_EQ(JwksFetcher::freshness("max-age=\"120\"", "", limits), seconds(120));
  EXPECT_EQ(JwksFetcher::freshness("MAX-AGE = 90", "", limits), seconds(90));
  EXPECT_EQ(JwksFetcher::freshness("max-age=5", "", limits), seconds(60));  // at least 60 s
  EXPECT_EQ(JwksFetcher::freshness("max-age=99999999999999999999", "", limits),
            seconds(24 * 3600));  // at most a day
  EXPECT_EQ(JwksFetcher::freshness("no-store", "", limits), seconds(60));
  EXPECT_EQ(JwksFetcher::freshness("no-cache, max-age=600", "", limits), seconds(60));
  EXPECT_EQ(JwksFetcher::freshness("max-age=100", "500", limits), seconds(60));
}

TEST(JwksFetcher, FreshnessWithoutMaxAgeIsFiveMinutes) {
  const JwksLimits limits;
  EXPECT_EQ(JwksFetcher::freshness("", "", limits), seconds(300));
  EXPECT_EQ(JwksFetcher::freshness("public, must-revalidate", "10", limits), seconds(300));
  EXPECT_EQ(JwksFetcher::freshness("max-age=abc", "", limits), seconds(300));
}

// Answers one connection on a loopback port with response, and keeps the request head.
class OneShotServer {
 public:
  explicit OneShotServer(std::string response) : response_(std::move(response)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof(address);
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&address), size), 0);
    EXPECT_EQ(::listen(listener_, 1), 0);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~OneShotServer() {
    ::shutdown(listener_, SHUT_RDWR);
    thread_.join();
    ::close(listener_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/jwks"; }
  const std::string& request() const { return request_; }  // after the fetch returned

 private:
  void serve() {
    const int client = ::accept(listener_, nullptr, nullptr);
    if (client < 0) {
      return;
    }
    char buffer[4096];
    ssize_t n;
    while (request_.find("\r\n\r\n") == std::string::npos &&
           (n = ::read(client, buffer, sizeof(buffer))) > 0) {
      request_.append(buffer, static_cast<size_t>(n));
    }
    [[maybe_unused]] ssize_t written = ::write(client, response_.data(), response_.size());
    ::close(client);
  }

  std::string response_;
  std::string request_;
  int listener_ = -1;
  int port_ = 0;
  std::thread thread_;
};

std::string httpResponse(const std::string& status, const std::string& headers,
                         const std::string& body) {
  return "HTTP/1.1 " + status + "\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n" + headers + "\r\n" + body;
}

TEST(JwksFetcher, FetchesTheDocumentAndItsFreshness) {
  OneShotServer server(
      httpResponse("200 OK", "Cache-Control: max-age=600\r\nAge: 100\r\n", R"({"keys":[]})"));
  JwksFetcher fetcher(server.url());
  const auto now = JwksFetcher::Clock::now();
  const JwksFetcher::Fetch fetched = fetcher.fetch(now);
  ASSERT_TRUE(fetched.ok) << fetched.error;
  EXPECT_EQ(fetched.document, R"({"keys":[]})");
  EXPECT_EQ(fetched.fresh_for, seconds(500));
  EXPECT_NE(server.request().find("Accept: application/jwk-set+json"), std::string::npos);
  EXPECT_FALSE(fetcher.due(now + seconds(499)));
  EXPECT_TRUE(fetcher.due(now + seconds(500)));
}

TEST(JwksFetcher, RefusesAnAnswerOtherThan200AndRetriesSoon) {
  OneShotServer server(httpResponse("404 Not Found", "", "nope"));
  JwksFetcher fetcher(server.url());
  const auto now = JwksFetcher::Clock::now();
  const JwksFetcher::Fetch fetched = fetcher.fetch(now);
  EXPECT_FALSE(fetched.ok);
  EXPECT_EQ(fetched.error, "HTTP status 404");
  EXPECT_FALSE(fetcher.due(now + seconds(29)));
  EXPECT_TRUE(fetcher.due(now + seconds(30)));
}

TEST(JwksFetcher, RefusesADocumentOverTheSizeLimit) {
  OneShotServer server(httpResponse("200 OK", "", std::string(2000, 'x')));
  JwksLimits limits;
  limits.max_bytes = 1000;
  JwksFetcher fetcher(server.url(), limits);
  const JwksFetcher::Fetch fetched = fetcher.fetch(JwksFetcher::Clock::now());
  EXPECT_FALSE(fetched.ok);
  EXPECT_NE(fetched.error.find("larger than 1000 bytes"), std::string::npos) << fetched.error;
}

TEST(JwksFetcher, GrantsARefetchAtMostOncePerCooldown) {
  OneShotServer first(httpResponse("200 OK", "Cache-Control: max-age=3600\r\n", "{}"));
  JwksFetcher fetcher(first.url());
  const auto start = JwksFetcher::Clock::now();
  fetcher.requestRefetch();
  EXPECT_TRUE(fetcher.due(start));  // the first one at once
  ASSERT_TRUE(fetcher.fetch(start).ok);
  EXPECT_FALSE(fetcher.refetchWanted());
  fetcher.requestRefetch();
  EXPECT_FALSE(fetcher.due(start + seconds(29)));
  EXPECT_TRUE(fetcher.due(start + seconds(30)));
}

}  // namespace
}  // namespace appserver::server
