// app_runner.cc: the application thread pool, its way back into the loop, and the limits
// on waiting for it.
//
// Thread: see app_runner.h.
#include "app_runner.h"

#include <algorithm>
#include <vector>

#include "embed/interpreter.h"
#include "embed/wsgi_app.h"

namespace appserver::server {

namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

}  // namespace

struct RunnerCallbacks {
  static void onAsync(uv_async_t* handle) { static_cast<AppRunner*>(handle->data)->handleAsync(); }
  static void onBeforePoll(uv_prepare_t*) { embed::releaseKeptGil(); }
  static void onTurnEnd(uv_check_t* handle) {
    static_cast<AppRunner*>(handle->data)->started_this_turn_ = 0;
  }
  static void onExpiry(uv_timer_t* timer) { static_cast<AppRunner*>(timer->data)->expireWaiting(); }
};

AppRunner::AppRunner(uv_loop_t* loop, int threads, QueueLimits limits, WorkerSlot& slot)
    : loop_(loop), limits_(limits), slot_(slot), counters_(slot.counters) {
  if (threads <= 1) {
    // The loop thread keeps the GIL from call to call and gives it back before it waits.
    embed::keepGilBetweenCalls(true);
    uv_prepare_init(loop_, &before_poll_);
    uv_prepare_start(&before_poll_, RunnerCallbacks::onBeforePoll);
    uv_unref(reinterpret_cast<uv_handle_t*>(&before_poll_));
    before_poll_open_ = true;
    if (limits_.max_pending > 0) {
      uv_check_init(loop_, &turn_);
      turn_.data = this;
      uv_check_start(&turn_, RunnerCallbacks::onTurnEnd);
      uv_unref(reinterpret_cast<uv_handle_t*>(&turn_));  // never what keeps the loop alive
      turn_open_ = true;
    }
    return;
  }
  uv_async_init(loop_, &async_, RunnerCallbacks::onAsync);
  async_.data = this;
  async_open_ = true;
  if (limits_.timeout > 0) {
    uv_timer_init(loop_, &expiry_);
    expiry_.data = this;
    uv_unref(reinterpret_cast<uv_handle_t*>(&expiry_));
    expiry_open_ = true;
  }
  in_progress_.resize(static_cast<size_t>(threads));
  for (size_t i = 0; i < in_progress_.size(); ++i) {
    threads_.emplace_back([this, i] { workerLoop(i); });
  }
}

AppRunner::~AppRunner() { stop(); }

std::optional<ShedReason> AppRunner::start(AppJob* job) {
  if (threads_.empty()) {
    if (limits_.max_pending > 0 && started_this_turn_++ > limits_.max_pending) {
      return ShedReason::MaxPending;  // the first of the turn ran, max_pending waited for it
    }
    if (limits_.timeout > 0 && static_cast<double>(job->waitedMs()) > limits_.timeout * 1000) {
      return ShedReason::QueueTimeout;
    }
    runInline(job);
    return std::nullopt;
  }
  const auto timeout =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(limits_.timeout));
  {
    std::lock_guard lock(mutex_);
    // Queued jobs take the free threads first; the rest wait, and at most max_pending may.
    const auto free_threads = threads_.size() - running_;
    const auto waiting = queue_.size() + 1 > free_threads ? queue_.size() + 1 - free_threads : 0;
    if (limits_.max_pending > 0 && waiting > static_cast<size_t>(limits_.max_pending)) {
      return ShedReason::MaxPending;
    }
    queue_.push_back({job, true, expiry_open_ ? Clock::now() + timeout : Clock::time_point()});
  }
  ++busy_;
  wake_.notify_one();
  if (expiry_open_ && uv_is_active(reinterpret_cast<uv_handle_t*>(&expiry_)) == 0) {
    armExpiry(timeout);
  }
  return std::nullopt;
}

void AppRunner::submit(AppJob* job) {
  if (threads_.empty()) {
    runInline(job);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    queue_.push_back({job, false, Clock::time_point()});
  }
  ++busy_;
  wake_.notify_one();
}

