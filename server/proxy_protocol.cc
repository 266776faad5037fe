// proxy_protocol.cc: PROXY protocol v1 and v2 (haproxy.org/download/2.9/doc/proxy-protocol.txt).
//
// Thread: any.
#include "proxy_protocol.h"

#include <arpa/inet.h>

#include <charconv>
#include <vector>

namespace appserver::server {

namespace {

using Status = ProxyProtocol::Status;
using Result = ProxyProtocol::Result;

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr std::string_view kV2Signature{"\r\n\r\n\0\r\nQUIT\n", 12};
constexpr size_t kV2HeadLength = 16;  // signature, version/command, family, length

Result resultOf(Status status, size_t length = 0) {
  Result result;
  result.status = status;
  result.length = length;
  return result;
}
Result invalid() { return resultOf(Status::Invalid); }
Result needMore() { return resultOf(Status::NeedMore); }
Result done(size_t length) { return resultOf(Status::Done, length); }

// Whether data could still become prefix: it is one of prefix's beginnings.
bool beginsLike(std::string_view data, std::string_view prefix) {
  return prefix.substr(0, data.size()) == data.substr(0, prefix.size());
}

// A port as v1 writes it: 0 to 65535 in decimal, without leading zeros.
bool parsePort(std::string_view text, int& port) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text.front() == '0') ||
      text.find_first_not_of("0123456789") != std::string_view::npos) {
    return false;
  }
  std::from_chars(text.data(), text.data() + text.size(), port);
  return port <= 65535;
}

// family's address from its binary form, as text (the form inet_ntop gives).
std::string addressText(int family, const void* binary) {
  char text[INET6_ADDRSTRLEN] = "";
  ::inet_ntop(family, binary, text, sizeof(text));
  return text;
}

Result parseV1(std::string_view data) {
  const size_t end = data.substr(0, ProxyProtocol::kMaxV1Length).find("\r\n");
  if (end == std::string_view::npos) {
    return data.size() >= ProxyProtocol::kMaxV1Length ? invalid() : needMore();
  }
  const std::string_view line_text = data.substr(0, end);
  for (const char c : line_text) {
    if (c < 0x20 || c > 0x7e) {
      return invalid();  // a NUL would also cut the inet_pton() argument short
    }
  }
  std::vector<std::string_view> fields;
  for (std::string_view line = line_text; fields.size() < 7;) {
    const size_t space = line.find(' ');
    fields.push_back(line.substr(0, space));
    if (space == std::string_view::npos) {
      break;
    }
    line.remove_prefix(space + 1);
  }
  Result result = done(end + 2);
  if (fields.size() >= 2 && fields[1] == "UNKNOWN") {
    return result;  // the proxy does not know the client: the rest of the line is ignored
  }
  const int family = fields.size() == 6 && fields[1] == "TCP4"   ? AF_INET
                     : fields.size() == 6 && fields[1] == "TCP6" ? AF_INET6
                                                                 : AF_UNSPEC;
  if (family == AF_UNSPEC) {
    return invalid();
  }
  unsigned char source[16];
  unsigned char destination[16];
  int destination_port = 0;
  if (::inet_pton(family, std::string(fields[2]).c_str(), source) != 1 ||
      ::inet_pton(family, std::string(fields[3]).c_str(), destination) != 1 ||
      !parsePort(fields[4], result.port) || !parsePort(fields[5], destination_port)) {
    return invalid();
  }
  result.address = addressText(family, source);
  return result;
}

uint16_t bigEndian16(std::string_view bytes, size_t at) {
  return static_cast<uint16_t>(static_cast<unsigned char>(bytes[at]) << 8 |
                               static_cast<unsigned char>(bytes[at + 1]));
}

Result parseV2(std::string_view data) {
  if (data.size() < kV2HeadLength) {
    return beginsLike(data, kV2Signature) ? needMore() : invalid();
  }
  if (!data.starts_with(kV2Signature)) {
    return invalid();
  }
  const auto version_command = static_cast<unsigned char>(data[12]);
  const auto family_transport = static_cast<unsigned char>(data[13]);
  const size_t length = kV2HeadLength + bigEndian16(data, 14);
  const unsigned command = version_command & 0x0f;
  const unsigned family = family_transport >> 4;
  const unsigned transport = family_transport & 0x0f;
  if (version_command >> 4 != 2 || command > 1 || family > 3 || transport > 2) {
    return invalid();
  }
  if (data.size() < length) {
    return needMore();
  }
  Result result = done(length);
  const bool local = command == 0;
  if (local || transport != 1 || (family != 1 && family != 2)) {
    return result;  // a health check from the proxy itself, or no TCP/IP client to name
  }
  const std::string_view block = data.substr(kV2HeadLength, length - kV2HeadLength);
  const size_t address_size = family == 1 ? 4 : 16;
  if (block.size() < 2 * address_size + 4) {
    return invalid();
  }
  result.address = addressText(family == 1 ? AF_INET : AF_INET6, block.data());
  result.port = bigEndian16(block, 2 * address_size);
  return result;
}

}  // namespace

ProxyProtocol::Result ProxyProtocol::parse(std::string_view data) {
  if (data.empty()) {
    return needMore();
  }
  if (data.front() == kV2Signature.front()) {
    return parseV2(data);
  }
  if (!beginsLike(data, kV1Prefix)) {
    return invalid();
  }
  return data.size() < kV1Prefix.size() ? needMore() : parseV1(data);
}

}  // namespace appserver::server
