// app_runner.h: where application calls run: inline on the loop thread, or on a pool.
//
// With --threads 1 a job runs at once on the loop thread (no handoff: the lowest latency),
// which keeps the GIL from one job to the next until the loop is about to wait for events.
// With --threads N, N threads with their own Python thread states take jobs from a queue
// and hand them back to the loop through a uv_async_t, so the loop keeps serving other
// connections while an app waits on its database.
// Load shedding (--max-pending, --queue-timeout) applies to new requests (start()), never
// to a response already under way (submit()). With a pool the bound is on its queue: a
// request that finds max_pending others waiting for a free thread is refused at once, and
// one still waiting when the timeout passes is taken out of the queue (jobExpired()).
// Inline, requests wait in the kernel while the loop runs another request's app: the ones
// the loop finds ready in one turn run one after another, so beyond max_pending of them in
// a turn the rest are refused, as is a request whose last byte arrived longer ago than the
// timeout (AppJob::waitedMs()).
// Each running job is published in its thread's RequestRecord (scoreboard.h), where the
// master sees it; with a pool the loop asks overdue() for jobs past --timeout.
// Thread: start(), submit(), overdue() and done() on the loop thread; run() on whichever
// thread runs the job.
#pragma once

#include <uv.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "scoreboard.h"

namespace appserver::server {

class AppJob {
 public:
  virtual ~AppJob() = default;
  virtual void runJob() = 0;      // the application call (any thread)
  virtual void jobDone() = 0;     // back on the loop thread
  virtual void jobExpired() = 0;  // loop thread: a start() that waited past the timeout, unrun
  // Milliseconds since the request's last byte reached this host (inline runner with a
  // timeout only: the loop may have been busy with another app meanwhile).
  virtual int64_t waitedMs() const = 0;
  // What the job's RequestRecord shows while it runs (the running thread, before runJob()).
  virtual RequestRecord::Facts describe() = 0;
  // Loop thread, pool only: the job has run past --timeout on the Python thread python_thread
  // (embed::PythonThread::id()); it is still running, or its jobDone() is on its way.
  virtual void jobOverdue(uint64_t python_thread) = 0;
};

// --max-pending and --queue-timeout; zero means no bound.
struct QueueLimits {
  int max_pending = 0;
  double timeout = 0;  // seconds
};

class AppRunner {
 public:
  // threads: 1 runs jobs inline; more starts a pool. The pool threads start here.
  // slot: the worker's, with a RequestRecord per thread; busy_threads is kept there too.
  AppRunner(uv_loop_t* loop, int threads, QueueLimits limits, WorkerSlot& slot);
  ~AppRunner();
  AppRunner(const AppRunner&) = delete;
  AppRunner& operator=(const AppRunner&) = delete;

  // A new request's call, unless the limits refuse it: then nothing ran and the reason is
  // returned (the caller answers 503).
  std::optional<ShedReason> start(AppJob* job);
  // More of a call under way (pulling a streaming response): always runs.
  void submit(AppJob* job);
  // Jobs submitted and not yet done.
  int busy() const { return busy_; }
  // Pool only: calls jobOverdue() once for each job that began before started_before
  // (Scoreboard::nowMs() time) and is still running.
  void checkOverdue(int64_t started_before);
  // Stops the pool threads once their current jobs end and closes the loop handles.
  // Returns false if a job is still running (a stuck app): its thread is then left behind.
  bool stop();

 private:
  friend struct RunnerCallbacks;
  using Clock = std::chrono::steady_clock;
  struct Queued {
    AppJob* job;
    bool start;                 // from start(): may expire
    Clock::time_point expires;  // for a start with --queue-timeout: refused if still queued
  };

  void runInline(AppJob* job);
  void workerLoop(size_t index);
  void handleAsync();
  // Takes the starts whose time is up out of the queue and refuses them (jobExpired()).
  void expireWaiting();
  void armExpiry(Clock::duration after);

  // A pool thread's job in progress, as the loop sees it.
  struct Running {
    AppJob* job = nullptr;
    uint64_t python_thread = 0;
    bool reported = false;  // jobOverdue() was called for this job
  };

  uv_loop_t* loop_;
  QueueLimits limits_;
  WorkerSlot& slot_;
  WorkerCounters& counters_;
  uv_async_t async_{};
  bool async_open_ = false;
  uv_prepare_t before_poll_{};  // inline: gives back the GIL the turn's calls kept
  bool before_poll_open_ = false;
  uv_check_t turn_{};  // inline with --max-pending: marks the end of each loop turn
  bool turn_open_ = false;
  uv_timer_t expiry_{};  // a pool with --queue-timeout: when the oldest waiting start expires
  bool expiry_open_ = false;
  int started_this_turn_ = 0;  // inline: start()s in the current loop turn
  int busy_ = 0;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Queued> queue_;     // guarded by mutex_
  size_t running_ = 0;           // guarded by mutex_: jobs the pool threads run now
  std::vector<Running> in_progress_;  // guarded by mutex_: one per pool thread
  std::deque<AppJob*> done_;     // guarded by mutex_
  bool stopping_ = false;        // guarded by mutex_
};

}  // namespace appserver::server
