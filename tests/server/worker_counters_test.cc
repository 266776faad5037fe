// worker_counters_test.cc: what one response, one JWT refusal or one shed request adds to
// a slot's counters, histogram bucket edges, and folding a slot into totals.
// Thread: the test's main thread.
#include "worker_counters.h"

#include <gtest/gtest.h>

#include <chrono>

namespace appserver::server {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

uint64_t at(const Histogram& h, size_t bucket) { return h.buckets[bucket].load(); }

TEST(WorkerCounters, CountsResponsesByStatusClass) {
  WorkerCounters c;
  for (int status : {101, 200, 204, 304, 404, 401, 503}) {
    c.responded(status, microseconds(1));
  }
  EXPECT_EQ(c.responses[0].load(), 1u);  // 1xx
  EXPECT_EQ(c.responses[1].load(), 2u);
  EXPECT_EQ(c.responses[2].load(), 1u);
  EXPECT_EQ(c.responses[3].load(), 2u);
  EXPECT_EQ(c.responses[4].load(), 1u);  // 5xx
}

TEST(WorkerCounters, PutsAValueOnABoundInThatBoundsBucket) {
  Histogram h;
  h.observe(milliseconds(5));       // le="0.005": bounds are inclusive
  h.observe(microseconds(5001));    // le="0.01"
  h.observe(microseconds(0));       // le="0.005"
  h.observe(milliseconds(10000));   // le="10"
  h.observe(milliseconds(10001));   // +Inf
  h.observe(microseconds(-3));      // a clock that went back counts as 0
  EXPECT_EQ(at(h, 0), 3u);
  EXPECT_EQ(at(h, 1), 1u);
  EXPECT_EQ(at(h, kBucketBounds.size() - 1), 1u);
  EXPECT_EQ(at(h, kBucketBounds.size()), 1u);
  EXPECT_EQ(h.sum_us.load(), 5000u + 5001u + 10000000u + 10001000u);
}

TEST(WorkerCounters, RecordsTheDurationOfEachResponse) {
  WorkerCounters c;
  c.responded(200, milliseconds(30));  // le="0.05"
  EXPECT_EQ(at(c.duration, 3), 1u);
  EXPECT_EQ(c.duration.sum_us.load(), 30000u);
}

TEST(WorkerCounters, CountsRefusalsAndShedRequestsByReason) {
  WorkerCounters c;
  c.refused(JwtRefusal::Expired);
  c.refused(JwtRefusal::Expired);
  c.refused(JwtRefusal::Missing);
  c.shedOne(ShedReason::QueueTimeout);
  EXPECT_EQ(c.jwt_refusals[static_cast<size_t>(JwtRefusal::Expired)].load(), 2u);
  EXPECT_EQ(c.jwt_refusals[static_cast<size_t>(JwtRefusal::Missing)].load(), 1u);
  EXPECT_EQ(c.jwt_refusals[static_cast<size_t>(JwtRefusal::Revoked)].load(), 0u);
  EXPECT_EQ(c.shed[static_cast<size_t>(ShedReason::QueueTimeout)].load(), 1u);
  EXPECT_EQ(c.shed[static_cast<size_t>(ShedReason::MaxPending)].load(), 0u);
}

TEST(WorkerCounters, FoldsEveryCounterButNoGaugeIntoTotals) {
  WorkerCounters worker;
  worker.responded(200, milliseconds(1));
  worker.accept_wait.observe(milliseconds(2));
  worker.refused(JwtRefusal::BadSignature);
  worker.shedOne(ShedReason::MaxPending);
  bump<uint64_t>(worker.static_hits, 4);
  bump<uint64_t>(worker.static_misses);
  bump<int64_t>(worker.in_flight);
  worker.connections.store(7);
  worker.busy_threads.store(1);
  WorkerCounters totals;
  worker.foldInto(totals);
  worker.foldInto(totals);
  EXPECT_EQ(totals.responses[1].load(), 2u);
  EXPECT_EQ(at(totals.duration, 0), 2u);
  EXPECT_EQ(totals.duration.sum_us.load(), 2000u);
  EXPECT_EQ(at(totals.accept_wait, 0), 2u);
  EXPECT_EQ(totals.jwt_refusals[static_cast<size_t>(JwtRefusal::BadSignature)].load(), 2u);
  EXPECT_EQ(totals.shed[static_cast<size_t>(ShedReason::MaxPending)].load(), 2u);
  EXPECT_EQ(totals.static_hits.load(), 8u);
  EXPECT_EQ(totals.static_misses.load(), 2u);
  EXPECT_EQ(totals.in_flight.load(), 0);
  EXPECT_EQ(totals.connections.load(), 0);
  EXPECT_EQ(totals.busy_threads.load(), 0);
}

}  // namespace
}  // namespace appserver::server
