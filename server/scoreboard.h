// scoreboard.h: shared memory between the master and its workers, one slot per worker.
//
// Mapped by the master before any fork (MAP_SHARED | MAP_ANONYMOUS), so every worker
// inherits it without IPC. A worker stamps its slot's heartbeat once a second from its
// loop, and each of its app threads publishes the call it runs in a RequestRecord: when it
// began, its request line and request id, and the socket a 504 may still be written to.
// The master reads them to enforce --timeout (master.cc); the worker's own loop reads them
// with --threads N, and its SIGABRT handler to answer 504 (abort_handler.h). Clock:
// CLOCK_MONOTONIC, which all processes share. Each slot also holds its worker's counters
// for /metrics (worker_counters.h).
// Thread: a slot is written by its worker (heartbeat by the loop thread, each record by the
// app thread it belongs to), timed_out by the master; the master reads everything.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "request_id.h"
#include "worker_counters.h"

namespace appserver::server {

// One application call in progress. The text fields are guarded by a sequence count (odd
// while they change), so a reader never takes half of one request and half of the next.
class RequestRecord {
 public:
  static constexpr size_t kLineBytes = 256;   // of the request line, cut to fit
  static constexpr size_t kRemoteBytes = 64;  // of the client's address, cut to fit

  // What a call shows while it runs (AppJob::describe).
  struct Facts {
    std::string_view method, target, protocol;
    std::string_view id;
    int answer_fd = -1;  // the client's socket while no byte of the response is out, else -1
    // For the access line the master writes when it ends the call (master.cc):
    std::string_view remote_addr;
    int64_t request_start_us = 0;  // when the request began: system clock, since the epoch
    uint64_t body_sent = 0;        // body bytes handed to the connection so far
  };
  // A consistent copy, for the master's log lines and the abort handler.
  struct Snapshot {
    int64_t started_ms = 0;
    int answer_fd = -1;
    char line[kLineBytes];
    char id[RequestIds::kMaxLength + 1];
    char remote[kRemoteBytes];
    int64_t request_start_us = 0;
    uint64_t body_sent = 0;
  };

  // The writer, as a call begins (now: Scoreboard::nowMs()) and ends.
  void publish(int64_t now, const Facts& facts);
  void clear();
  // Withdraws the descriptor once fd has been answered otherwise (the loop's 504). Any thread.
  void withdrawAnswer(int fd);

  // When the call in progress began; 0 when there is none.
  int64_t startedMs() const { return started_ms_.load(std::memory_order_acquire); }
  // Copies the record; false when no call is in progress. Async-signal-safe.
  bool read(Snapshot& out) const;

 private:
  std::atomic<uint32_t> sequence_{0};
  std::atomic<int64_t> started_ms_{0};
  std::atomic<int> answer_fd_{-1};
  char line_[kLineBytes] = {};
  char id_[RequestIds::kMaxLength + 1] = {};
  char remote_[kRemoteBytes] = {};
  std::atomic<int64_t> request_start_us_{0};
  std::atomic<uint64_t> body_sent_{0};
};

struct alignas(64) WorkerSlot {  // one cache line each: workers never share a line
  std::atomic<pid_t> pid{0};     // 0: free
  std::atomic<int64_t> heartbeat_ms{0};
  std::atomic<bool> ready{false};   // the app is imported and the worker accepts
  std::atomic<bool> retire{false};  // the worker asks to be replaced (--max-requests, memory)
  std::atomic<RestartCause> retire_cause{RestartCause::MaxRequests};  // why, set before retire
  // Set by the master before it sends SIGABRT for --timeout: the worker answers 504 and exits.
  std::atomic<bool> timed_out{false};
  WorkerCounters counters;
  std::span<RequestRecord> requests;  // one per app thread (the loop's with --threads 1)
};

class Scoreboard {
 public:
  // Maps capacity slots with threads request records each. Aborts if the kernel refuses
  // the mapping. A slot's records are written (and so take memory) once it is claimed.
  explicit Scoreboard(size_t capacity, size_t threads = 1);
  ~Scoreboard();
  Scoreboard(const Scoreboard&) = delete;
  Scoreboard& operator=(const Scoreboard&) = delete;

  // A free slot for a new worker, stamped as alive now, its counters zero and its records
  // idle; nullptr when all are taken.
  // The master fills in the pid after fork() and stores 0 again once it reaped the worker.
  WorkerSlot* claim();
  // Every slot a worker has held so far, free ones (pid 0) included. Slots are taken lowest
  // first and built when first taken, so a reader never touches the pages of the rest (a
  // worker's RSS: the whole array is about 1 MiB).
  std::span<const WorkerSlot> slots() const {
    return {slots_, header_->used.load(std::memory_order_acquire)};
  }

  // Milliseconds on the shared monotonic clock.
  static int64_t nowMs();

 private:
  struct Header {
    std::atomic<size_t> used{0};  // slots built so far: [0, used)
  };
  Header* header_;
  WorkerSlot* slots_;
  RequestRecord* records_;
  size_t capacity_;
  size_t threads_;
  size_t bytes_;
};

}  // namespace appserver::server
