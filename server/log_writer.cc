// log_writer.cc: the queue between a worker's threads and its log files.
//
// Thread: see log_writer.h.
#include "log_writer.h"

#include <limits.h>  // PIPE_BUF
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace appserver::server {

void writeFully(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return;
    }
    text.remove_prefix(static_cast<size_t>(n));
  }
}

LogWriter::LogWriter(std::function<void(uint64_t)> report_drops, size_t capacity_bytes)
    : capacity_(capacity_bytes),
      report_drops_(std::move(report_drops)),
      thread_([this] { run(); }) {}

LogWriter::~LogWriter() { stop(std::chrono::milliseconds::max()); }

bool LogWriter::append(int fd, std::string&& text) {
  std::unique_lock lock(mutex_);
  if (stopping_) {
    return false;
  }
  if (queued_bytes_ + text.size() > capacity_) {
    ++dropped_;
    return true;
  }
  const bool wake = queue_.empty();
  queued_bytes_ += text.size();
  queue_.push_back(Item{fd, std::move(text), {}});
  lock.unlock();
  if (wake) {
    ready_.notify_one();  // no system call unless the thread sleeps
  }
  return true;
}

bool LogWriter::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      return false;
    }
    queue_.push_back(Item{-1, {}, std::move(task)});
  }
  ready_.notify_one();
  return true;
}

bool LogWriter::stop(std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  if (!thread_.joinable()) {
    return finished_;
  }
  stopping_ = true;
  ready_.notify_one();
  const bool done = wait == std::chrono::milliseconds::max()
                        ? (drained_.wait(lock, [this] { return finished_; }), true)
                        : drained_.wait_for(lock, wait, [this] { return finished_; });
  lock.unlock();
  done ? thread_.join() : thread_.detach();
  return done;
}

void LogWriter::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    ready_.wait(lock, [this] { return !queue_.empty() || stopping_; });
    if (queue_.empty() && dropped_ == 0) {
      break;  // stopping, and everything is written
    }
    std::deque<Item> batch;
    batch.swap(queue_);
    queued_bytes_ = 0;  // the loop may queue again while this batch is written
    lock.unlock();
    writeBatch(batch);
    lock.lock();
    if (const uint64_t dropped = std::exchange(dropped_, 0); dropped > 0) {
      lock.unlock();
      report_drops_(dropped);
      lock.lock();
    }
  }
  finished_ = true;
  drained_.notify_all();
}

void LogWriter::writeBatch(std::deque<Item>& batch) {
  std::string chunk;  // whole lines for chunk_fd, at most PIPE_BUF bytes unless one line is more
  int chunk_fd = -1;
  const auto flush = [&] {
    writeFully(chunk_fd, chunk);
    chunk.clear();
  };
  for (Item& item : batch) {
    if (item.task) {
      flush();
      item.task();
      continue;
    }
    if (item.fd != chunk_fd || chunk.size() + item.text.size() > PIPE_BUF) {
      flush();
      chunk_fd = item.fd;
    }
    chunk += item.text;
  }
  flush();
}

}  // namespace appserver::server
