// worker_counters.h: what a worker counts for /metrics, kept in its scoreboard slot.
//
// Each worker owns the WorkerCounters in its WorkerSlot (scoreboard.h), memory it shares
// with the master, so the master reads them without asking the worker. Counters only grow
// while the worker lives; before the slot serves another worker the master folds them into
// totals of its own (foldInto), so nothing counted dies with a worker. Gauges (requests in
// flight, connections, busy threads) describe the worker now and go with it.
// Every value is a relaxed atomic: a reader may see one counter a request ahead of another,
// never a torn value. The worker's loop thread is the only writer of everything but
// busy_threads, so its updates are a plain load and store (bump()), no locked instruction.
// Thread: written by the worker's loop thread (busy_threads also by its app threads); read
// by the master.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace appserver::server {

// Why the JWT gate refused a request (auth_gate.h): a fixed set, one counter each.
enum class JwtRefusal {
  Missing,       // no token where one is needed (401 without an error code)
  Multiple,      // more than one token in the request (400 invalid_request)
  Malformed,     // not a well-formed JWS: size, segments, base64url, JSON, header, payload
  Algorithm,     // alg none, an unsupported or disallowed alg, an unknown crit extension
  UnknownKey,    // no key for the token's kid
  BadSignature,  // the signature does not verify, has the wrong length, or the key misfits
  Expired,       // exp has passed
  NotYetValid,   // nbf or iat lies in the future
  Claims,        // a required claim missing or mistyped; iss, aud or token_type differ
  Revoked,       // the jti is on --jwt-denylist
  Internal,      // the verifier failed for a reason that is not the token's
};
// Label values of appserver_jwt_refusals_total{reason=...}, indexed by JwtRefusal.
inline constexpr std::array<std::string_view, 11> kJwtRefusalLabels = {
    "missing", "multiple",  "malformed",     "algorithm", "unknown_key", "bad_signature",
    "expired", "not_yet_valid", "claims",    "revoked",   "internal"};
static_assert(kJwtRefusalLabels.size() == static_cast<size_t>(JwtRefusal::Internal) + 1);

// Why the master started a new worker in place of one (counted by the master).
enum class RestartCause {
  Exit,             // the worker exited by itself (os._exit in the app, a crash that exited)
  Signal,           // the worker died of a signal nobody in appserver sent (OOM killer, kill -9)
  Timeout,          // a request ran past --timeout, or its loop was silent that long
  MaxRequests,      // it served --max-requests
  MaxWorkerMemory,  // its RSS passed --max-worker-memory
  Reload,           // HUP: a new generation of workers
};
inline constexpr std::array<std::string_view, 6> kRestartCauseLabels = {
    "exit", "signal", "timeout", "max_requests", "max_worker_memory", "hup"};
static_assert(kRestartCauseLabels.size() == static_cast<size_t>(RestartCause::Reload) + 1);

// Why a request got 503 instead of the app (--max-pending, --queue-timeout; app_runner.h).
enum class ShedReason {
  MaxPending,    // --max-pending requests already waited for the app
  QueueTimeout,  // it waited longer than --queue-timeout
};
inline constexpr std::array<std::string_view, 2> kShedReasonLabels = {"max_pending",
                                                                      "queue_timeout"};
static_assert(kShedReasonLabels.size() == static_cast<size_t>(ShedReason::QueueTimeout) + 1);

// Upper bounds of the histogram buckets, in seconds: Prometheus's default buckets.
inline constexpr std::array<double, 11> kBucketBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                         0.5,   1,    2.5,   5,    10};

// Adds to a counter that only one thread writes: a load and a store, no locked instruction.
template <typename T>
inline void bump(std::atomic<T>& value, T by = 1) {
  value.store(value.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

// Durations in fixed buckets: a count per bucket (not cumulative; the last one is +Inf)
// and the sum. The total count is the sum of the buckets, so it always agrees with them.
struct Histogram {
  std::array<std::atomic<uint64_t>, kBucketBounds.size() + 1> buckets{};
  std::atomic<uint64_t> sum_us{0};

  // One observation, by its only writer.
  void observe(std::chrono::microseconds value);
};

struct WorkerCounters {
  std::array<std::atomic<uint64_t>, 5> responses{};  // by status class: [0] 1xx .. [4] 5xx
  Histogram duration;     // a request's head complete to its response's last byte sent
  Histogram accept_wait;  // a TCP connection's time in the listen queue (Connection::accept)
  std::array<std::atomic<uint64_t>, kJwtRefusalLabels.size()> jwt_refusals{};
  std::array<std::atomic<uint64_t>, kShedReasonLabels.size()> shed{};
  std::atomic<uint64_t> static_hits{0};    // --static answers from a file (200, 206, 304)
  std::atomic<uint64_t> static_misses{0};  // other --static answers (404, 405, 416, ...)
  // Gauges: the worker now.
  std::atomic<int64_t> in_flight{0};     // requests dispatched and not yet answered
  std::atomic<int64_t> connections{0};   // open client connections
  std::atomic<int64_t> busy_threads{0};  // threads inside an application call

  // A response is complete: counts its status class and how long the request took.
  void responded(int status, std::chrono::microseconds took);
  void refused(JwtRefusal reason) { bump(jwt_refusals[static_cast<size_t>(reason)]); }
  void shedOne(ShedReason reason) { bump(shed[static_cast<size_t>(reason)]); }
  // Adds every counter (not the gauges) into totals. The master's only: a worker's counts
  // outlive it this way.
  void foldInto(WorkerCounters& totals) const;
};

}  // namespace appserver::server
