// scoreboard.cc: the shared slot array and the request records behind it.
//
// Thread: see scoreboard.h.
#include "scoreboard.h"

#include <sys/mman.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>

#include "check.h"

namespace appserver::server {

namespace {

// Copies the pieces into out[size], separated by spaces, cut to fit, NUL-terminated.
void copyJoined(char* out, size_t size, std::initializer_list<std::string_view> pieces) {
  size_t at = 0;
  for (std::string_view piece : pieces) {
    if (at > 0 && at < size - 1) {
      out[at++] = ' ';
    }
    const size_t n = std::min(piece.size(), size - 1 - at);
    std::memcpy(out + at, piece.data(), n);
    at += n;
  }
  out[at] = '\0';
}

}  // namespace

void RequestRecord::publish(int64_t now, const Facts& facts) {
  const uint32_t s = sequence_.load(std::memory_order_relaxed);
  sequence_.store(s + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  copyJoined(line_, sizeof(line_), {facts.method, facts.target, facts.protocol});
  copyJoined(id_, sizeof(id_), {facts.id});
  copyJoined(remote_, sizeof(remote_), {facts.remote_addr});
  answer_fd_.store(facts.answer_fd, std::memory_order_relaxed);
  request_start_us_.store(facts.request_start_us, std::memory_order_relaxed);
  body_sent_.store(facts.body_sent, std::memory_order_relaxed);
  started_ms_.store(now, std::memory_order_relaxed);
  sequence_.store(s + 2, std::memory_order_release);
}

void RequestRecord::clear() {
  answer_fd_.store(-1, std::memory_order_relaxed);
  started_ms_.store(0, std::memory_order_release);
}

void RequestRecord::withdrawAnswer(int fd) {
  answer_fd_.compare_exchange_strong(fd, -1);  // unless the thread has moved on meanwhile
}

bool RequestRecord::read(Snapshot& out) const {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const uint32_t before = sequence_.load(std::memory_order_acquire);
    if (before % 2 != 0) {
      continue;  // being written
    }
    out.started_ms = started_ms_.load(std::memory_order_relaxed);
    out.answer_fd = answer_fd_.load(std::memory_order_relaxed);
    std::memcpy(out.line, line_, sizeof(line_));
    std::memcpy(out.id, id_, sizeof(id_));
    std::memcpy(out.remote, remote_, sizeof(remote_));
    out.request_start_us = request_start_us_.load(std::memory_order_relaxed);
    out.body_sent = body_sent_.load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (sequence_.load(std::memory_order_relaxed) == before) {
      out.line[kLineBytes - 1] = '\0';
      out.id[sizeof(out.id) - 1] = '\0';
      out.remote[kRemoteBytes - 1] = '\0';
      return out.started_ms != 0;
    }
  }
  return false;  // a writer that keeps rewriting it: nothing consistent to show
}

Scoreboard::Scoreboard(size_t capacity, size_t threads)
    : capacity_(capacity),
      threads_(threads),
      bytes_(sizeof(WorkerSlot) + capacity * sizeof(WorkerSlot) +
             capacity * threads * sizeof(RequestRecord)) {
  void* memory =
      ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  APPSERVER_CHECK(memory != MAP_FAILED);
  // The header takes a slot's room, so that the slots stay on their cache lines. Slots and
  // records are built by claim(): the pages of those never used stay untouched.
  header_ = new (memory) Header;
  slots_ = reinterpret_cast<WorkerSlot*>(static_cast<char*>(memory) + sizeof(WorkerSlot));
  records_ = reinterpret_cast<RequestRecord*>(slots_ + capacity);
}

Scoreboard::~Scoreboard() { ::munmap(header_, bytes_); }

WorkerSlot* Scoreboard::claim() {
  const size_t used = header_->used.load();
  WorkerSlot* slot = std::find_if(slots_, slots_ + used, [](const WorkerSlot& s) {
    return s.pid.load() == 0;
  });
  if (slot == slots_ + used) {
    if (used == capacity_) {
      return nullptr;
    }
    std::construct_at(slot);
    const size_t index = used;
    slot->requests = std::span(records_ + index * threads_, threads_);
    header_->used.store(used + 1);  // after the slot is built: readers see it whole
  } else {
    std::destroy_at(&slot->counters);  // the last worker's counts were folded (Metrics)
    std::construct_at(&slot->counters);
  }
  slot->heartbeat_ms.store(nowMs());
  slot->ready.store(false);
  slot->retire.store(false);
  slot->timed_out.store(false);
  for (RequestRecord& record : slot->requests) {
    std::construct_at(&record);
  }
  slot->pid.store(-1);  // taken until the master stores the real pid
  return slot;
}

int64_t Scoreboard::nowMs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace appserver::server
