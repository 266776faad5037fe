// metrics_test.cc: the master's page: live slots plus the counts of reaped workers,
// restarts, worker and thread gauges, and a real listener's queue.
// Thread: the test's main thread.
#include "metrics.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <string>
#include <vector>

namespace appserver::server {
namespace {

using std::chrono::milliseconds;

// The value of the sample whose name and labels are exactly series, or "" if none is.
std::string valueOf(const std::string& page, const std::string& series) {
  std::istringstream lines(page);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with(series + " ")) {
      return line.substr(series.size() + 1);
    }
  }
  return "";
}

WorkerSlot* readyWorker(Scoreboard& board) {
  WorkerSlot* slot = board.claim();
  slot->pid.store(1234);
  slot->ready.store(true);
  return slot;
}

TEST(Metrics, KeepsTheCountsOfAReapedWorker) {
  Scoreboard board(2);
  Metrics metrics(1);
  WorkerSlot* slot = readyWorker(board);
  slot->counters.responded(200, milliseconds(3));
  slot->counters.refused(JwtRefusal::Expired);
  metrics.workerGone(*slot);  // as Master::reap() does, before the slot is freed
  slot->pid.store(0);
  WorkerSlot* next = readyWorker(board);
  ASSERT_EQ(next, slot);  // the slot serves the replacement, its counters zero
  EXPECT_EQ(next->counters.responses[1].load(), 0u);
  next->counters.responded(200, milliseconds(3));
  const std::string page = metrics.render(std::vector<const WorkerSlot*>{next}, {});
  EXPECT_EQ(valueOf(page, "appserver_requests_total{status=\"2xx\"}"), "2");
  EXPECT_EQ(valueOf(page, "appserver_request_duration_seconds_bucket{le=\"0.005\"}"), "2");
  EXPECT_EQ(valueOf(page, "appserver_request_duration_seconds_count"), "2");
  EXPECT_EQ(valueOf(page, "appserver_request_duration_seconds_sum"), "0.006");
  EXPECT_EQ(valueOf(page, "appserver_jwt_refusals_total{reason=\"expired\"}"), "1");
}

TEST(Metrics, ListsEveryLabelValueAlsoWhenZero) {
  Metrics metrics(1);
  metrics.restarted(RestartCause::Signal);
  metrics.restarted(RestartCause::Signal);
  const std::string page = metrics.render({}, {});
  EXPECT_EQ(valueOf(page, "appserver_worker_restarts_total{cause=\"signal\"}"), "2");
  for (std::string_view cause : kRestartCauseLabels) {
    EXPECT_NE(valueOf(page, "appserver_worker_restarts_total{cause=\"" + std::string(cause) +
                                "\"}"),
              "")
        << cause;
  }
  for (std::string_view reason : kJwtRefusalLabels) {
    EXPECT_EQ(valueOf(page, "appserver_jwt_refusals_total{reason=\"" + std::string(reason) +
                                "\"}"),
              "0")
        << reason;
  }
  EXPECT_EQ(valueOf(page, "appserver_requests_shed_total{reason=\"max_pending\"}"), "0");
  EXPECT_EQ(valueOf(page, "appserver_requests_total{status=\"5xx\"}"), "0");
}

TEST(Metrics, TellsBootingIdleAndBusyWorkersAndThreads) {
  Scoreboard board(4);
  Metrics metrics(4);
  WorkerSlot* idle = readyWorker(board);
  WorkerSlot* busy = readyWorker(board);
  WorkerSlot* booting = board.claim();
  idle->counters.connections.store(2);
  busy->counters.connections.store(5);
  busy->counters.in_flight.store(3);
  busy->counters.busy_threads.store(3);
  const std::string page =
      metrics.render(std::vector<const WorkerSlot*>{idle, busy, booting}, {});
  EXPECT_EQ(valueOf(page, "appserver_workers{state=\"booting\"}"), "1");
  EXPECT_EQ(valueOf(page, "appserver_workers{state=\"idle\"}"), "1");
  EXPECT_EQ(valueOf(page, "appserver_workers{state=\"busy\"}"), "1");
  EXPECT_EQ(valueOf(page, "appserver_threads{state=\"busy\"}"), "3");
  EXPECT_EQ(valueOf(page, "appserver_threads{state=\"idle\"}"), "5");  // 2 workers x 4 - 3
  EXPECT_EQ(valueOf(page, "appserver_requests_in_flight"), "3");
  EXPECT_EQ(valueOf(page, "appserver_connections_open"), "7");
}

TEST(Metrics, ReadsTheListenQueueOfATcpListener) {
  std::vector<Listener> listeners = bindListeners({"127.0.0.1:0"}, 8);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(listeners[0].port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<int> clients;
  for (int i = 0; i < 3; ++i) {  // connected, never accepted: they wait in the queue
    clients.push_back(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_EQ(::connect(clients.back(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  }
  Metrics metrics(1);
  const std::string page = metrics.render({}, listeners);
  const std::string label = "{listener=\"" + listeners[0].name + "\"}";
  EXPECT_EQ(valueOf(page, "appserver_listen_queue_length" + label), "3");
  EXPECT_EQ(valueOf(page, "appserver_listen_queue_capacity" + label), "8");
  for (int fd : clients) {
    ::close(fd);
  }
  closeListeners(listeners);
}

}  // namespace
}  // namespace appserver::server
