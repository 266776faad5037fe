// accept_balance.h: whether a worker takes the next client from the shared listen queue or
// leaves it to a worker that holds fewer connections.
//
// All workers poll the same listening sockets, and a keep-alive connection stays with the
// worker that accepted it. When a burst of clients arrives (a load balancer's or wrk's pool
// opening at once), whichever worker is awake first would take most of them and serve them
// all while the others idle. So a worker accepts only while it holds no more than its share
// of the connections its peers and it hold (counted in the scoreboard,
// WorkerCounters::connections), and otherwise stops polling for a moment (the caller's
// timer) so that a peer takes the client. Clients still in the listen queue count in the
// share: a burst is split among the workers at once, instead of each (busy) worker taking
// one or two per loop turn while the others' clients wait. A peer that takes nothing for
// kPeerStallMs while a client waits is busy (in the app, with --threads 1) or gone: then
// the client is taken anyway, and the share applies again once any peer's count moves.
// Thread: the worker's loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "scoreboard.h"

namespace appserver::server {

class AcceptBalance {
 public:
  // How long clients may wait for peers that take none of them.
  static constexpr int64_t kPeerStallMs = 5;

  // What findPeers() reads: the scoreboard's slots as they are now (Scoreboard::slots).
  using Slots = std::function<std::span<const WorkerSlot>()>;

  // own: this worker's slot among slots().
  AcceptBalance(Slots slots, const WorkerSlot& own);

  // Looks again for the slots of live peers (new workers after HUP, TTIN or a restart).
  void findPeers();
  // Whether this worker, holding `held` connections, may take one more of the `waiting`
  // clients in the listen queue (at least 1: the one it would take) and stay within its
  // share of all the connections once every waiting client is taken.
  bool withinShare(size_t held, size_t waiting);
  // Whether to accept a waiting client now, holding `held` connections, with `waiting` in
  // the queue, at now_ms (any millisecond clock). false: leave it to the peers and ask
  // again within kPeerStallMs (a later question counts as a new wait).
  bool mayAccept(size_t held, size_t waiting, int64_t now_ms);

 private:
  Slots slots_;
  const WorkerSlot& own_;
  std::vector<const WorkerSlot*> peers_;  // slots that held a live worker when last looked
  int64_t waiting_since_ms_ = -1;         // since when clients are left to the peers; -1: not
  int64_t asked_ms_ = 0;                  // the last mayAccept() while over the share
  int64_t peers_held_ = 0;                // the peers' connections when the wait began
  int64_t peers_held_now_ = 0;            // as withinShare() last counted them
};

}  // namespace appserver::server
