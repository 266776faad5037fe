// static_files_test.cc: StaticFiles over a real directory: mounts, confined lookups,
// precompressed siblings, conditional and range answers, and what never gets served.
//
// Every lookup test runs under both confinements (openat2 RESOLVE_BENEATH and the realpath
// fallback), so the fallback for older kernels is exercised on this one too. Requests come
// from HttpParser, exactly as a client would send them.
// Thread: the test's main thread.
#include "static_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>
#include <string>

#include "config.h"
#include "http_parser.h"

namespace appserver::server {

// Names a confinement in test names and failure messages (found by argument lookup).
void PrintTo(StaticFiles::Confinement confinement, std::ostream* os) {
  *os << (confinement == StaticFiles::Confinement::Beneath ? "Beneath" : "RealPath");
}

namespace {

namespace fs = std::filesystem;
using Confinement = StaticFiles::Confinement;

class StaticFilesTest : public testing::TestWithParam<Confinement> {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/appserver-static-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    base_ = pattern;
    const fs::path root = base_ / "root";
    fs::create_directories(root / "sub");
    fs::create_directories(base_ / "outside");
    write(root / "app.css", "body{}");
    write(root / "app.css.gz", "gzip bytes");
    write(root / "app.css.br", "brotli");
    write(root / "only.js", "let a;");
    write(root / "only.js.gz", "gz of only");
    write(root / "orphan.txt.gz", "no original");
    write(root / "app.0123456789ab.css", "hashed");
    write(root / "empty.txt", "");
    write(root / "sub" / "x.txt", "in sub");
    write(base_ / "outside" / "secret.txt", "secret");
    fs::create_symlink("app.css", root / "inside-link.css");
    fs::create_symlink(base_ / "outside" / "secret.txt", root / "absolute-escape.txt");
    fs::create_symlink("../outside/secret.txt", root / "relative-escape.txt");
    fs::create_symlink("../outside", root / "escape-dir");
    ASSERT_EQ(::mkfifo((root / "fifo.css").c_str(), 0600), 0);
    files_ = StaticFiles::open({"/static=" + root.string()}, GetParam());
    ASSERT_NE(files_, nullptr);
    ASSERT_EQ(files_->confinement(), GetParam());
  }
  void TearDown() override { fs::remove_all(base_); }

  static void write(const fs::path& path, const std::string& content) {
    std::ofstream(path, std::ios::binary) << content;
  }

  // The answer to `method target` with header_lines ("Name: value\r\n" each).
  StaticAnswer request(std::string_view target, const std::string& header_lines = "",
                       std::string_view method = "GET") {
    parser_ = std::make_unique<HttpParser>(HttpLimits{}, 1 << 20, "");
    const std::string raw = std::string(method) + " " + std::string(target) +
                            " HTTP/1.1\r\nHost: test\r\n" + header_lines + "\r\n";
    size_t consumed = 0;
    EXPECT_EQ(parser_->execute(raw, consumed), HttpParser::Result::Complete) << raw;
    EXPECT_TRUE(files_->covers(parser_->request().path)) << target;
    return files_->answer(parser_->request(), /*close=*/false);
  }

  // The body bytes the answer sends from its file.
  static std::string body(const StaticAnswer& answer) {
    std::string data(static_cast<size_t>(answer.length), '\0');
    if (answer.length > 0) {
      EXPECT_EQ(::pread(answer.file.get(), data.data(), data.size(), answer.offset),
                static_cast<ssize_t>(data.size()));
    }
    return data;
  }

  static bool hasField(const StaticAnswer& answer, std::string_view line) {
    return answer.head.find("\r\n" + std::string(line) + "\r\n") != std::string::npos;
  }

  // The value of a field in the answer's head ("" when absent).
  static std::string field(const StaticAnswer& answer, const std::string& name) {
    const size_t at = answer.head.find("\r\n" + name + ": ");
    if (at == std::string::npos) {
      return "";
    }
    const size_t start = at + name.size() + 4;
    return answer.head.substr(start, answer.head.find("\r\n", start) - start);
  }

