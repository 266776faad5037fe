// forwarded.cc: trusted proxies, Forwarded and X-Forwarded-*.
//
// Thread: the worker's loop thread.
#include "forwarded.h"

#include <algorithm>

#include "ascii.h"

namespace appserver::server {

namespace {

// Splits a comma-separated header value (all fields of that name joined) into items.
std::vector<std::string_view> listItems(const HttpRequest& request, std::string_view name) {
  std::vector<std::string_view> items;
  for (const embed::HeaderView& h : request.headers) {
    if (!equalsIgnoringCase(h.name, name)) {
      continue;
    }
    std::string_view rest = h.value;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      items.push_back(trimBlanks(rest.substr(0, comma)));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  return items;
}

// The value of key in one Forwarded element ("for=1.2.3.4;proto=https"), unquoted, with a
// "[v6]:port" or "v4:port" reduced to the address.
std::string_view forwardedParam(std::string_view element, std::string_view key) {
  while (!element.empty()) {
    const size_t semi = element.find(';');
    const std::string_view pair = trimBlanks(element.substr(0, semi));
    element = semi == std::string_view::npos ? std::string_view() : element.substr(semi + 1);
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos || !equalsIgnoringCase(pair.substr(0, eq), key)) {
      continue;
    }
    std::string_view value = pair.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (key == "for") {
      if (value.empty() || value.front() == '_' || equalsIgnoringCase(value, "unknown")) {
        return {};  // RFC 7239 6.2-6.3: "unknown" and obfuscated names are no address
      }
      if (value.front() == '[') {
        return value.substr(1, value.find(']') - 1);
      }
      if (std::count(value.begin(), value.end(), ':') == 1) {
        return value.substr(0, value.find(':'));
      }
    }
    return value;
  }
  return {};
}

}  // namespace

ForwardedPolicy::ForwardedPolicy(std::string_view allow_ips, bool rfc7239) : rfc7239_(rfc7239) {
  while (!allow_ips.empty()) {
    const size_t comma = allow_ips.find(',');
    const std::string_view item = trimBlanks(allow_ips.substr(0, comma));
    if (item == "*") {
      all_ = true;
    } else if (!item.empty()) {
      addresses_.emplace_back(item);
    }
    allow_ips = comma == std::string_view::npos ? std::string_view() : allow_ips.substr(comma + 1);
  }
}

bool ForwardedPolicy::trusts(std::string_view address) const {
  return all_ || std::find(addresses_.begin(), addresses_.end(), address) != addresses_.end();
}

void ForwardedPolicy::apply(const HttpRequest& request, std::string_view peer,
                            std::string_view& scheme, std::string& client) const {
  if (!peer.empty() && !trusts(peer)) {
    return;
  }
  std::vector<std::string_view> hops;
  std::string_view proto;
  if (rfc7239_) {
    const auto elements = listItems(request, "forwarded");
    for (std::string_view e : elements) {
      hops.push_back(forwardedParam(e, "for"));
    }
    proto = elements.empty() ? std::string_view() : forwardedParam(elements.back(), "proto");
  } else {
    hops = listItems(request, "x-forwarded-for");
    const auto protos = listItems(request, "x-forwarded-proto");
    proto = protos.empty() ? std::string_view() : protos.back();
  }
  if (equalsIgnoringCase(proto, "https")) {
    scheme = "https";
  } else if (equalsIgnoringCase(proto, "http")) {
    scheme = "http";
  }
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    if (it->empty()) {
      break;  // an "unknown" or obfuscated hop: nothing further left is believable
    }
    client.assign(*it);
    if (!trusts(*it)) {
      break;
    }
  }
}

}  // namespace appserver::server
