// metrics.h: the master's side of /metrics: the live workers' slots plus what it keeps.
//
// The master keeps the counters of workers that are gone (folded in when it reaps them,
// before their slots are claimed again) and counts worker restarts by cause, which only it
// knows. render() adds the live slots to these totals, reads the TCP listeners' listen
// queues (TCP_INFO) at that moment, and writes the page (metrics_text.h); docs/operations.md
// lists every metric.
// Thread: the master's only thread.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "listener.h"
#include "scoreboard.h"
#include "worker_counters.h"

namespace appserver::server {

class Metrics {
 public:
  // threads: --threads, the application threads of each worker.
  explicit Metrics(int threads) : threads_(threads) {}
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // A worker was reaped: its counters join the totals. Call before its slot is freed.
  void workerGone(const WorkerSlot& slot) { slot.counters.foldInto(gone_); }
  void restarted(RestartCause cause) { ++restarts_[static_cast<size_t>(cause)]; }

  // The exposition text (MetricsText::kContentType).
  // @param live the slots of the workers not reaped yet, booting ones included
  std::string render(std::span<const WorkerSlot* const> live,
                     const std::vector<Listener>& listeners) const;

 private:
  int threads_;
  WorkerCounters gone_;
  std::array<uint64_t, kRestartCauseLabels.size()> restarts_{};
};

}  // namespace appserver::server
