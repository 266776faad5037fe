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
  EXPECT_TRUE(balance.mayAccept(0, 0));
  EXPECT_TRUE(balance.mayAccept(1000, 0));
}

TEST_F(AcceptBalanceTest, TwoWorkersEndAtMostTwoApart) {
  live(slots[1], 11);
  balance.findPeers();
  holds(slots[1], 5);
  EXPECT_TRUE(balance.withinShare(5));
  EXPECT_TRUE(balance.withinShare(6));  // then holds 7 against 5
  EXPECT_FALSE(balance.withinShare(7));
  EXPECT_FALSE(balance.mayAccept(7, 0));
}

TEST_F(AcceptBalanceTest, CountsOnlyPeersThatAccept) {
  for (int i = 1; i < 4; ++i) {
    live(slots[i], 10 + i);
    holds(slots[i], 0);
  }
  slots[1].ready.store(false);  // still importing the app
  slots[2].retire.store(true);  // asked to be replaced
  balance.findPeers();
  EXPECT_TRUE(balance.mayAccept(1, 0));
  EXPECT_FALSE(balance.mayAccept(2, 0));  // against slot 3 alone
  slots[3].pid.store(0);                  // gone since findPeers()
  EXPECT_TRUE(balance.mayAccept(50, 1));
}

TEST_F(AcceptBalanceTest, FindsPeersStartedLater) {
  EXPECT_TRUE(balance.mayAccept(9, 0));
  live(slots[3], 13);
  EXPECT_TRUE(balance.mayAccept(9, 0));  // not looked for yet
  balance.findPeers();
  EXPECT_FALSE(balance.mayAccept(9, 0));
}

TEST_F(AcceptBalanceTest, TakesTheClientWhenThePeersTakeNoneForAWhile) {
  live(slots[1], 11);
  balance.findPeers();
  const int64_t t = 1000;
  const int64_t stall = AcceptBalance::kPeerStallMs;
  EXPECT_FALSE(balance.mayAccept(10, t));
  EXPECT_FALSE(balance.mayAccept(10, t + 1));
  EXPECT_FALSE(balance.mayAccept(10, t + stall - 1));
  EXPECT_TRUE(balance.mayAccept(10, t + stall));  // the peer is busy or stuck
  EXPECT_TRUE(balance.mayAccept(11, t + stall + 1));  // and stays so
  holds(slots[1], 1);  // the peer moves: it gets the next client again
  EXPECT_FALSE(balance.mayAccept(12, t + stall + 2));
}

TEST_F(AcceptBalanceTest, AWaitThatMovedOnStartsAgain) {
  live(slots[1], 11);
  balance.findPeers();
  const int64_t stall = AcceptBalance::kPeerStallMs;
  EXPECT_FALSE(balance.mayAccept(10, 0));
  // Asked again long after: the queue was empty meanwhile, this is another client.
  EXPECT_FALSE(balance.mayAccept(10, 10 * stall));
  EXPECT_TRUE(balance.mayAccept(10, 11 * stall));
}

TEST_F(AcceptBalanceTest, BackWithinTheShareAcceptsAtOnce) {
  live(slots[1], 11);
  balance.findPeers();
  holds(slots[1], 4);
  EXPECT_FALSE(balance.mayAccept(6, 0));
  holds(slots[1], 5);  // the peer took one
  EXPECT_TRUE(balance.mayAccept(6, 1));
}

}  // namespace
}  // namespace appserver::server
