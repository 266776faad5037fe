// accept_balance_test.cc: when a worker takes a waiting client and when it leaves it to its
// peers, over scoreboard slots in plain memory.
// Thread: the test's main thread.
#include "accept_balance.h"

#include <gtest/gtest.h>

#include <array>

namespace appserver::server {
namespace {

class AcceptBalanceTest : public ::testing::Test {
 protected:
  AcceptBalanceTest() {
    live(own(), 10);
    balance.findPeers();
  }
  WorkerSlot& own() { return slots[0]; }
  // Marks a slot as a booted worker.
  void live(WorkerSlot& slot, pid_t pid) {
    slot.pid.store(pid);
    slot.ready.store(true);
  }
  void holds(WorkerSlot& slot, int64_t connections) { slot.counters.connections.store(connections); }

  std::array<WorkerSlot, 4> slots;
  AcceptBalance balance{[this] { return std::span<const WorkerSlot>(slots); }, slots[0]};
};

TEST_F(AcceptBalanceTest, AloneTakesEveryClient) {
  EXPECT_TRUE(balance.mayAccept(0, 1, 0));
  EXPECT_TRUE(balance.mayAccept(1000, 1, 0));
}

TEST_F(AcceptBalanceTest, TwoWorkersEndAtMostTwoApart) {
  live(slots[1], 11);
  balance.findPeers();
  holds(slots[1], 5);
  EXPECT_TRUE(balance.withinShare(5, 1));
  EXPECT_TRUE(balance.withinShare(6, 1));  // then holds 7 against 5
  EXPECT_FALSE(balance.withinShare(7, 1));
  EXPECT_FALSE(balance.mayAccept(7, 1, 0));
}

// How many of `waiting` queued clients a worker holding `held` takes in one go, as
// Worker::handleListenable does.
size_t takesAtOnce(AcceptBalance& balance, size_t held, size_t waiting) {
  size_t taken = 0;
  if (!balance.mayAccept(held, waiting, 0)) {
    return taken;
  }
  do {
    ++taken;
    --waiting;
  } while (waiting > 0 && balance.withinShare(held + taken, waiting));
  return taken;
}

TEST_F(AcceptBalanceTest, AQueuedBurstIsSplitAtOnce) {
  live(slots[1], 11);
  balance.findPeers();
  EXPECT_EQ(takesAtOnce(balance, 0, 64), 33u);  // before the peer has taken any
  holds(slots[1], 31);
  EXPECT_EQ(takesAtOnce(balance, 33, 20), 10u);  // holds 43; the peer 31 and 10 to come
}

TEST_F(AcceptBalanceTest, AQueueThePeersCanTakeIsLeftToThem) {
  live(slots[1], 11);
  live(slots[2], 12);
  balance.findPeers();
  holds(slots[1], 10);
  holds(slots[2], 10);
  // 13 of the 35 held once two more are taken is over the mean plus one; of 38, it is not.
  EXPECT_FALSE(balance.mayAccept(13, 3, 0));
  EXPECT_TRUE(balance.withinShare(13, 6));
}

TEST_F(AcceptBalanceTest, CountsOnlyPeersThatAccept) {
  for (int i = 1; i < 4; ++i) {
    live(slots[i], 10 + i);
    holds(slots[i], 0);
  }
  slots[1].ready.store(false);  // still importing the app
  slots[2].retire.store(true);  // asked to be replaced
  balance.findPeers();
  EXPECT_TRUE(balance.mayAccept(1, 1, 0));
  EXPECT_FALSE(balance.mayAccept(2, 1, 0));  // against slot 3 alone
  slots[3].pid.store(0);                  // gone since findPeers()
  EXPECT_TRUE(balance.mayAccept(50, 1, 1));
}

TEST_F(AcceptBalanceTest, FindsPeersStartedLater) {
  EXPECT_TRUE(balance.mayAccept(9, 1, 0));
  live(slots[3], 13);
  EXPECT_TRUE(balance.mayAccept(9, 1, 0));  // not looked for yet
  balance.findPeers();
  EXPECT_FALSE(balance.mayAccept(9, 1, 0));
}

TEST_F(AcceptBalanceTest, TakesTheClientWhenThePeersTakeNoneForAWhile) {
  live(slots[1], 11);
  balance.findPeers();
  const int64_t t = 1000;
  const int64_t stall = AcceptBalance::kPeerStallMs;
  EXPECT_FALSE(balance.mayAccept(10, 1, t));
  EXPECT_FALSE(balance.mayAccept(10, 1, t + 1));
  EXPECT_FALSE(balance.mayAccept(10, 1, t + stall - 1));
  EXPECT_TRUE(balance.mayAccept(10, 1, t + stall));  // the peer is busy or stuck
  EXPECT_TRUE(balance.mayAccept(11, 1, t + stall + 1));  // and stays so
  holds(slots[1], 1);  // the peer moves: it gets the next client again
  EXPECT_FALSE(balance.mayAccept(12, 1, t + stall + 2));
}

TEST_F(AcceptBalanceTest, AWaitThatMovedOnStartsAgain) {
  live(slots[1], 11);
  balance.findPeers();
  const int64_t stall = AcceptBalance::kPeerStallMs;
  EXPECT_FALSE(balance.mayAccept(10, 1, 0));
  // Asked again long after: the queue was empty meanwhile, this is another client.
  EXPECT_FALSE(balance.mayAccept(10, 1, 10 * stall));
  EXPECT_TRUE(balance.mayAccept(10, 1, 11 * stall));
}

TEST_F(AcceptBalanceTest, BackWithinTheShareAcceptsAtOnce) {
  live(slots[1], 11);
  balance.findPeers();
  holds(slots[1], 4);
  EXPECT_FALSE(balance.mayAccept(6, 1, 0));
  holds(slots[1], 5);  // the peer took one
  EXPECT_TRUE(balance.mayAccept(6, 1, 1));
}

}  // namespace
}  // namespace appserver::server
