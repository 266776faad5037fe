// file_wrapper_test.cc: wsgi.file_wrapper (embed/file_wrapper.cc, taken by wsgi_call.cc).
//
// Over a regular file the call finishes at once with a FileBody for sendfile: a descriptor of
// its own, the offset the app seeked to and the bytes left. Over anything else (a BytesIO,
// an object with read() only) the wrapper is iterated in blocks like any other iterable.
// Apps: tests/embed/apps/wsgi_file_wrapper.py.
// Thread: the test's main thread; the interpreter belongs to embed_main.cc.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "embed/wsgi_app.h"
#include "test_app.h"

namespace appserver::embed {
namespace {

namespace fs = std::filesystem;
using State = WsgiCall::State;

class FileWrapperTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "file-wrapper-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = (dir_ / "payload.bin").string();
    std::ofstream(path_, std::ios::binary) << "0123456789abcdefghij";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Starts wsgi_file_wrapper:regular_file on the payload, seeked to seek.
  void startRegular(WsgiCall& call, int seek) {
    app_.start(call, "/?path=" + path_ + "&seek=" + std::to_string(seek));
  }

  TestApp app_{"wsgi_file_wrapper:regular_file"};
  fs::path dir_;
  std::string path_;
};

std::string readAt(int fd, int64_t offset, int64_t length) {
  std::string out(static_cast<size_t>(length), '\0');
  const ssize_t n = ::pread(fd, out.data(), out.size(), offset);
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

// The call's FileBody starts at offset and holds exactly content.
void expectFileBody(const WsgiCall& call, int64_t offset, const std::string& content) {
  ASSERT_GE(call.file().fd, 0);
  EXPECT_EQ(call.file().offset, offset);
  EXPECT_EQ(call.file().length, static_cast<int64_t>(content.size()));
  EXPECT_EQ(readAt(call.file().fd, call.file().offset, call.file().length), content);
}

TEST_F(FileWrapperTest, TurnsRegularFileIntoFileBody) {
  WsgiCall call;
  startRegular(call, 0);
  EXPECT_EQ(call.state(), State::Finished) << call.error();
  EXPECT_EQ(call.status(), "200 OK");
  EXPECT_EQ(call.body(), "");
  expectFileBody(call, 0, "0123456789abcdefghij");
}

TEST_F(FileWrapperTest, StartsFileBodyWhereTheAppSeeked) {
  WsgiCall call;
  startRegular(call, 7);
  expectFileBody(call, 7, "789abcdefghij");
}

TEST_F(FileWrapperTest, GivesEmptyFileBodyWhenSeekedPastTheEnd) {
  WsgiCall call;
  startRegular(call, 50);
  ASSERT_GE(call.file().fd, 0);
  EXPECT_EQ(call.file().length, 0);
}

TEST_F(FileWrapperTest, KeepsItsOwnDescriptorUntilReset) {
  // The app's file object is closed with the iterable; the FileBody's descriptor lives on.
  WsgiCall call;
  startRegular(call, 0);
  const int fd = call.file().fd;
  ASSERT_GE(fd, 0);
  EXPECT_EQ(readAt(fd, 0, 4), "0123");
  call.reset();
  EXPECT_EQ(call.file().fd, -1);
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1);
}

TEST(FileWrapper, IteratesBytesIoInBlocks) {
  // Django's FileResponse over a BytesIO (generated files) takes this path.
  // Its fileno() raises io.UnsupportedOperation.
  TestCall t("wsgi_file_wrapper:bytes_io");
  EXPECT_EQ(t.call.file().fd, -1);
  EXPECT_EQ(drain(t.call), "0123456789");
  EXPECT_EQ(t.call.state(), State::Finished) << t.call.error();
}

TEST(FileWrapper, IteratesReadOnlyFileLike) {
  TestCall t("wsgi_file_wrapper:read_only");
  EXPECT_EQ(t.call.file().fd, -1);
  EXPECT_EQ(drain(t.call), "abcdefg");
  EXPECT_EQ(t.call.state(), State::Finished) << t.call.error();
}

}  // namespace
}  // namespace appserver::embed
