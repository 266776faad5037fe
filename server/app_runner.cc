// app_runner.cc: the application thread pool and its way back into the loop.
//
// Thread: see app_runner.h.
#include "app_runner.h"

#include "embed/interpreter.h"

namespace appserver::server {

struct RunnerCallbacks {
  static void onAsync(uv_async_t* handle) { static_cast<AppRunner*>(handle->data)->handleAsync(); }
};

AppRunner::AppRunner(uv_loop_t* loop, int threads) : loop_(loop) {
  if (threads <= 1) {
    return;
  }
  uv_async_init(loop_, &async_, RunnerCallbacks::onAsync);
  async_.data = this;
  async_open_ = true;
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { workerLoop(); });
  }
}

AppRunner::~AppRunner() { stop(); }

void AppRunner::submit(AppJob* job) {
  ++busy_;
  if (threads_.empty()) {
    job->runJob();
    --busy_;
    job->jobDone();
    return;
  }
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(job);
  }
  wake_.notify_one();
}

void AppRunner::workerLoop() {
  embed::PythonThread python;  // one thread state for the thread's life (thread-locals live on)
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) {
      return;
    }
    AppJob* job = queue_.front();
    queue_.pop_front();
    lock.unlock();
    job->runJob();
    lock.lock();
    done_.push_back(job);
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

bool AppRunner::stop() {
  if (async_open_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
    async_open_ = false;
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