  fs::path base_;
  std::unique_ptr<StaticFiles> files_;
  std::unique_ptr<HttpParser> parser_;
};

TEST_P(StaticFilesTest, ServesAFileWithTypeLengthAndValidators) {
  const StaticAnswer a = request("/static/app.css?v=3");
  EXPECT_EQ(a.status, 200);
  EXPECT_TRUE(a.head.starts_with("HTTP/1.1 200 OK\r\n")) << a.head;
  EXPECT_TRUE(hasField(a, "Content-Type: text/css; charset=utf-8")) << a.head;
  EXPECT_TRUE(hasField(a, "Content-Length: 6")) << a.head;
  EXPECT_TRUE(hasField(a, "Cache-Control: public, max-age=60")) << a.head;
  EXPECT_TRUE(hasField(a, "Vary: Accept-Encoding")) << a.head;
  EXPECT_TRUE(hasField(a, "Accept-Ranges: bytes")) << a.head;
  EXPECT_FALSE(field(a, "ETag").empty()) << a.head;
  EXPECT_FALSE(field(a, "Last-Modified").empty()) << a.head;
  EXPECT_TRUE(a.head.ends_with("\r\n\r\n"));
  EXPECT_EQ(body(a), "body{}");
}

TEST_P(StaticFilesTest, SendsNoBodyForHead) {
  const StaticAnswer a = request("/static/app.css", "", "HEAD");
  EXPECT_EQ(a.status, 200);
  EXPECT_TRUE(hasField(a, "Content-Length: 6")) << a.head;
  EXPECT_EQ(a.length, 0);
  EXPECT_FALSE(a.file);
}

TEST_P(StaticFilesTest, ServesAnEmptyFileWithoutABody) {
  const StaticAnswer a = request("/static/empty.txt");
  EXPECT_EQ(a.status, 200);
  EXPECT_TRUE(hasField(a, "Content-Length: 0")) << a.head;
  EXPECT_EQ(a.length, 0);
}

TEST_P(StaticFilesTest, ChoosesThePrecompressedSiblingTheClientPrefers) {
  StaticAnswer a = request("/static/app.css", "Accept-Encoding: gzip, deflate, br\r\n");
  EXPECT_TRUE(hasField(a, "Content-Encoding: br")) << a.head;
  EXPECT_TRUE(hasField(a, "Content-Type: text/css; charset=utf-8")) << a.head;
  EXPECT_EQ(body(a), "brotli");
  a = request("/static/app.css", "Accept-Encoding: br;q=0.5, gzip\r\n");
  EXPECT_TRUE(hasField(a, "Content-Encoding: gzip")) << a.head;
  EXPECT_EQ(body(a), "gzip bytes");
  a = request("/static/app.css", "Accept-Encoding: br;q=0, gzip;q=0\r\n");
  EXPECT_EQ(field(a, "Content-Encoding"), "") << a.head;
  EXPECT_TRUE(hasField(a, "Vary: Accept-Encoding")) << a.head;
  EXPECT_EQ(body(a), "body{}");
}

TEST_P(StaticFilesTest, FallsBackToTheSiblingThatExists) {
  const StaticAnswer a = request("/static/only.js", "Accept-Encoding: br, gzip\r\n");
  EXPECT_TRUE(hasField(a, "Content-Encoding: gzip")) << a.head;
  EXPECT_EQ(body(a), "gz of only");
}

TEST_P(StaticFilesTest, ServesNoSiblingWithoutItsOriginal) {
  EXPECT_EQ(request("/static/orphan.txt", "Accept-Encoding: gzip\r\n").status, 404);
}

TEST_P(StaticFilesTest, GivesTaggedSiblingsTheirOwnEtag) {
  const std::string identity = field(request("/static/app.css"), "ETag");
  const std::string brotli = field(request("/static/app.css", "Accept-Encoding: br\r\n"), "ETag");
  EXPECT_NE(identity, brotli);
}

TEST_P(StaticFilesTest, AnswersNotModifiedForTheCurrentEtagOrDate) {
  const StaticAnswer first = request("/static/app.css");
  const std::string etag = field(first, "ETag");
  const std::string modified = field(first, "Last-Modified");
  StaticAnswer a = request("/static/app.css", "If-None-Match: " + etag + "\r\n");
  EXPECT_EQ(a.status, 304);
  EXPECT_TRUE(a.head.starts_with("HTTP/1.1 304 Not Modified\r\n")) << a.head;
  EXPECT_EQ(field(a, "ETag"), etag);
  EXPECT_EQ(field(a, "Content-Length"), "");
  EXPECT_EQ(a.length, 0);
  a = request("/static/app.css", "If-Modified-Since: " + modified + "\r\n");
  EXPECT_EQ(a.status, 304);
  a = request("/static/app.css", "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n");
  EXPECT_EQ(a.status, 200);
  a = request("/static/app.css", "If-None-Match: \"stale\"\r\nIf-Modified-Since: " + modified +
                                     "\r\n");
  EXPECT_EQ(a.status, 200);  // If-None-Match decides when present
}

TEST_P(StaticFilesTest, AnswersOneRangeWith206) {
  const StaticAnswer a = request("/static/app.css", "Range: bytes=1-3\r\n");
  EXPECT_EQ(a.status, 206);
  EXPECT_TRUE(a.head.starts_with("HTTP/1.1 206 Partial Content\r\n")) << a.head;
  EXPECT_TRUE(hasField(a, "Content-Range: bytes 1-3/6")) << a.head;
  EXPECT_TRUE(hasField(a, "Content-Length: 3")) << a.head;
  EXPECT_EQ(body(a), "ody");
}

TEST_P(StaticFilesTest, AnswersARangePastTheEndWith416) {
  const StaticAnswer a = request("/static/app.css", "Range: bytes=6-\r\n");
  EXPECT_EQ(a.status, 416);
  EXPECT_TRUE(hasField(a, "Content-Range: bytes */6")) << a.head;
  EXPECT_FALSE(a.file);
}

TEST_P(StaticFilesTest, AnswersWholeForSeveralRangesOrAStaleIfRange) {
  EXPECT_EQ(request("/static/app.css", "Range: bytes=0-1,3-4\r\n").status, 200);
  const StaticAnswer a = request("/static/app.css", "Range: bytes=0-1\r\nIf-Range: \"old\"\r\n");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(body(a), "body{}");
  const std::string etag = field(a, "ETag");
  EXPECT_EQ(request("/static/app.css", "Range: bytes=0-1\r\nIf-Range: " + etag + "\r\n").status,
            206);
  EXPECT_EQ(request("/static/app.css", "Range: bytes=0-1\r\n", "HEAD").status, 200);
}

TEST_P(StaticFilesTest, CachesHashedNamesForAYear) {
  const StaticAnswer a = request("/static/app.0123456789ab.css");
  EXPECT_TRUE(hasField(a, "Cache-Control: public, max-age=31536000, immutable")) << a.head;
}

TEST_P(StaticFilesTest, FollowsSymlinksThatStayInside) {
  const StaticAnswer a = request("/static/inside-link.css");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(body(a), "body{}");
}

TEST_P(StaticFilesTest, FindsNothingOutsideTheDirectory) {
  for (const char* target :
       {"/static/absolute-escape.txt", "/static/relative-escape.txt",
        "/static/escape-dir/secret.txt", "/static/../outside/secret.txt",
        "/static/sub/../../outside/secret.txt", "/static/%2e%2e/outside/secret.txt"}) {
    const StaticAnswer a = request(target);
    EXPECT_EQ(a.status, 404) << target;
    EXPECT_EQ(a.head.find("secret"), std::string::npos) << target;
  }
}

TEST_P(StaticFilesTest, RefusesEncodedSeparatorsWith400) {
  EXPECT_EQ(request("/static/sub%2Fx.txt").status, 400);
  EXPECT_EQ(request("/static/..%2Foutside%2Fsecret.txt").status, 400);
  EXPECT_EQ(request("/static/sub%5Cx.txt").status, 400);
  EXPECT_EQ(request("/static/app.css%00.png").status, 400);
}

TEST_P(StaticFilesTest, ListsNoDirectory) {
  for (const char* target : {"/static/", "/static/sub", "/static/sub/", "/static/escape-dir"}) {
    EXPECT_EQ(request(target).status, 404) << target;
  }
  EXPECT_EQ(request("/static/sub/x.txt").status, 200);
}

TEST_P(StaticFilesTest, NeitherOpensNorBlocksOnAFifo) {
  EXPECT_EQ(request("/static/fifo.css").status, 404);
}

TEST_P(StaticFilesTest, RefusesOtherMethodsWith405) {
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS"}) {
    const StaticAnswer a = request("/static/app.css", "Content-Length: 0\r\n", method);
    EXPECT_EQ(a.status, 405) << method;
    EXPECT_TRUE(hasField(a, "Allow: GET, HEAD")) << a.head;
  }
}

