// accept_balance.cc: the share rule and the stalled-peer escape (accept_balance.h).
//
// Thread: the worker's loop thread.
#include "accept_balance.h"

#include <utility>

namespace appserver::server {

AcceptBalance::AcceptBalance(Slots slots, const WorkerSlot& own)
    : slots_(std::move(slots)), own_(own) {}

void AcceptBalance::findPeers() {
  peers_.clear();
  for (const WorkerSlot& slot : slots_()) {
    if (&slot != &own_ && slot.pid.load(std::memory_order_relaxed) != 0) {
      peers_.push_back(&slot);
    }
  }
}

bool AcceptBalance::withinShare(size_t held, size_t waiting) {
  peers_held_now_ = 0;
  int64_t workers = 1;
  for (const WorkerSlot* peer : peers_) {
    // Peers that accept: booted, not asking to be replaced, still alive.
    if (peer->pid.load(std::memory_order_relaxed) > 0 &&
        peer->ready.load(std::memory_order_relaxed) &&
        !peer->retire.load(std::memory_order_relaxed)) {
      peers_held_now_ += peer->counters.connections.load(std::memory_order_relaxed);
      ++workers;
    }
  }
  // Fewer than the mean plus one, counting the waiting clients but the one to take: two
  // workers end at most two apart.
  const auto mine = static_cast<int64_t>(held);
  const auto others_to_come = static_cast<int64_t>(waiting) - 1;
  return mine * workers < mine + peers_held_now_ + others_to_come + workers;
}

bool AcceptBalance::mayAccept(size_t held, size_t waiting, int64_t now_ms) {
  if (withinShare(held, waiting)) {
    waiting_since_ms_ = -1;
    return true;
  }
  const bool new_wait = waiting_since_ms_ < 0 || now_ms - asked_ms_ > kPeerStallMs;
  asked_ms_ = now_ms;
  if (new_wait || peers_held_now_ != peers_held_) {
    waiting_since_ms_ = now_ms;  // the peers are there, or move: give them the client
    peers_held_ = peers_held_now_;
    return false;
  }
  return now_ms - waiting_since_ms_ >= kPeerStallMs;
}

}  // namespace appserver::server
