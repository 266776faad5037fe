// scoreboard.cc: the shared slot array.
//
// Thread: see scoreboard.h.
#include "scoreboard.h"

#include <sys/mman.h>
#include <time.h>

#include <new>

#include "check.h"

namespace appserver::server {

Scoreboard::Scoreboard(size_t capacity) : capacity_(capacity) {
  void* memory = ::mmap(nullptr, capacity * sizeof(WorkerSlot), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  APPSERVER_CHECK(memory != MAP_FAILED);
  slots_ = new (memory) WorkerSlot[capacity];
}

Scoreboard::~Scoreboard() { ::munmap(slots_, capacity_ * sizeof(WorkerSlot)); }

WorkerSlot* Scoreboard::claim() {
  for (size_t i = 0; i < capacity_; ++i) {
    if (slots_[i].pid.load() == 0) {
      slots_[i].heartbeat_ms.store(nowMs());
      slots_[i].ready.store(false);
      slots_[i].retire.store(false);
      slots_[i].pid.store(-1);  // taken until the master stores the real pid
      return &slots_[i];
    }
  }
  return nullptr;
}

int64_t Scoreboard::nowMs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace appserver::server