TEST_P(StaticFilesTest, CoversOnlyPathsUnderAPrefix) {
  EXPECT_TRUE(files_->covers("/static/x"));
  EXPECT_FALSE(files_->covers("/static"));  // the prefix gained its "/"
  EXPECT_FALSE(files_->covers("/staticfiles/x"));
  EXPECT_FALSE(files_->covers("/api/static/x"));
}

TEST_P(StaticFilesTest, PicksTheLongestPrefix) {
  const fs::path root = base_ / "root";
  files_ = StaticFiles::open({"/static/=" + root.string(), "/static/sub/=" + root.string()},
                             GetParam());
  EXPECT_EQ(request("/static/sub/app.css").status, 200);  // root/app.css, not root/sub/app.css
}

INSTANTIATE_TEST_SUITE_P(Confinements, StaticFilesTest,
                         testing::Values(Confinement::Beneath, Confinement::RealPath),
                         [](const testing::TestParamInfo<Confinement>& info) {
                           return testing::PrintToString(info.param);
                         });

TEST(StaticFilesOpen, ReturnsNullWithoutMounts) { EXPECT_EQ(StaticFiles::open({}), nullptr); }

TEST(StaticFilesOpen, RefusesMalformedMountsAndMissingDirectories) {
  for (const char* spec : {"static=/tmp", "/static/", "/static/=", "=/tmp",
                           "/static/=/nonexistent/appserver-test", "/static/=/etc/passwd"}) {
    EXPECT_THROW(StaticFiles::open({spec}), ConfigError) << spec;
  }
  EXPECT_THROW(StaticFiles::open({"/s=/tmp", "/s/=/tmp"}), ConfigError);  // the same prefix
}

}  // namespace
}  // namespace appserver::server
