// scoreboard.h: shared memory between the master and its workers, one slot per worker.
//
// Mapped by the master before any fork (MAP_SHARED | MAP_ANONYMOUS), so every worker
// inherits it without IPC. A worker stamps its slot's heartbeat once a second from its
// loop; the master kills a worker whose heartbeat is older than --timeout (Gunicorn's
// meaning: with --threads 1 a request that runs longer than the timeout stalls the loop
// and costs the worker its life). Clock: CLOCK_MONOTONIC, which all processes share.
// Thread: slots are written by their worker's loop thread and read by the master.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace appserver::server {

struct alignas(64) WorkerSlot {  // one cache line each: workers never share a line
  std::atomic<pid_t> pid{0};     // 0: free
  std::atomic<int64_t> heartbeat_ms{0};
  std::atomic<bool> ready{false};   // the app is imported and the worker accepts
  std::atomic<bool> retire{false};  // the worker asks to be replaced (--max-requests, memory)
};

class Scoreboard {
 public:
  // Maps capacity slots. Aborts if the kernel refuses the mapping.
  explicit Scoreboard(size_t capacity);
  ~Scoreboard();
  Scoreboard(const Scoreboard&) = delete;
  Scoreboard& operator=(const Scoreboard&) = delete;

  // A free slot for a new worker, stamped as alive now; nullptr when all are taken.
  // The master fills in the pid after fork() and stores 0 again once it reaped the worker.
  WorkerSlot* claim();

  // Milliseconds on the shared monotonic clock.
  static int64_t nowMs();

 private:
  WorkerSlot* slots_;
  size_t capacity_;
};

}  // namespace appserver::server
