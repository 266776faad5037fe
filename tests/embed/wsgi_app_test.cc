// wsgi_app_test.cc: WsgiApp::load() and the life of a WsgiCall (embed/wsgi_app.cc, wsgi_call.cc).
//
// Loading: module[:callable], dotted attributes, and the refusals that come back as text.
// Calling: lists finish inside start(), generators stream through pull(), empty items are
// skipped, errors before the first body byte give Failed and later ones Broken, and the
// iterable's close() runs exactly once however the call ends (the apps report it on
// wsgi.errors). Apps: tests/embed/apps/wsgi_loading.py, wsgi_responses.py.
// Thread: the test's main thread; the interpreter belongs to embed_main.cc.
#include "embed/wsgi_app.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_app.h"

namespace appserver::embed {
namespace {

using State = WsgiCall::State;

// The body an app answers a plain GET with, or "" when it does not finish.
std::string answer(const std::string& spec) {
  TestApp app(spec);
  WsgiCall call;
  app.start(call);
  const std::string body = drain(call);
  EXPECT_EQ(call.state(), State::Finished) << call.error();
  return body;
}

// The error load() returns for spec; the test fails if it loads.
std::string loadError(const std::string& spec) {
  WsgiApp::LoadResult loaded = WsgiApp::load(spec, {});
  EXPECT_EQ(loaded.app, nullptr) << spec << " loaded";
  return loaded.error;
}

// ---------------------------------------------------------------------------------------------
// Loading

TEST(WsgiApp, LoadsApplicationByDefault) { EXPECT_EQ(answer("wsgi_loading"), "default"); }

TEST(WsgiApp, LoadsNamedCallable) { EXPECT_EQ(answer("wsgi_loading:named"), "named"); }

TEST(WsgiApp, LoadsDottedAttribute) {
  EXPECT_EQ(answer("wsgi_loading:holder.inner.app"), "dotted");
}

TEST(WsgiApp, ReturnsTracebackOfFailedImport) {
  const std::string error = loadError("wsgi_import_error");
  EXPECT_NE(error.find("Traceback (most recent call last)"), std::string::npos) << error;
  EXPECT_NE(error.find("RuntimeError: wsgi_import_error refuses to import"), std::string::npos)
      << error;
}

TEST(WsgiApp, ReturnsTracebackOfMissingModule) {
  const std::string error = loadError("no_such_module_for_appserver_tests:app");
  EXPECT_NE(error.find("ModuleNotFoundError"), std::string::npos) << error;
}

TEST(WsgiApp, RefusesNonCallable) {
  EXPECT_NE(loadError("wsgi_loading:not_callable").find("not callable"), std::string::npos);
}

TEST(WsgiApp, RefusesMissingAttribute) {
  EXPECT_NE(loadError("wsgi_loading:holder.missing").find("holder.missing"), std::string::npos);
}

TEST(WsgiApp, RefusesEmptyModuleOrCallable) {
  EXPECT_NE(loadError(":application"), "");
  EXPECT_NE(loadError("wsgi_loading:"), "");
}

// ---------------------------------------------------------------------------------------------
// Lists and generators

TEST(WsgiCall, FinishesListResponseInStart) {
  TestCall t("wsgi_responses:list_response");
  EXPECT_EQ(t.call.state(), State::Finished);
  EXPECT_EQ(t.call.status(), "200 OK");
  ASSERT_EQ(t.call.headers().size(), 1U);
  EXPECT_EQ(t.call.headers()[0].name, "Content-Type");
  EXPECT_EQ(t.call.headers()[0].value, "text/plain");
  EXPECT_EQ(t.call.body(), "ab");
  EXPECT_EQ(t.call.error(), "");
  EXPECT_EQ(t.call.file().fd, -1);
}

TEST(WsgiCall, FinishesTupleResponseInStart) {
  TestCall t("wsgi_responses:tuple_response");
  EXPECT_EQ(t.call.state(), State::Finished);
  EXPECT_EQ(t.call.body(), "xy");
}

TEST(WsgiCall, StreamsGeneratorOneItemPerPull) {
  TestCall t("wsgi_responses:generator_response");
  EXPECT_EQ(t.call.state(), State::Streaming);
  EXPECT_EQ(t.call.status(), "200 OK");
  EXPECT_EQ(std::exchange(t.call.body(), {}), "one");
  std::vector<std::string> pieces;
  while (t.call.state() == State::Streaming) {
    t.call.pull();
    pieces.push_back(std::exchange(t.call.body(), {}));
  }
  // The empty item is skipped; the last pull finds the end.
  EXPECT_EQ(pieces, (std::vector<std::string>{"two", "three", ""}));
  EXPECT_EQ(t.call.state(), State::Finished);
}

TEST(WsgiCall, RunsLazyStartResponseBeforeReturningTheHead) {
  TestCall t("wsgi_responses:lazy_start");
  EXPECT_EQ(t.call.status(), "200 OK");
  EXPECT_EQ(drain(t.call), "lazy");
  EXPECT_EQ(t.call.state(), State::Finished);
}

TEST(WsgiCall, FinishesLazyGeneratorWithoutItems) {
  TestCall t("wsgi_responses:lazy_start_nothing");
  EXPECT_EQ(t.call.state(), State::Finished);
  EXPECT_EQ(t.call.status(), "200 OK");
  EXPECT_EQ(t.call.body(), "");
}

TEST(WsgiCall, SkipsEmptyItems) {
  TestCall t("wsgi_responses:empty_generator");
  EXPECT_EQ(t.call.state(), State::Finished);
  EXPECT_EQ(t.call.body(), "");
}

TEST(WsgiCall, CanBeStartedAgainForTheNextRequest) {
  TestApp list("wsgi_responses:list_response");
  TestApp generator("wsgi_responses:generator_response");
  WsgiCall call;
  generator.start(call);
  EXPECT_EQ(call.state(), State::Streaming);
  list.start(call);
  EXPECT_EQ(call.state(), State::Finished);
  EXPECT_EQ(call.body(), "ab");
}

TEST(WsgiCall, ResetReturnsToIdle) {
  TestCall t("wsgi_responses:list_response");
  t.call.reset();
  EXPECT_EQ(t.call.state(), State::Idle);
  EXPECT_EQ(t.call.status(), "");
  EXPECT_TRUE(t.call.headers().empty());
  EXPECT_EQ(t.call.body(), "");
  EXPECT_EQ(t.call.error(), "");
  t.call.pull();  // nothing to pull: stays Idle
  EXPECT_EQ(t.call.state(), State::Idle);
}

// ---------------------------------------------------------------------------------------------
// Failures before and after the head

TEST(WsgiCall, FailsOnNonBytesItemInList) {
  TestCall t("wsgi_responses:non_bytes_list");
  EXPECT_EQ(t.call.state(), State::Failed);
  EXPECT_NE(t.call.error().find("bytes"), std::string::npos) << t.call.error();
}

TEST(WsgiCall, FailsOnNonBytesFirstItem) {
  TestCall t("wsgi_responses:non_bytes_first");
  EXPECT_EQ(t.call.state(), State::Failed);
  EXPECT_NE(t.call.error().find("str"), std::string::npos) << t.call.error();
}

TEST(WsgiCall, BreaksOnNonBytesLaterItem) {
  TestCall t("wsgi_responses:non_bytes_later");
  ASSERT_EQ(t.call.state(), State::Streaming);
  EXPECT_EQ(std::exchange(t.call.body(), {}), "ok");
  t.call.pull();
  EXPECT_EQ(t.call.state(), State::Broken);
  EXPECT_NE(t.call.error().find("bytes"), std::string::npos) << t.call.error();
}

TEST(WsgiCall, FailsWithTracebackWhenTheAppRaisesBeforeStartResponse) {
  TestCall t("wsgi_responses:raise_before_start");
  EXPECT_EQ(t.call.state(), State::Failed);
  EXPECT_NE(t.call.error().find("Traceback (most recent call last)"), std::string::npos);
  EXPECT_NE(t.call.error().find("raise_before_start"), std::string::npos);
  EXPECT_NE(t.call.error().find("KeyError: 'boom before start_response'"), std::string::npos)
      << t.call.error();
}

TEST(WsgiCall, FailsWhenTheAppRaisesBeforeTheFirstBodyByte) {
  TestCall t("wsgi_responses:raise_after_start");
  EXPECT_EQ(t.call.state(), State::Failed);
  EXPECT_NE(t.call.error().find("boom after start_response"), std::string::npos) << t.call.error();
}

TEST(WsgiCall, BreaksWhenTheGeneratorRaisesAfterTheBodyBegan) {
  TestCall t("wsgi_responses:raise_after_body");
  EXPECT_EQ(drain(t.call), "ok");
  EXPECT_EQ(t.call.state(), State::Broken);
  EXPECT_NE(t.call.error().find("KeyError: 'boom after the body began'"), std::string::npos)
      << t.call.error();
}

TEST(WsgiCall, FailsWhenTheAppNeverCallsStartResponse) {
  TestCall t("wsgi_responses:no_start_response");
  EXPECT_EQ(t.call.state(), State::Failed);
  EXPECT_NE(t.call.error().find("start_response"), std::string::npos) << t.call.error();
}

TEST(WsgiCall, FailsWhenCCodeRaisesWithoutTraceback) {
  // bytes.fromhex raises inside map(), with no Python frame: the exception has no traceback.
  TestCall t("wsgi_responses:c_iterator_raises_first");
  EXPECT_EQ(t.call.state(), State::Failed);
  EXPECT_NE(t.call.error().find("ValueError"), std::string::npos) << t.call.error();
}

TEST(WsgiCall, BreaksWhenCCodeRaisesWithoutTracebackAfterTheBodyBegan) {
  TestCall t("wsgi_responses:c_iterator_raises");
  EXPECT_EQ(drain(t.call), "ok");
  EXPECT_EQ(t.call.state(), State::Broken);
  EXPECT_NE(t.call.error().find("ValueError"), std::string::npos) << t.call.error();
}

// ---------------------------------------------------------------------------------------------
// close()

// Runs wsgi_responses:tracked with items (see the app) to the end; returns the final state.
State runTracked(TestApp& app, const std::string& items) {
  WsgiCall call;
  app.start(call, "/?" + items);
  drain(call);
  return call.state();
}

TEST(WsgiCall, ClosesIterableWhenFinished) {
  TestCall t("wsgi_responses:tracked", "/?a&b");
  EXPECT_EQ(t.call.state(), State::Streaming);
  EXPECT_EQ(t.app.errors(), "");
  EXPECT_EQ(drain(t.call), "ab");
  EXPECT_EQ(t.call.state(), State::Finished);
  EXPECT_EQ(t.app.errors(), "closed\n");
  t.call.reset();
  EXPECT_EQ(t.app.errors(), "closed\n");  // once
}

TEST(WsgiCall, ClosesIterableFinishedInStart) {
  TestApp app("wsgi_responses:tracked");
  EXPECT_EQ(runTracked(app, ""), State::Finished);
  EXPECT_EQ(app.errors(), "closed\n");
}

TEST(WsgiCall, ClosesIterableWhenFailed) {
  TestApp app("wsgi_responses:tracked");
  EXPECT_EQ(runTracked(app, "!text"), State::Failed);
  EXPECT_EQ(app.errors(), "closed\n");
  EXPECT_EQ(runTracked(app, "!raise"), State::Failed);
  EXPECT_EQ(app.errors(), "closed\nclosed\n");
}

TEST(WsgiCall, ClosesIterableWhenBroken) {
  TestApp app("wsgi_responses:tracked");
  EXPECT_EQ(runTracked(app, "a&!raise"), State::Broken);
  EXPECT_EQ(app.errors(), "closed\n");
}

TEST(WsgiCall, ClosesIterableReturnedWithoutStartResponse) {
  TestCall t("wsgi_responses:tracked_before_start");
  EXPECT_EQ(t.call.state(), State::Failed);
  EXPECT_EQ(t.app.errors(), "closed\n");
}

TEST(WsgiCall, ClosesStreamingIterableOnReset) {
  // The client went away in the middle of a streamed response.
  TestCall t("wsgi_responses:tracked", "/?a&b&c");
  ASSERT_EQ(t.call.state(), State::Streaming);
  t.call.reset();
  EXPECT_EQ(t.call.state(), State::Idle);
  EXPECT_EQ(t.app.errors(), "closed\n");
}

TEST(WsgiCall, ClosesStreamingIterableWhenDestroyed) {
  TestApp app("wsgi_responses:tracked");
  {
    WsgiCall call;
    app.start(call, "/?a&b");
    ASSERT_EQ(call.state(), State::Streaming);
  }
  EXPECT_EQ(app.errors(), "closed\n");
}

TEST(WsgiCall, RunsGeneratorFinallyOnReset) {
  TestCall t("wsgi_responses:generator_with_finally");
  ASSERT_EQ(t.call.state(), State::Streaming);
  EXPECT_EQ(t.app.errors(), "");
  t.call.reset();
  EXPECT_EQ(t.app.errors(), "finally\n");
}

TEST(WsgiCall, ReportsExceptionFromClose) {
  TestCall t("wsgi_responses:close_raises");
  EXPECT_EQ(drain(t.call), "body");
  EXPECT_EQ(t.call.state(), State::Finished);
  const std::string error = t.call.reset();
  EXPECT_NE(error.find("close()"), std::string::npos) << error;
  EXPECT_NE(error.find("OSError: close failed"), std::string::npos) << error;
  EXPECT_EQ(t.call.reset(), "");  // reported once
}

}  // namespace
}  // namespace appserver::embed
