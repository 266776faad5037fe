// input_stream_test.cc: wsgi.input over a body in memory and over a spooled body file.
//
// Every test runs twice, once per storage, because server/ hands over either (BodyBuffer
// spools large bodies to a file). The app (tests/embed/apps/wsgi_input.py) performs the
// read/readline/readlines/iteration steps named in the query string and reports each
// result as JSON. The file case uses a memfd, which the request owns and must close.
// Thread: the test's main thread; the interpreter belongs to embed_main.cc.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <string>

#include "embed/wsgi_app.h"
#include "test_app.h"

namespace appserver::embed {
namespace {

using Json = nlohmann::json;

constexpr const char* kBody = "first line\nsecond line\n\nlast without newline";

enum class Storage { Memory, File };

void PrintTo(Storage s, std::ostream* os) { *os << (s == Storage::Memory ? "Memory" : "File"); }

// A descriptor holding data, positioned at its end (the stream must not rely on the offset).
int bodyFile(const std::string& data) {
  const int fd = ::memfd_create("wsgi-input-test", MFD_CLOEXEC);
  if (fd >= 0 && ::write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size())) {
    ::close(fd);
    return -1;
  }
  return fd;
}

class InputStreamTest : public testing::TestWithParam<Storage> {
 protected:
  // Runs the steps (wsgi_input.py's syntax) over body; returns the app's JSON results.
  Json run(const std::string& steps, const std::string& body = kBody) {
    TestRequest request;
    request.method = "POST";
    request.target = "/?" + steps;
    if (GetParam() == Storage::File) {
      request.body_fd = bodyFile(body);
      request.body_fd_size = body.size();
      EXPECT_GE(request.body_fd, 0);
    } else {
      request.body = body;
    }
    WsgiCall call;
    app_.start(call, request);
    EXPECT_EQ(call.state(), WsgiCall::State::Finished) << call.error();
    return Json::parse(call.body(), nullptr, /*allow_exceptions=*/false);
  }

  TestApp app_{"wsgi_input"};
};

TEST_P(InputStreamTest, ReadsEverything) { EXPECT_EQ(run("read"), Json::array({kBody})); }

TEST_P(InputStreamTest, ReadsInPiecesUntilEmpty) {
  EXPECT_EQ(run("read=5&read=6&read=1000&read"),
            Json::array({"first", " line\n", "second line\n\nlast without newline", ""}));
}

TEST_P(InputStreamTest, TreatsNoneAndNegativeSizeAsEverything) {
  EXPECT_EQ(run("read=3&read=none"), Json::array({"fir", std::string(kBody).substr(3)}));
  EXPECT_EQ(run("read=-1"), Json::array({kBody}));
}

TEST_P(InputStreamTest, ReadsNothingForSizeZero) {
  EXPECT_EQ(run("read=0&readline=0&read=5"), Json::array({"", "", "first"}));
}

TEST_P(InputStreamTest, ReadsLines) {
  EXPECT_EQ(run("readline&readline&readline&readline&readline"),
            Json::array({"first line\n", "second line\n", "\n", "last without newline", ""}));
}

TEST_P(InputStreamTest, StopsReadlineAtTheSizeLimit) {
  EXPECT_EQ(run("readline=3&readline&readline=-1"),
            Json::array({"fir", "st line\n", "second line\n"}));
}

TEST_P(InputStreamTest, ReadsAllLines) {
  EXPECT_EQ(
      run("readlines"),
      Json::array({Json::array({"first line\n", "second line\n", "\n", "last without newline"})}));
}

TEST_P(InputStreamTest, StopsReadlinesOnceTheHintIsReached) {
  // 11 bytes after the first line are under the hint of 12, 23 after the second are not.
  EXPECT_EQ(run("readlines=12&read"), Json::array({Json::array({"first line\n", "second line\n"}),
                                                   "\nlast without newline"}));
}

TEST_P(InputStreamTest, ReadsAllLinesForHintZeroOrLess) {
  // As io.IOBase.readlines: a hint of 0 or less is no hint.
  const Json all = Json::array({"first line\n", "second line\n", "\n", "last without newline"});
  EXPECT_EQ(run("readlines=-1"), Json::array({all}));
  const Json zero = run("readlines=0");
  EXPECT_EQ(zero, Json::array({all}));
}

TEST_P(InputStreamTest, IteratesLines) {
  EXPECT_EQ(
      run("iter"),
      Json::array({Json::array({"first line\n", "second line\n", "\n", "last without newline"})}));
}

TEST_P(InputStreamTest, ContinuesWhereTheLastReadStopped) {
  EXPECT_EQ(run("read=6&readline&iter"),
            Json::array({"first ", "line\n",
                         Json::array({"second line\n", "\n", "last without newline"})}));
}

TEST_P(InputStreamTest, ReadsEmptyBody) {
  EXPECT_EQ(run("read&readline&readlines&iter", ""),
            Json::array({"", "", Json::array(), Json::array()}));
}

TEST_P(InputStreamTest, FindsNewlineBeyondTheScanBlock) {
  // The file case scans 8 KiB at a time for the newline.
  const std::string line(10000, 'x');
  EXPECT_EQ(run("readline&readline", line + "\ntail"), Json::array({line + "\n", "tail"}));
}

TEST_P(InputStreamTest, ReadsBinaryBytes) {
  const std::string bytes("\0\xff\r\n\x80", 5);
  EXPECT_EQ(run("readline&read", bytes),
            Json::array({std::string("\0\xc3\xbf\r\n", 5), "\xc2\x80"}));
}

INSTANTIATE_TEST_SUITE_P(InputStream, InputStreamTest,
                         testing::Values(Storage::Memory, Storage::File),
                         [](const testing::TestParamInfo<Storage>& info) {
                           return info.param == Storage::Memory ? "Memory" : "File";
                         });

TEST(InputStream, ClosesTheBodyFileWhenTheCallEnds) {
  TestApp app("wsgi_input");
  TestRequest request;
  request.method = "POST";
  request.target = "/?read=2";
  const int fd = bodyFile("body");
  ASSERT_GE(fd, 0);
  request.body_fd = fd;
  request.body_fd_size = 4;
  WsgiCall call;
  app.start(call, request);
  EXPECT_EQ(call.state(), WsgiCall::State::Finished) << call.error();
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
}

}  // namespace
}  // namespace appserver::embed
