// start_response_test.cc: start_response and write() as apps use them (embed/start_response.cc).
//
// write() before the iterable, exc_info replacing the head before the body and re-raising
// after it, a second call without exc_info, and every status and header shape PEP 3333 or
// RFC 9110 forbids (each must end the call as Failed, never reach the wire).
// Apps: tests/embed/apps/wsgi_start_response.py.
// Thread: the test's main thread; the interpreter belongs to embed_main.cc.
#include <gtest/gtest.h>

#include <string>

#include "embed/wsgi_app.h"
#include "test_app.h"

namespace appserver::embed {
namespace {

using State = WsgiCall::State;

TEST(StartResponse, SendsWrittenBytesBeforeTheIterable) {
  TestCall t("wsgi_start_response:write_then_iterable");
  EXPECT_EQ(t.call.state(), State::Finished);
  EXPECT_EQ(t.call.body(), "written then returned");
}

TEST(StartResponse, ReplacesTheHeadWithExcInfoBeforeTheBody) {
  TestCall t("wsgi_start_response:exc_info_before_body");
  EXPECT_EQ(t.call.state(), State::Finished) << t.call.error();
  EXPECT_EQ(t.call.status(), "500 Internal Server Error");
  ASSERT_EQ(t.call.headers().size(), 1U);
  EXPECT_EQ(t.call.headers()[0].name, "X-Second");
  EXPECT_EQ(t.call.body(), "replaced");
}

TEST(StartResponse, ReraisesExcInfoAfterWrite) {
  TestCall t("wsgi_start_response:exc_info_after_write");
  EXPECT_EQ(t.call.state(), State::Broken);
  EXPECT_EQ(t.call.status(), "200 OK");  // the head that went out stays
  EXPECT_NE(t.call.error().find("ValueError: too late to change the head"), std::string::npos)
      << t.call.error();
}

TEST(StartResponse, ReraisesExcInfoAfterTheFirstItem) {
  TestCall t("wsgi_start_response:exc_info_after_yield");
  ASSERT_EQ(t.call.state(), State::Streaming);
  EXPECT_EQ(drain(t.call), "head is out");
  EXPECT_EQ(t.call.state(), State::Broken);
  EXPECT_NE(t.call.error().find("too late to change the head"), std::string::npos)
      << t.call.error();
}

TEST(StartResponse, FailsOnSecondCallWithoutExcInfo) {
  TestCall t("wsgi_start_response:second_call");
  EXPECT_EQ(t.call.state(), State::Failed);
  EXPECT_NE(t.call.error().find("second time"), std::string::npos) << t.call.error();
}

TEST(StartResponse, LetsTheAppRecoverFromARefusedHead) {
  TestCall t("wsgi_start_response:caught_bad_header");
  EXPECT_EQ(t.call.state(), State::Finished) << t.call.error();
  EXPECT_EQ(t.call.status(), "400 Bad Request");
  ASSERT_EQ(t.call.headers().size(), 1U);
  EXPECT_EQ(t.call.headers()[0].value, "ValueError");
  EXPECT_EQ(t.call.body(), "recovered");
}

TEST(StartResponse, KeepsStatusAndHeadersAsLatin1Bytes) {
  TestCall t("wsgi_start_response:header_values");
  EXPECT_EQ(t.call.state(), State::Finished) << t.call.error();
  EXPECT_EQ(t.call.status(), "299 Custom Reason");
  std::vector<std::pair<std::string, std::string>> headers;
  for (const HeaderView& h : t.call.headers()) {
    headers.emplace_back(h.name, h.value);
  }
  EXPECT_EQ(headers, (std::vector<std::pair<std::string, std::string>>{{"X-Latin1", "caf\xe9"},
                                                                       {"X-Tab", "a\tb"},
                                                                       {"x-lower", ""},
                                                                       {"X-Dup", "1"},
                                                                       {"X-Dup", "2"}}));
}

TEST(StartResponse, RefusesWriteFromAnEndedCall) {
  TestApp stash("wsgi_start_response:stash_write");
  TestApp use("wsgi_start_response:use_stashed_write");
  WsgiCall first;
  stash.start(first);
  ASSERT_EQ(first.state(), State::Finished);
  WsgiCall second;
  use.start(second);
  EXPECT_EQ(second.body(), "refused");
  EXPECT_EQ(first.body(), "stashed");  // nothing landed in the ended call
}

// The keys of BAD_STATUSES / BAD_HEADERS in wsgi_start_response.py.
class BadStatus : public testing::TestWithParam<const char*> {};
class BadHeaders : public testing::TestWithParam<const char*> {};

TEST_P(BadStatus, FailsTheCall) {
  TestCall t("wsgi_start_response:bad_status", std::string("/?") + GetParam());
  EXPECT_EQ(t.call.state(), State::Failed) << "status " << t.call.status();
  EXPECT_NE(t.call.error(), "");
}

TEST_P(BadHeaders, FailTheCall) {
  TestCall t("wsgi_start_response:bad_headers", std::string("/?") + GetParam());
  EXPECT_EQ(t.call.state(), State::Failed);
  EXPECT_TRUE(t.call.headers().empty());
  EXPECT_NE(t.call.error(), "");
}

std::string paramName(const testing::TestParamInfo<const char*>& info) {
  std::string name = info.param;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(StartResponse, BadStatus,
                         testing::Values("no-space", "two-digits", "letters", "informational",
                                         "too-high", "crlf", "nul", "bytes", "not-latin1"),
                         paramName);
INSTANTIATE_TEST_SUITE_P(StartResponse, BadHeaders,
                         testing::Values("empty-name", "space-in-name", "colon-in-name",
                                         "non-ascii-name", "cr-in-value", "lf-in-value",
                                         "crlf-in-value", "nul-in-value", "bytes-value",
                                         "bytes-name", "not-a-tuple", "three-items", "not-a-list"),
                         paramName);

}  // namespace
}  // namespace appserver::embed
