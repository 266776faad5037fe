// log_writer.h: a worker's log-writing thread, so its loop never waits for a disk.
//
// The loop, and the app's threads through wsgi.errors, queue finished lines in a bounded
// buffer and go on; this thread writes them in order, batching consecutive lines for the
// same descriptor into writes of at most PIPE_BUF bytes, each of whole lines, so lines
// from several processes never interleave, even on a pipe. When the buffer is full a line
// is dropped and counted, and the count is reported once writing resumes. A task (reopening
// the files on USR1) runs in queue order: the lines queued before it go to the old files,
// the lines after it to the new ones.
// Thread: append(), post() and stop() from any thread; tasks and report_drops run on the
// writer thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace appserver::server {

// Writes all of text to fd, retrying after EINTR; gives up on any other failure, because
// a log that cannot be written must not take the server down.
void writeFully(int fd, std::string_view text);

class LogWriter {
 public:
  // Bytes of queued lines the loop may get ahead of the disk (about 25,000 access lines).
  static constexpr size_t kCapacityBytes = 4 << 20;

  // Starts the thread. report_drops(n): n lines were dropped since the last report; called
  // on the writer thread after a batch was written.
  explicit LogWriter(std::function<void(uint64_t)> report_drops,
                     size_t capacity_bytes = kCapacityBytes);
  // Stops as stop() does, waiting as long as the writes take.
  ~LogWriter();
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  // Queues text (whole lines) for fd, or drops it when the buffer is full. Never waits
  // for I/O. False once stop() was called, and text is left to the caller to write.
  bool append(int fd, std::string&& text);
  // Runs task on the writer thread after everything queued before it; never dropped.
  // False once stop() was called.
  bool post(std::function<void()> task);
  // Writes what is queued and ends the thread. Returns false when that took longer than
  // wait (a stalled disk): the thread is left blocked in its write, and this object must
  // then never be destroyed (the process is about to exit). Idempotent.
  bool stop(std::chrono::milliseconds wait);

 private:
  struct Item {
    int fd = -1;
    std::string text;
    std::function<void()> task;  // set instead of fd and text
  };
  void run();
  void writeBatch(std::deque<Item>& batch);

  const size_t capacity_;
  const std::function<void(uint64_t)> report_drops_;
  std::mutex mutex_;
  std::condition_variable ready_;    // the queue has items, or stopping_
  std::condition_variable drained_;  // the thread has finished
  std::deque<Item> queue_;
  size_t queued_bytes_ = 0;
  uint64_t dropped_ = 0;
  bool stopping_ = false;
  bool finished_ = false;
  std::thread thread_;  // last: starts once everything above is initialised
};

}  // namespace appserver::server
