// app_runner.h: where application calls run: inline on the loop thread, or on a pool.
//
// With --threads 1 a job runs at once on the loop thread (no handoff: the lowest latency).
// With --threads N, N threads with their own Python thread states take jobs from a queue
// and hand them back to the loop through a uv_async_t, so the loop keeps serving other
// connections while an app waits on its database.
// Thread: submit() and done() on the loop thread; run() on whichever thread runs the job.
#pragma once

#include <uv.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace appserver::server {

class AppJob {
 public:
  virtual ~AppJob() = default;
  virtual void runJob() = 0;   // the application call (any thread)
  virtual void jobDone() = 0;  // back on the loop thread
};

class AppRunner {
 public:
  // threads: 1 runs jobs inline; more starts a pool. The pool threads start here.
  AppRunner(uv_loop_t* loop, int threads);
  ~AppRunner();
  AppRunner(const AppRunner&) = delete;
  AppRunner& operator=(const AppRunner&) = delete;

  void submit(AppJob* job);
  // Jobs submitted and not yet done.
  int busy() const { return busy_; }
  // Stops the pool threads once their current jobs end and closes the async handle.
  // Returns false if a job is still running (a stuck app): its thread is then left behind.
  bool stop();

 private:
  friend struct RunnerCallbacks;
  void workerLoop();
  void handleAsync();

  uv_loop_t* loop_;
  uv_async_t async_{};
  bool async_open_ = false;
  int busy_ = 0;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<AppJob*> queue_;  // guarded by mutex_
  std::deque<AppJob*> done_;   // guarded by mutex_
  bool stopping_ = false;      // guarded by mutex_
};

}  // namespace appserver::server
