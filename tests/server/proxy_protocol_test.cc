// proxy_protocol_test.cc: ProxyProtocol::parse on v1 lines and v2 blocks, whole, cut short,
// oversized and malformed.
// Thread: the test's main thread.
#include "proxy_protocol.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace appserver::server {
namespace {

using Status = ProxyProtocol::Status;

const std::string kSignature("\r\n\r\n\0\r\nQUIT\n", 12);

// A v2 header: version/command byte, family/transport byte, then the address block.
std::string v2(unsigned char version_command, unsigned char family, const std::string& block) {
  std::string out = kSignature;
  out.push_back(static_cast<char>(version_command));
  out.push_back(static_cast<char>(family));
  out.push_back(static_cast<char>(block.size() >> 8));
  out.push_back(static_cast<char>(block.size() & 0xff));
  return out + block;
}

const std::string kV4Block = std::string("\xcb\x00\x71\x07"  // 203.0.113.7
                                         "\xc0\x00\x02\x01"  // 192.0.2.1
                                         "\xc8\x22"          // 51234
                                         "\x01\xbb",         // 443
                                         12);
const std::string kV6Block = std::string("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x07"  // 2001:db8::7
                                         "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"
                                         "\x00\x50"
                                         "\x01\xbb",
                                         36);

TEST(ProxyProtocol, ReadsV1Tcp4) {
  const std::string header = "PROXY TCP4 203.0.113.7 192.0.2.1 51234 443\r\n";
  const auto r = ProxyProtocol::parse(header + "GET / HTTP/1.1\r\n");
  EXPECT_EQ(r.status, Status::Done);
  EXPECT_EQ(r.length, header.size());
  EXPECT_EQ(r.address, "203.0.113.7");
  EXPECT_EQ(r.port, 51234);
}

TEST(ProxyProtocol, ReadsV1Tcp6InItsShortForm) {
  const auto r = ProxyProtocol::parse("PROXY TCP6 2001:DB8:0:0:0:0:0:7 2001:db8::1 80 443\r\n");
  EXPECT_EQ(r.status, Status::Done);
  EXPECT_EQ(r.address, "2001:db8::7");
  EXPECT_EQ(r.port, 80);
}

TEST(ProxyProtocol, KeepsThePeerForV1Unknown) {
  for (const std::string header : {"PROXY UNKNOWN\r\n", "PROXY UNKNOWN ff::1 ::1 1 2\r\n"}) {
    const auto r = ProxyProtocol::parse(header);
    EXPECT_EQ(r.status, Status::Done) << header;
    EXPECT_EQ(r.length, header.size());
    EXPECT_EQ(r.address, "");
  }
}

TEST(ProxyProtocol, AsksForMoreWhileAV1LineIsIncomplete) {
  const std::string header = "PROXY TCP4 203.0.113.7 192.0.2.1 51234 443\r\n";
  for (size_t n = 0; n < header.size(); ++n) {
    EXPECT_EQ(ProxyProtocol::parse(header.substr(0, n)).status, Status::NeedMore) << n;
  }
}

TEST(ProxyProtocol, RefusesAV1LineLongerThanTheLimit) {
  const std::string line = "PROXY UNKNOWN " + std::string(ProxyProtocol::kMaxV1Length, 'x');
  EXPECT_EQ(ProxyProtocol::parse(line.substr(0, ProxyProtocol::kMaxV1Length - 1)).status,
            Status::NeedMore);
  EXPECT_EQ(ProxyProtocol::parse(line.substr(0, ProxyProtocol::kMaxV1Length)).status,
            Status::Invalid);
  // The longest allowed line is accepted.
  const std::string longest =
      "PROXY UNKNOWN " + std::string(ProxyProtocol::kMaxV1Length - 16, 'x') + "\r\n";
  ASSERT_EQ(longest.size(), ProxyProtocol::kMaxV1Length);
  EXPECT_EQ(ProxyProtocol::parse(longest).status, Status::Done);
}

TEST(ProxyProtocol, RefusesMalformedV1Lines) {
  for (const std::string& line : std::vector<std::string>{
           "PROXY TCP4 203.0.113.7 192.0.2.1 51234\r\n",            // a field missing
           "PROXY TCP4 203.0.113.7 192.0.2.1 51234 443 x\r\n",      // one too many
           "PROXY TCP4  203.0.113.7 192.0.2.1 51234 443\r\n",       // two spaces
           "PROXY TCP4 203.0.113.7 192.0.2.1 65536 443\r\n",        // port out of range
           "PROXY TCP4 203.0.113.7 192.0.2.1 051234 443\r\n",       // leading zero
           "PROXY TCP4 203.0.113.7 192.0.2.1 -1 443\r\n",           // sign
           "PROXY TCP4 2001:db8::7 192.0.2.1 1 443\r\n",            // v6 address in TCP4
           "PROXY TCP6 203.0.113.7 2001:db8::1 1 443\r\n",          // v4 address in TCP6
           "PROXY TCP4 203.0.113.256 192.0.2.1 1 443\r\n",          // not an address
           "PROXY UDP4 203.0.113.7 192.0.2.1 1 443\r\n",            // no such protocol
           "proxy TCP4 203.0.113.7 192.0.2.1 1 443\r\n",            // lower case
           std::string("PROXY TCP4 203.0.113.7") + '\0' + " 192.0.2.1 1 443\r\n",  // a NUL
           "PROXY\r\n",
       }) {
    EXPECT_EQ(ProxyProtocol::parse(line).status, Status::Invalid) << testing::PrintToString(line);
  }
}

TEST(ProxyProtocol, RefusesWhatIsNoProxyHeader) {
  for (const std::string& data :
       std::vector<std::string>{"GET / HTTP/1.1\r\n", "\x16\x03\x01", "P", "PROXX", " PROXY"}) {
    const auto status = ProxyProtocol::parse(data).status;
    EXPECT_EQ(status, data == "P" ? Status::NeedMore : Status::Invalid)
        << testing::PrintToString(data);
  }
  EXPECT_EQ(ProxyProtocol::parse("").status, Status::NeedMore);
}

TEST(ProxyProtocol, ReadsV2Tcp4AndSkipsTlvs) {
  const std::string tlv("\x20\x00\x05\x01\x00\x00\x00\x00", 8);  // PP2_TYPE_SSL
  const std::string header = v2(0x21, 0x11, kV4Block + tlv);
  const auto r = ProxyProtocol::parse(header + "\x16\x03\x01 TLS follows");
  EXPECT_EQ(r.status, Status::Done);
  EXPECT_EQ(r.length, header.size());
  EXPECT_EQ(r.address, "203.0.113.7");
  EXPECT_EQ(r.port, 51234);
}

TEST(ProxyProtocol, ReadsV2Tcp6) {
  const auto r = ProxyProtocol::parse(v2(0x21, 0x21, kV6Block));
  EXPECT_EQ(r.status, Status::Done);
  EXPECT_EQ(r.address, "2001:db8::7");
  EXPECT_EQ(r.port, 80);
}

TEST(ProxyProtocol, KeepsThePeerForV2LocalUnspecUnixAndUdp) {
  const std::string unix_block(216, '\0');
  for (const std::string& header : std::vector<std::string>{
           v2(0x20, 0x11, kV4Block),   // LOCAL: the proxy's own health check
           v2(0x20, 0x00, ""),         // LOCAL, UNSPEC, nothing more
           v2(0x21, 0x00, ""),         // PROXY with UNSPEC
           v2(0x21, 0x31, unix_block),  // a Unix socket client
           v2(0x21, 0x12, kV4Block),   // UDP over IPv4
       }) {
    const auto r = ProxyProtocol::parse(header);
    EXPECT_EQ(r.status, Status::Done) << testing::PrintToString(header);
    EXPECT_EQ(r.length, header.size());
    EXPECT_EQ(r.address, "");
  }
}

TEST(ProxyProtocol, AsksForMoreWhileAV2HeaderIsIncomplete) {
  const std::string header = v2(0x21, 0x11, kV4Block);
  for (size_t n = 1; n < header.size(); ++n) {
    EXPECT_EQ(ProxyProtocol::parse(header.substr(0, n)).status, Status::NeedMore) << n;
  }
  // The largest length the header can announce is waited for, not refused.
  const std::string big = v2(0x21, 0x11, kV4Block + std::string(65535 - 12, '\0'));
  EXPECT_EQ(ProxyProtocol::parse(big.substr(0, 1000)).status, Status::NeedMore);
  EXPECT_EQ(ProxyProtocol::parse(big).status, Status::Done);
}

TEST(ProxyProtocol, RefusesMalformedV2Headers) {
  std::string bad_signature = v2(0x21, 0x11, kV4Block);
  bad_signature[8] = 'X';
  for (const std::string& header : std::vector<std::string>{
           bad_signature,
           bad_signature.substr(0, 9),   // wrong before the header is complete
           v2(0x11, 0x11, kV4Block),     // version 1 in the binary form
           v2(0x22, 0x11, kV4Block),     // no such command
           v2(0x21, 0x41, kV4Block),     // no such family
           v2(0x21, 0x13, kV4Block),     // no such transport
           v2(0x21, 0x11, kV4Block.substr(0, 11)),  // too short for two IPv4 addresses
           v2(0x21, 0x21, kV4Block),     // too short for two IPv6 addresses
       }) {
    EXPECT_EQ(ProxyProtocol::parse(header).status, Status::Invalid)
        << testing::PrintToString(header);
  }
}

}  // namespace
}  // namespace appserver::server
