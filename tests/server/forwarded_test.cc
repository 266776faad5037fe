// forwarded_test.cc: ForwardedPolicy, the client address and scheme behind trusted proxies.
//
// Requests come from HttpParser, so the headers are exactly what a proxy would send. Each
// test gives the peer address (the proxy, or "" for a Unix socket) and checks the client
// address and scheme apply() settles on: headers count only from trusted peers, and the
// client is the first untrusted hop from the right (nginx's real_ip_recursive).
// Thread: the test's main thread.
#include "forwarded.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace appserver::server {
namespace {

constexpr const char* kProxy = "10.0.0.1";

// The (client, scheme) apply() gives for a GET with header_lines from peer.
std::pair<std::string, std::string> resolve(const ForwardedPolicy& policy,
                                            const std::string& header_lines,
                                            std::string_view peer = kProxy) {
  HttpParser parser({}, 1 << 20, "");
  size_t consumed = 0;
  const std::string raw = "GET / HTTP/1.1\r\nHost: app\r\n" + header_lines + "\r\n";
  EXPECT_EQ(parser.execute(raw, consumed), HttpParser::Result::Complete) << raw;
  std::string client(peer);
  std::string_view scheme = "http";
  policy.apply(parser.request(), peer, scheme, client);
  return {client, std::string(scheme)};
}

using Outcome = std::pair<std::string, std::string>;

TEST(ForwardedPolicy, TrustsListedPeersOnly) {
  const ForwardedPolicy policy(" 10.0.0.1 , ::1,", /*rfc7239=*/false);
  EXPECT_TRUE(policy.trusts("10.0.0.1"));
  EXPECT_TRUE(policy.trusts("::1"));
  EXPECT_FALSE(policy.trusts("10.0.0.2"));
  EXPECT_FALSE(policy.trusts(""));
  EXPECT_TRUE(ForwardedPolicy("*", /*rfc7239=*/false).trusts("198.51.100.7"));
}

TEST(ForwardedPolicy, IgnoresHeadersFromAnUntrustedPeer) {
  const ForwardedPolicy policy("10.0.0.2", /*rfc7239=*/false);
  EXPECT_EQ(resolve(policy, "X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\n"),
            Outcome(kProxy, "http"));
}

TEST(ForwardedPolicy, TakesClientAndSchemeFromXForwardedHeaders) {
  const ForwardedPolicy policy(kProxy, /*rfc7239=*/false);
  EXPECT_EQ(resolve(policy, "X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: HTTPS\r\n"),
            Outcome("203.0.113.7", "https"));
}

TEST(ForwardedPolicy, WalksPastTrustedProxiesFromTheRight) {
  const ForwardedPolicy policy("10.0.0.1,10.0.0.2", /*rfc7239=*/false);
  // The leftmost entry is whatever the client claimed; the first untrusted hop from the
  // right is the last address a trusted proxy saw.
  EXPECT_EQ(resolve(policy, "X-Forwarded-For: 198.51.100.1, 203.0.113.7, 10.0.0.2\r\n").first,
            "203.0.113.7");
}

TEST(ForwardedPolicy, JoinsRepeatedXForwardedForFieldsInOrder) {
  const ForwardedPolicy policy("10.0.0.1,10.0.0.2", /*rfc7239=*/false);
  EXPECT_EQ(resolve(policy, "X-Forwarded-For: 198.51.100.1\r\nX-Forwarded-For: 10.0.0.2\r\n").first,
            "198.51.100.1");
}

TEST(ForwardedPolicy, TakesTheNearestProxysScheme) {
  const ForwardedPolicy policy(kProxy, /*rfc7239=*/false);
  EXPECT_EQ(resolve(policy, "X-Forwarded-Proto: https, http\r\n").second, "http");
  EXPECT_EQ(resolve(policy, "X-Forwarded-Proto: ftp\r\n").second, "http");  // not a scheme here
}

// A proxy passes the family of headers it does not write on from the client unchanged:
// only the configured family is read, so a client cannot pick its own address.
TEST(ForwardedPolicy, ReadsOnlyTheConfiguredHeaderFamily) {
  const std::string both =
      "X-Forwarded-For: 198.51.100.1\r\n"
      "Forwarded: for=192.0.2.60;proto=https;by=203.0.113.43\r\n";
  EXPECT_EQ(resolve(ForwardedPolicy(kProxy, /*rfc7239=*/false), both),
            Outcome("198.51.100.1", "http"));
  EXPECT_EQ(resolve(ForwardedPolicy(kProxy, /*rfc7239=*/true), both),
            Outcome("192.0.2.60", "https"));
}

TEST(ForwardedPolicy, ReadsForwardedAddressesWithPorts) {
  const ForwardedPolicy policy(kProxy, /*rfc7239=*/true);
  EXPECT_EQ(resolve(policy, "Forwarded: For=\"[2001:db8:cafe::17]:4711\"\r\n").first,
            "2001:db8:cafe::17");
  EXPECT_EQ(resolve(policy, "Forwarded: for=\"192.0.2.43:47011\"\r\n").first, "192.0.2.43");
  EXPECT_EQ(resolve(policy, "Forwarded: for=\"[2001:db8::1]\"\r\n").first, "2001:db8::1");
}

TEST(ForwardedPolicy, WalksForwardedElementsFromTheRight) {
  const ForwardedPolicy policy("10.0.0.1,10.0.0.2", /*rfc7239=*/true);
  EXPECT_EQ(resolve(policy,
                    "Forwarded: for=198.51.100.1, for=203.0.113.7;proto=http\r\n"
                    "Forwarded: for=10.0.0.2;proto=https\r\n"),
            Outcome("203.0.113.7", "https"));
}

TEST(ForwardedPolicy, TrustsUnixSocketPeers) {
  const ForwardedPolicy policy("", /*rfc7239=*/false);
  EXPECT_EQ(resolve(policy, "X-Forwarded-For: 203.0.113.7\r\n", ""),
            Outcome("203.0.113.7", "http"));
}

TEST(ForwardedPolicy, KeepsThePeerWhenTheNearestHopIsUnknown) {
  // RFC 7239 6.2/6.3: "unknown" and obfuscated identifiers ("_hidden") are no address.
  const ForwardedPolicy policy(kProxy, /*rfc7239=*/true);
  const std::string client = resolve(policy, "Forwarded: for=unknown\r\n").first;
  EXPECT_EQ(client, kProxy);
  EXPECT_EQ(resolve(policy, "Forwarded: for=_hidden\r\n").first, kProxy);
}

}  // namespace
}  // namespace appserver::server
