// metrics.cc: summing the scoreboard and writing every metric family.
//
// Thread: the master's only thread.
#include "metrics.h"

#include <optional>
#include <utility>

#include "metrics_text.h"

namespace appserver::server {

namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;
constexpr std::array<std::string_view, 5> kStatusClasses = {"1xx", "2xx", "3xx", "4xx", "5xx"};

template <size_t N>
std::array<uint64_t, N> load(const std::array<std::atomic<uint64_t>, N>& values) {
  std::array<uint64_t, N> out{};
  for (size_t i = 0; i < N; ++i) {
    out[i] = values[i].load(kRelaxed);
  }
  return out;
}

void writeHistogram(MetricsText& page, std::string_view name, std::string_view help,
                    const Histogram& h) {
  const auto counts = load(h.buckets);
  page.histogram(name, help, kBucketBounds, counts, static_cast<double>(h.sum_us.load()) / 1e6);
}

// One counter family with a label whose values are labels[i], counted by values[i].
template <size_t N>
void writeLabelled(MetricsText& page, std::string_view name, std::string_view help,
                   std::string_view label, const std::array<std::string_view, N>& labels,
                   const std::array<uint64_t, N>& values) {
  page.family(name, "counter", help);
  for (size_t i = 0; i < N; ++i) {
    page.sample(name, {{label, labels[i]}}, values[i]);
  }
}

// Connections waiting to be accepted, and the queue's capacity, of the listeners.
void writeListenQueues(MetricsText& page, const std::vector<Listener>& listeners) {
  std::vector<std::pair<const Listener*, ListenQueue>> queues;
  for (const Listener& l : listeners) {
    if (const std::optional<ListenQueue> queue = listenQueue(l)) {
      queues.emplace_back(&l, *queue);
    }
  }
  page.family("appserver_listen_queue_length", "gauge",
              "Connections in a listening socket's queue, not yet accepted by a worker.");
  for (const auto& [l, queue] : queues) {
    page.sample("appserver_listen_queue_length", {{"listener", l->name}},
                static_cast<uint64_t>(queue.waiting));
  }
  page.family("appserver_listen_queue_capacity", "gauge",
              "Longest queue a listening socket keeps (--backlog, capped by somaxconn).");
  for (const auto& [l, queue] : queues) {
    page.sample("appserver_listen_queue_capacity", {{"listener", l->name}},
                static_cast<uint64_t>(queue.capacity));
  }
}

}  // namespace

std::string Metrics::render(std::span<const WorkerSlot* const> live,
                            const std::vector<Listener>& listeners) const {
  WorkerCounters sum;
  gone_.foldInto(sum);
  int64_t booting = 0, busy = 0, idle = 0, busy_threads = 0, in_flight = 0, connections = 0;
  for (const WorkerSlot* slot : live) {
    const WorkerCounters& c = slot->counters;
    c.foldInto(sum);
    const int64_t requests = c.in_flight.load(kRelaxed);
    in_flight += requests;
    connections += c.connections.load(kRelaxed);
    if (!slot->ready.load()) {
      ++booting;
      continue;
    }
    (requests > 0 ? busy : idle) += 1;
    busy_threads += std::min<int64_t>(c.busy_threads.load(kRelaxed), threads_);
  }

  MetricsText page;
  writeLabelled(page, "appserver_requests_total", "Responses sent, by status class.", "status",
                kStatusClasses, load(sum.responses));
  writeHistogram(page, "appserver_request_duration_seconds",
                 "Time from a request's head and body received to its response's last byte sent.",
                 sum.duration);
  writeHistogram(page, "appserver_accept_queue_wait_seconds",
                 "Time a TCP connection waited in the listen queue before a worker accepted it.",
                 sum.accept_wait);
  writeListenQueues(page, listeners);
  page.family("appserver_workers", "gauge", "Worker processes: booting, idle or busy.");
  page.sample("appserver_workers", {{"state", "booting"}}, booting);
  page.sample("appserver_workers", {{"state", "idle"}}, idle);
  page.sample("appserver_workers", {{"state", "busy"}}, busy);
  page.family("appserver_threads", "gauge",
              "Application threads of the workers that serve: idle, or inside an app call.");
  page.sample("appserver_threads", {{"state", "idle"}}, (busy + idle) * threads_ - busy_threads);
  page.sample("appserver_threads", {{"state", "busy"}}, busy_threads);
  page.family("appserver_requests_in_flight", "gauge", "Requests received and not yet answered.");
  page.sample("appserver_requests_in_flight", {}, in_flight);
  page.family("appserver_connections_open", "gauge", "Client connections open in the workers.");
  page.sample("appserver_connections_open", {}, connections);
  writeLabelled(page, "appserver_worker_restarts_total",
                "Workers started in place of another, by cause.", "cause", kRestartCauseLabels,
                restarts_);
  writeLabelled(page, "appserver_jwt_refusals_total",
                "Requests the JWT gate refused before the app, by reason.", "reason",
                kJwtRefusalLabels, load(sum.jwt_refusals));
  writeLabelled(page, "appserver_requests_shed_total",
                "Requests answered 503 because they could not start in time, by reason.",
                "reason", kShedReasonLabels, load(sum.shed));
  page.family("appserver_static_hits_total", "counter",
              "--static requests answered from a file (200, 206, 304).");
  page.sample("appserver_static_hits_total", {}, sum.static_hits.load(kRelaxed));
  page.family("appserver_static_misses_total", "counter",
              "--static requests answered otherwise (404, 405, 416, ...).");
  page.sample("appserver_static_misses_total", {}, sum.static_misses.load(kRelaxed));
  return page.text();
}

}  // namespace appserver::server
