// log_writer_test.cc: LogWriter's order, batching, bounded queue and drop reports.
//
// The descriptors are pipes. A pipe nobody reads stands in for a stalled disk: it is
// filled first, so the writer thread blocks in write() exactly as on a disk that does not
// answer, while the test goes on appending.
// Thread: the test's main thread, plus one reader thread where a pipe must be drained.
#include "log_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace appserver::server {
namespace {

using namespace std::chrono_literals;

struct Pipe {
  Pipe() { EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0); }
  ~Pipe() {
    closeWriteEnd();
    ::close(fds[0]);
  }
  void closeWriteEnd() {
    if (fds[1] >= 0) {
      ::close(fds[1]);
      fds[1] = -1;
    }
  }
  // Everything until the write end is closed.
  std::string readAll() const {
    std::string out;
    char buf[65536];
    ssize_t n = 0;
    while ((n = ::read(fds[0], buf, sizeof(buf))) > 0) {
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  // Fills the pipe's buffer, so the next write blocks; returns the bytes written.
  size_t fill() const {
    ::fcntl(fds[1], F_SETFL, O_NONBLOCK);
    const std::string block(4096, 'x');
    size_t total = 0;
    ssize_t n = 0;
    while ((n = ::write(fds[1], block.data(), block.size())) > 0) {
      total += static_cast<size_t>(n);
    }
    ::fcntl(fds[1], F_SETFL, 0);
    return total;
  }
  int fds[2] = {-1, -1};
};

size_t countLines(std::string_view text, std::string_view line) {
  size_t count = 0;
  for (size_t at = text.find(line); at != std::string_view::npos; at = text.find(line, at + 1)) {
    ++count;
  }
  return count;
}

bool waitFor(const std::function<bool()>& done) {
  for (int i = 0; i < 500 && !done(); ++i) {
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

TEST(LogWriter, WritesLinesInOrderToTheirDescriptors) {
  Pipe a;
  Pipe b;
  LogWriter writer([](uint64_t) { ADD_FAILURE() << "nothing should be dropped"; });
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(writer.append(i % 3 == 0 ? b.fds[1] : a.fds[1], std::to_string(i) + "\n"));
  }
  EXPECT_TRUE(writer.stop(5s));
  a.closeWriteEnd();
  b.closeWriteEnd();
  std::string expect_a;
  std::string expect_b;
  for (int i = 0; i < 1000; ++i) {
    (i % 3 == 0 ? expect_b : expect_a) += std::to_string(i) + "\n";
  }
  EXPECT_EQ(a.readAll(), expect_a);
  EXPECT_EQ(b.readAll(), expect_b);
}

TEST(LogWriter, NeverSplitsALineAcrossWrites) {
  // Reads of a pipe return what each write put in when the reader keeps up slowly; the
  // check that matters is that every write ends at a line end.
  Pipe p;
  LogWriter writer([](uint64_t) {});
  const std::string line = std::string(1000, 'a') + "\n";
  for (int i = 0; i < 50; ++i) {
    writer.append(p.fds[1], std::string(line));
  }
  writer.stop(5s);
  p.closeWriteEnd();
  const std::string all = p.readAll();
  EXPECT_EQ(all.size(), 50 * line.size());
  EXPECT_EQ(countLines(all, line), 50u);
}

TEST(LogWriter, DropsAndCountsLinesWhileTheDescriptorIsStalled) {
  Pipe p;
  const size_t prefill = p.fill();
  std::atomic<uint64_t> reported{0};
  constexpr size_t kCapacity = 1000;
  LogWriter writer([&](uint64_t n) { reported += n; }, kCapacity);
  const std::string line = std::string(99, 'l') + "\n";
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 50; ++i) {
    EXPECT_TRUE(writer.append(p.fds[1], std::string(line)));
  }
  // The appends did not wait for the stalled pipe.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  EXPECT_EQ(reported.load(), 0u);  // nothing is written yet, so nothing is reported

  std::string received;
  std::thread reader([&] { received = p.readAll(); });  // the disk answers again
  EXPECT_TRUE(writer.stop(5s));
  p.closeWriteEnd();
  reader.join();
  ASSERT_EQ(received.substr(0, prefill), std::string(prefill, 'x'));
  const size_t written = countLines(received.substr(prefill), line);
  // At most one batch was taken before the write blocked, and one more buffer queued
  // behind it: each holds at most kCapacity bytes.
  EXPECT_LE(written, 2 * kCapacity / line.size());
  EXPECT_EQ(written + reported.load(), 50u);
}

TEST(LogWriter, RunsTasksBetweenTheLinesQueuedBeforeAndAfter) {
  Pipe old_file;
  Pipe new_file;
  const int fd = ::dup(old_file.fds[1]);  // the log's descriptor number, kept across reopen
  LogWriter writer([](uint64_t) {});
  writer.append(fd, "before\n");
  writer.post([&] { ::dup2(new_file.fds[1], fd); });  // what Log::reopen() does
  writer.append(fd, "after\n");
  writer.stop(5s);
  ::close(fd);
  old_file.closeWriteEnd();
  new_file.closeWriteEnd();
  EXPECT_EQ(old_file.readAll(), "before\n");
  EXPECT_EQ(new_file.readAll(), "after\n");
}

TEST(LogWriter, HandsLinesBackAfterStop) {
  Pipe p;
  LogWriter writer([](uint64_t) {});
  EXPECT_TRUE(writer.stop(5s));
  std::string line = "late\n";
  EXPECT_FALSE(writer.append(p.fds[1], std::move(line)));
  EXPECT_EQ(line, "late\n");  // still the caller's to write
  EXPECT_FALSE(writer.post([] {}));
  EXPECT_TRUE(writer.stop(5s));
}

TEST(LogWriter, GivesUpWaitingForAStalledDescriptorAtStop) {
  Pipe p;
  p.fill();
  auto writer = std::make_unique<LogWriter>([](uint64_t) {});
  writer->append(p.fds[1], "blocked\n");
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(writer->stop(200ms));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  std::string line = "after\n";
  EXPECT_FALSE(writer->append(p.fds[1], std::move(line)));
  // The thread, left blocked, finishes once the pipe is read; only then may the writer go.
  std::thread reader([&] { p.readAll(); });
  EXPECT_TRUE(waitFor([&] { return writer->stop(0ms); }));
  p.closeWriteEnd();
  reader.join();
}

}  // namespace
}  // namespace appserver::server
