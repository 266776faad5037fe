// request_id_test.cc: RequestIds, the ids made by a worker and the ones a proxy may send.
//
// Thread: the test's main thread.
#include "request_id.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace appserver::server {
namespace {

std::string generated(RequestIds& ids) {
  std::string id;
  ids.assign(id, "", true);
  return id;
}

TEST(RequestIds, GeneratesThirtyTwoLowercaseHexDigits) {
  RequestIds ids(0x0123456789abcdefULL, 0);
  const std::string id = generated(ids);
  EXPECT_EQ(id.size(), RequestIds::kGeneratedLength);
  EXPECT_EQ(id.substr(0, 16), "0123456789abcdef");
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
}

TEST(RequestIds, NeverRepeatsAnIdWithinAWorker) {
  RequestIds ids(7, 0);
  std::set<std::string> seen;
  for (int i = 0; i < 100000; ++i) {
    ASSERT_TRUE(seen.insert(generated(ids)).second) << "repeated after " << i;
  }
}

TEST(RequestIds, ScattersConsecutiveCounters) {
  RequestIds ids(0, 0);
  const std::string a = generated(ids);
  const std::string b = generated(ids);
  int differing = 0;
  for (size_t i = 16; i < 32; ++i) {
    differing += a[i] != b[i] ? 1 : 0;
  }
  EXPECT_GE(differing, 8) << a << " " << b;
}

TEST(RequestIds, KeepsAnAcceptableIdFromATrustedPeer) {
  RequestIds ids(1, 2);
  std::string id;
  ids.assign(id, "req-42/abc=", true);
  EXPECT_EQ(id, "req-42/abc=");
}

TEST(RequestIds, IgnoresTheIdOfAnUntrustedPeer) {
  RequestIds ids(1, 2);
  std::string id;
  ids.assign(id, "chosen-by-the-client", false);
  EXPECT_EQ(id.size(), RequestIds::kGeneratedLength);
  EXPECT_NE(id, "chosen-by-the-client");
}

TEST(RequestIds, ReplacesAnUnacceptableIdFromATrustedPeer) {
  RequestIds ids(1, 2);
  for (const std::string& sent : {std::string("has space"), std::string("tab\there"),
                                 std::string("caf\xc3\xa9"), std::string("x\x7f"),
                                 std::string(RequestIds::kMaxLength + 1, 'a')}) {
    std::string id;
    ids.assign(id, sent, true);
    EXPECT_EQ(id.size(), RequestIds::kGeneratedLength) << sent;
  }
}

TEST(RequestIds, AcceptsVisibleAsciiUpToTheLimit) {
  EXPECT_TRUE(RequestIds::acceptable("!"));
  EXPECT_TRUE(RequestIds::acceptable("~"));
  EXPECT_TRUE(RequestIds::acceptable(std::string(RequestIds::kMaxLength, 'z')));
  EXPECT_FALSE(RequestIds::acceptable(""));
  EXPECT_FALSE(RequestIds::acceptable(std::string(RequestIds::kMaxLength + 1, 'z')));
  EXPECT_FALSE(RequestIds::acceptable("a\r\nSet-Cookie: x"));
}

}  // namespace
}  // namespace appserver::server
