// request_id.h: the id that names one request in the logs, the environ and the response.
//
// A trusted proxy (--forwarded-allow-ips) may send its own in X-Request-ID: it is kept when
// it is 1 to 200 visible ASCII characters (Heroku's router bounds its ids the same way), so
// one id follows the request through the proxy's log and this server's. Otherwise the
// worker makes one: 32 lowercase hex digits, as nginx's $request_id. The first 16 are random
// per worker, the last 16 a per-worker counter passed through a bijection, so ids never
// repeat within a worker, collide across workers only by chance (1 in 2^64 per pair), and
// cost no system call.
// Thread: the worker's loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace appserver::server {

class RequestIds {
 public:
  static constexpr size_t kMaxLength = 200;      // of an id a proxy sends
  static constexpr size_t kGeneratedLength = 32;  // hex digits of an id made here

  // prefix: this worker's random half; seed: where its counter starts.
  RequestIds(uint64_t prefix, uint64_t seed);
  // Seeded from std::random_device (once per worker, at its start).
  static RequestIds seeded();

  // Sets id to the id of a request: sent (its X-Request-ID, "" when it has none) when the
  // peer is trusted and the value acceptable(), else a new one, different from every earlier
  // one of this object. id's buffer is reused.
  void assign(std::string& id, std::string_view sent, bool trusted);

  // Whether a proxy's X-Request-ID value may be used as it is: 1 to kMaxLength characters,
  // each visible ASCII (0x21 to 0x7E), so it is safe in a log line and a response header.
  static bool acceptable(std::string_view value);

 private:
  char prefix_hex_[16];
  uint64_t counter_;
};

}  // namespace appserver::server
