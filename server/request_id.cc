// request_id.cc: making and checking request ids.
//
// Thread: see request_id.h.
#include "request_id.h"

#include <random>
#include <string>

namespace appserver::server {

namespace {

// SplitMix64's output function: a bijection on 64-bit values that scatters their bits, so
// consecutive counters give unrelated-looking ids.
uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void appendHex(char* out, uint64_t value) {
  constexpr char kDigits[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i) {
    out[i] = kDigits[value & 0xf];
    value >>= 4;
  }
}

}  // namespace

RequestIds::RequestIds(uint64_t prefix, uint64_t seed) : counter_(seed) {
  appendHex(prefix_hex_, prefix);
}

RequestIds RequestIds::seeded() {
  std::random_device random;
  const auto draw = [&random] { return (static_cast<uint64_t>(random()) << 32) | random(); };
  const uint64_t prefix = draw();
  return RequestIds(prefix, draw());
}

void RequestIds::assign(std::string& id, std::string_view sent, bool trusted) {
  if (trusted && acceptable(sent)) {
    id.assign(sent);
    return;
  }
  id.assign(prefix_hex_, sizeof(prefix_hex_));
  id.resize(kGeneratedLength);
  appendHex(id.data() + sizeof(prefix_hex_), mix(counter_++));
}

bool RequestIds::acceptable(std::string_view value) {
  if (value.empty() || value.size() > kMaxLength) {
    return false;
  }
  for (const char c : value) {
    if (c < 0x21 || c > 0x7e) {
      return false;
    }
  }
  return true;
}

}  // namespace appserver::server
