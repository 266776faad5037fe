// body_buffer_test.cc: BodyBuffer keeps small bodies in memory and spools large ones to a file.
//
// Checks the threshold (equal stays in memory, one byte more spools everything held so far),
// release() handing over and emptying the buffer, clear() and the destructor closing a
// spooled file, the default $TMPDIR, and a spool directory that cannot be used.
// Thread: the test's main thread.
#include "body_buffer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace appserver::server {
namespace {

namespace fs = std::filesystem;

// The whole content of a spooled body (from offset 0, whatever the file position).
std::string contentOf(const embed::RequestBody& body) {
  std::string out(body.size, '\0');
  const ssize_t n = ::pread(body.fd, out.data(), out.size(), 0);
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

size_t openDescriptors() {
  const auto entries = fs::directory_iterator("/proc/self/fd");
  return static_cast<size_t>(std::distance(begin(entries), end(entries)));
}

TEST(BodyBuffer, KeepsBodyUpToTheLimitInMemory) {
  BodyBuffer buffer;
  buffer.configure(8, "");
  EXPECT_TRUE(buffer.append("0123"));
  EXPECT_TRUE(buffer.append("4567"));
  EXPECT_EQ(buffer.size(), 8U);
  const embed::RequestBody body = buffer.release();
  EXPECT_EQ(body.fd, -1);
  EXPECT_EQ(body.size, 8U);
  EXPECT_EQ(body.memory, "01234567");
}

TEST(BodyBuffer, SpoolsEverythingOnceOverTheLimit) {
  BodyBuffer buffer;
  buffer.configure(8, "");
  EXPECT_TRUE(buffer.append("0123"));
  EXPECT_TRUE(buffer.append("456789"));  // crosses the threshold: the first 4 bytes move too
  EXPECT_TRUE(buffer.append("ab"));
  EXPECT_EQ(buffer.size(), 12U);
  const embed::RequestBody body = buffer.release();
  ASSERT_GE(body.fd, 0);
  EXPECT_TRUE(body.memory.empty());
  EXPECT_EQ(body.size, 12U);
  EXPECT_EQ(contentOf(body), "0123456789ab");
  EXPECT_NE(::fcntl(body.fd, F_GETFD) & FD_CLOEXEC, 0);
  ::close(body.fd);
}

TEST(BodyBuffer, SpoolsToAnUnlinkedFileInTheGivenDirectory) {
  std::string pattern = (fs::temp_directory_path() / "body-buffer-test-XXXXXX").string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  BodyBuffer buffer;
  buffer.configure(0, pattern);
  EXPECT_TRUE(buffer.append("x"));
  const embed::RequestBody body = buffer.release();
  ASSERT_GE(body.fd, 0);
  EXPECT_TRUE(fs::is_empty(pattern));  // no name left behind
  ::close(body.fd);
  fs::remove_all(pattern);
}

TEST(BodyBuffer, LeavesItselfEmptyAfterRelease) {
  BodyBuffer buffer;
  buffer.configure(2, "");
  EXPECT_TRUE(buffer.append("spooled"));
  const embed::RequestBody first = buffer.release();
  EXPECT_EQ(buffer.size(), 0U);
  EXPECT_TRUE(buffer.append("ok"));
  const embed::RequestBody second = buffer.release();
  EXPECT_EQ(second.fd, -1);
  EXPECT_EQ(second.memory, "ok");
  ::close(first.fd);
}

// Makes buffer spool a body: one descriptor more than before is then open.
void spoolABody(BodyBuffer& buffer, size_t before) {
  buffer.configure(0, "");
  EXPECT_TRUE(buffer.append("spooled"));
  EXPECT_EQ(openDescriptors(), before + 1);
}

TEST(BodyBuffer, ClearClosesASpooledFile) {
  const size_t before = openDescriptors();
  BodyBuffer buffer;
  spoolABody(buffer, before);
  buffer.clear();
  EXPECT_EQ(buffer.size(), 0U);
  EXPECT_EQ(openDescriptors(), before);
}

TEST(BodyBuffer, ClosesItsFileWhenDestroyed) {
  const size_t before = openDescriptors();
  {
    BodyBuffer buffer;
    spoolABody(buffer, before);
  }
  EXPECT_EQ(openDescriptors(), before);
}

TEST(BodyBuffer, ReportsAnUnusableSpoolDirectory) {
  BodyBuffer buffer;
  buffer.configure(4, "/nonexistent-appserver-test-dir");
  EXPECT_TRUE(buffer.append("1234"));
  EXPECT_FALSE(buffer.append("5"));
  EXPECT_NE(buffer.error().find("/nonexistent-appserver-test-dir"), std::string::npos)
      << buffer.error();
}

TEST(BodyBuffer, SpoolsToTmpdirByDefault) {
  const char* saved = ::getenv("TMPDIR");
  const std::string old = saved != nullptr ? saved : "";
  ::setenv("TMPDIR", "/nonexistent-appserver-tmpdir", 1);
  BodyBuffer buffer;
  buffer.configure(0, "");  // reads $TMPDIR now
  if (saved != nullptr) {
    ::setenv("TMPDIR", old.c_str(), 1);
  } else {
    ::unsetenv("TMPDIR");
  }
  EXPECT_FALSE(buffer.append("x"));
  EXPECT_NE(buffer.error().find("/nonexistent-appserver-tmpdir"), std::string::npos)
      << buffer.error();
}

}  // namespace
}  // namespace appserver::server
