// proxy_protocol.h: the PROXY protocol header a load balancer sends before anything else.
//
// With --proxy-protocol a connection's first bytes are HAProxy's header, version 1 (a text
// line, "PROXY TCP4 203.0.113.7 192.0.2.1 51234 443\r\n") or version 2 (a binary block
// after a 12-byte signature), naming the client the proxy accepted. The parser takes the
// bytes received so far and says whether the header is complete, incomplete, or not a
// valid header (the connection is then closed without an answer). It reads the source
// address and port of TCP over IPv4 or IPv6; for everything else (v1 UNKNOWN, v2 LOCAL,
// UNSPEC, Unix or UDP) the connection's own peer stays the client. v2's TLVs (TLS details
// and the like) are skipped.
// Thread: any (pure function).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace appserver::server {

class ProxyProtocol {
 public:
  enum class Status {
    NeedMore,  // a valid beginning: read more
    Done,      // a whole header: length bytes, then the client's own bytes
    Invalid,   // not a PROXY header, or a malformed one
  };
  struct Result {
    Status status = Status::NeedMore;
    size_t length = 0;    // header bytes, when Done
    std::string address;  // the client's address as text, or "" to keep the socket's peer
    int port = 0;         // the client's port, when address is set
  };
  // The longest v1 line, CRLF included (the specification's bound).
  static constexpr size_t kMaxV1Length = 107;

  // data: the connection's bytes from its first, as many as have arrived.
  static Result parse(std::string_view data);
};

}  // namespace appserver::server
