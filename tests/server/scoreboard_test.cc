// scoreboard_test.cc: the Scoreboard's slots and the RequestRecords the timeouts read.
//
// Thread: the test's main thread (one test writes from a second thread while it reads).
#include "scoreboard.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

namespace appserver::server {
namespace {

RequestRecord::Facts facts(std::string_view target, std::string_view id, int fd) {
  return {.method = "GET", .target = target, .protocol = "HTTP/1.1", .id = id, .answer_fd = fd,
          .remote_addr = "192.0.2.7", .request_start_us = 1'700'000'000'000'123, .body_sent = 42};
}

TEST(Scoreboard, GivesEachSlotARecordPerThread) {
  Scoreboard board(3, 4);
  WorkerSlot* a = board.claim();
  a->pid.store(1);
  WorkerSlot* b = board.claim();
  ASSERT_NE(a, b);
  EXPECT_EQ(a->requests.size(), 4u);
  EXPECT_EQ(b->requests.size(), 4u);
  EXPECT_GE(b->requests.data(), a->requests.data() + 4);  // never overlapping
}

TEST(Scoreboard, ShowsOnlyTheSlotsTakenSoFarAndReusesTheLowestFree) {
  Scoreboard board(3);
  EXPECT_TRUE(board.slots().empty());
  WorkerSlot* a = board.claim();
  WorkerSlot* b = board.claim();
  ASSERT_EQ(board.slots().size(), 2u);
  EXPECT_EQ(&board.slots()[0], a);
  EXPECT_EQ(&board.slots()[1], b);
  a->pid.store(0);  // reaped: its slot is taken again before a new one is built
  EXPECT_EQ(board.claim(), a);
  EXPECT_EQ(board.slots().size(), 2u);
  EXPECT_NE(board.claim(), nullptr);
  EXPECT_EQ(board.slots().size(), 3u);
  EXPECT_EQ(board.claim(), nullptr);  // all three held
}

TEST(Scoreboard, ClaimsASlotWithIdleRecordsAndNoTimeout) {
  Scoreboard board(1, 2);
  WorkerSlot* slot = board.claim();
  slot->requests[1].publish(5, facts("/", "x", 3));
  slot->timed_out.store(true);
  slot->pid.store(0);  // reaped
  slot = board.claim();
  EXPECT_FALSE(slot->timed_out.load());
  RequestRecord::Snapshot call;
  EXPECT_FALSE(slot->requests[1].read(call));
}

TEST(RequestRecord, ShowsThePublishedCall) {
  RequestRecord record;
  RequestRecord::Snapshot call;
  EXPECT_FALSE(record.read(call));
  record.publish(1234, facts("/slow?x=1", "abc", 7));
  ASSERT_TRUE(record.read(call));
  EXPECT_EQ(call.started_ms, 1234);
  EXPECT_EQ(call.answer_fd, 7);
  EXPECT_STREQ(call.line, "GET /slow?x=1 HTTP/1.1");
  EXPECT_STREQ(call.id, "abc");
  EXPECT_STREQ(call.remote, "192.0.2.7");
  EXPECT_EQ(call.request_start_us, 1'700'000'000'000'123);
  EXPECT_EQ(call.body_sent, 42u);
  EXPECT_EQ(record.startedMs(), 1234);
  record.clear();
  EXPECT_FALSE(record.read(call));
  EXPECT_EQ(record.startedMs(), 0);
}

TEST(RequestRecord, CutsALongRequestLineToFit) {
  RequestRecord record;
  const std::string target = "/" + std::string(1000, 'a');
  record.publish(1, facts(target, std::string(RequestIds::kMaxLength, 'i'), -1));
  RequestRecord::Snapshot call;
  ASSERT_TRUE(record.read(call));
  EXPECT_EQ(std::string(call.line), ("GET " + target).substr(0, RequestRecord::kLineBytes - 1));
  EXPECT_EQ(std::string(call.id), std::string(RequestIds::kMaxLength, 'i'));
  const std::string remote(200, '6');  // no IP address is this long: cut anyway
  RequestRecord::Facts long_remote = facts("/", "i", -1);
  long_remote.remote_addr = remote;
  record.publish(2, long_remote);
  ASSERT_TRUE(record.read(call));
  EXPECT_EQ(std::string(call.remote), std::string(RequestRecord::kRemoteBytes - 1, '6'));
}

TEST(RequestRecord, WithdrawsOnlyTheAnsweredDescriptor) {
  RequestRecord record;
  record.publish(1, facts("/", "a", 9));
  record.withdrawAnswer(8);  // another connection's: the thread has moved on
  RequestRecord::Snapshot call;
  ASSERT_TRUE(record.read(call));
  EXPECT_EQ(call.answer_fd, 9);
  record.withdrawAnswer(9);
  ASSERT_TRUE(record.read(call));
  EXPECT_EQ(call.answer_fd, -1);
}

TEST(RequestRecord, NeverShowsHalfOfOneCallAndHalfOfAnother) {
  RequestRecord record;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 1; i < 200000; ++i) {
      const bool even = i % 2 == 0;
      record.publish(i, facts(even ? "/even" : "/odd-target", even ? "even-id" : "odd", -1));
    }
    done.store(true);
  });
  int consistent = 0;
  while (!done.load()) {
    RequestRecord::Snapshot call;
    if (record.read(call)) {
      const bool even = call.started_ms % 2 == 0;
      ASSERT_STREQ(call.line, even ? "GET /even HTTP/1.1" : "GET /odd-target HTTP/1.1");
      ASSERT_STREQ(call.id, even ? "even-id" : "odd");
      ++consistent;
    }
  }
  writer.join();
  EXPECT_GT(consistent, 0);
}

}  // namespace
}  // namespace appserver::server