void AppRunner::runInline(AppJob* job) {
  ++busy_;
  counters_.busy_threads.store(1, kRelaxed);  // the loop thread is the one app thread
  RequestRecord& record = slot_.requests[0];
  record.publish(Scoreboard::nowMs(), job->describe());
  job->runJob();
  record.clear();
  // Back in the loop: however long the call took, the master must not take it for silence.
  slot_.heartbeat_ms.store(Scoreboard::nowMs());
  counters_.busy_threads.store(0, kRelaxed);
  --busy_;
  job->jobDone();
}

void AppRunner::workerLoop(size_t index) {
  embed::PythonThread python;  // one thread state for the thread's life (thread-locals live on)
  RequestRecord& record = slot_.requests[index];
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) {
      return;
    }
    const Queued next = queue_.front();
    queue_.pop_front();
    ++running_;
    in_progress_[index] = {next.job, python.id(), false};
    lock.unlock();
    counters_.busy_threads.fetch_add(1, kRelaxed);
    record.publish(Scoreboard::nowMs(), next.job->describe());
    next.job->runJob();
    record.clear();
    counters_.busy_threads.fetch_sub(1, kRelaxed);
    lock.lock();
    --running_;
    in_progress_[index] = {};
    done_.push_back(next.job);
    uv_async_send(&async_);
  }
}

void AppRunner::handleAsync() {
  std::deque<AppJob*> done;
  {
    std::lock_guard lock(mutex_);
    done.swap(done_);
  }
  for (AppJob* job : done) {
    --busy_;
    job->jobDone();
  }
}

void AppRunner::checkOverdue(int64_t started_before) {
  std::vector<Running> overdue;
  {
    std::lock_guard lock(mutex_);
    for (size_t i = 0; i < in_progress_.size(); ++i) {
      Running& r = in_progress_[i];
      // 0: the thread has not published the job yet, or has already cleared it.
      const int64_t started = slot_.requests[i].startedMs();
      if (r.job != nullptr && !r.reported && started != 0 && started < started_before) {
        r.reported = true;
        overdue.push_back(r);
      }
    }
  }
  // Each job is alive: its jobDone(), the only way it can go, runs on this thread later.
  for (const Running& r : overdue) {
    r.job->jobOverdue(r.python_thread);
  }
}

void AppRunner::expireWaiting() {
  const Clock::time_point now = Clock::now();
  std::vector<AppJob*> expired;
  Clock::time_point next = Clock::time_point::max();
  {
    std::lock_guard lock(mutex_);
    std::erase_if(queue_, [&](const Queued& q) {
      if (q.start && q.expires <= now) {
        expired.push_back(q.job);
        return true;
      }
      next = q.start ? std::min(next, q.expires) : next;
      return false;
    });
  }
  if (next != Clock::time_point::max()) {
    armExpiry(next - now);
  }
  for (AppJob* job : expired) {
    --busy_;
    job->jobExpired();
  }
}

void AppRunner::armExpiry(Clock::duration after) {
  // Rounded up: a timer that fires early would find nothing expired and re-arm at once.
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(after).count();
  uv_timer_start(&expiry_, RunnerCallbacks::onExpiry, static_cast<uint64_t>(ms), 0);
}

bool AppRunner::stop() {
  if (async_open_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
    async_open_ = false;
  }
  if (turn_open_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&turn_), nullptr);
    turn_open_ = false;
  }
  if (before_poll_open_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&before_poll_), nullptr);
    before_poll_open_ = false;
    embed::keepGilBetweenCalls(false);
  }
  if (expiry_open_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&expiry_), nullptr);
    expiry_open_ = false;
  }
  if (threads_.empty()) {
    return true;
  }
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (busy_ > 0) {
    for (std::thread& t : threads_) {
      t.detach();  // a stuck app: the process exits without waiting for it
    }
    threads_.clear();
    return false;
  }
  for (std::thread& t : threads_) {
    t.join();
  }
  threads_.clear();
  return true;
}

}  // namespace appserver::server
