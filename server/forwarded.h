// forwarded.h: what a trusted proxy says about the client (--forwarded-allow-ips).
//
// Behind nginx the peer is the proxy; the client's address and scheme arrive in
// X-Forwarded-For / X-Forwarded-Proto, or in Forwarded (RFC 7239) with --forwarded-header
// forwarded. Only the one family the proxy writes is read: a proxy passes the other one on
// from the client untouched, so reading it would let the client choose its own address.
// They are believed only when the peer is trusted (Gunicorn's --forwarded-allow-ips;
// Unix-socket peers are local and trusted).
// The client is found as nginx's real_ip_recursive does: walking the list from the right,
// the first address that is not itself a trusted proxy.
// Thread: the worker's loop thread (immutable after construction).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http_parser.h"

namespace appserver::server {

class ForwardedPolicy {
 public:
  // allow_ips: comma-separated addresses, or "*" for every peer. rfc7239: read Forwarded
  // instead of X-Forwarded-For / X-Forwarded-Proto.
  ForwardedPolicy(std::string_view allow_ips, bool rfc7239);

  bool trusts(std::string_view address) const;

  // For a request from peer (empty for a Unix socket): sets scheme ("http"/"https") and
  // client (the address for REMOTE_ADDR) from the forwarding headers when peer is trusted,
  // else leaves them as given.
  void apply(const HttpRequest& request, std::string_view peer, std::string_view& scheme,
             std::string& client) const;

 private:
  bool all_ = false;
  bool rfc7239_ = false;
  std::vector<std::string> addresses_;
};

}  // namespace appserver::server
