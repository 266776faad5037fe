// worker_counters.cc: recording into a slot's counters, and folding them into totals.
//
// Thread: see worker_counters.h.
#include "worker_counters.h"

#include <algorithm>

namespace appserver::server {

namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

// kBucketBounds in microseconds, for integer compares on the request path.
constexpr std::array<int64_t, kBucketBounds.size()> boundsUs() {
  std::array<int64_t, kBucketBounds.size()> us{};
  for (size_t i = 0; i < us.size(); ++i) {
    us[i] = static_cast<int64_t>(kBucketBounds[i] * 1e6 + 0.5);
  }
  return us;
}
constexpr std::array<int64_t, kBucketBounds.size()> kBoundsUs = boundsUs();

void add(const std::atomic<uint64_t>& from, std::atomic<uint64_t>& to) {
  to.fetch_add(from.load(kRelaxed), kRelaxed);
}

template <size_t N>
void add(const std::array<std::atomic<uint64_t>, N>& from, std::array<std::atomic<uint64_t>, N>& to) {
  for (size_t i = 0; i < N; ++i) {
    add(from[i], to[i]);
  }
}

void add(const Histogram& from, Histogram& to) {
  add(from.buckets, to.buckets);
  add(from.sum_us, to.sum_us);
}

}  // namespace

void Histogram::observe(std::chrono::microseconds value) {
  const int64_t us = std::max<int64_t>(value.count(), 0);
  // Bounds are inclusive (Prometheus's le): a value equal to a bound falls in its bucket.
  // A linear scan: most requests end in the first buckets, after a compare or two.
  size_t bucket = 0;
  while (bucket < kBoundsUs.size() && us > kBoundsUs[bucket]) {
    ++bucket;
  }
  bump<uint64_t>(buckets[bucket]);
  bump<uint64_t>(sum_us, static_cast<uint64_t>(us));
}

void WorkerCounters::responded(int status, std::chrono::microseconds took) {
  bump<uint64_t>(responses[static_cast<size_t>(std::clamp(status / 100, 1, 5) - 1)]);
  duration.observe(took);
}

void WorkerCounters::foldInto(WorkerCounters& totals) const {
  // Every counter of the struct; gauges are not summed over time.
  add(responses, totals.responses);
  add(duration, totals.duration);
  add(accept_wait, totals.accept_wait);
  add(jwt_refusals, totals.jwt_refusals);
  add(shed, totals.shed);
  add(static_hits, totals.static_hits);
  add(static_misses, totals.static_misses);
}

}  // namespace appserver::server
