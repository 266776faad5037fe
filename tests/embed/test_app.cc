// test_app.cc: loading test apps, starting calls and draining them.
//
// Thread: the test's main thread.
#include "test_app.h"

#include <gtest/gtest.h>

namespace appserver::embed {

TestApp::TestApp(const std::string& spec, WsgiAppOptions options)
    : errors_(std::make_unique<std::string>()) {
  options.error_writer = [errors = errors_.get()](std::string_view text) { errors->append(text); };
  WsgiApp::LoadResult loaded = WsgiApp::load(spec, options);
  if (!loaded.app) {
    ADD_FAILURE() << "cannot load " << spec << ":\n" << loaded.error;
  }
  app_ = std::move(loaded.app);
}

void TestApp::start(WsgiCall& call, TestRequest& request) {
  ASSERT_TRUE(app_) << "the app did not load";
  WsgiRequest r = request.view();
  call.start(*app_, r);
}

void TestApp::start(WsgiCall& call, const std::string& target) {
  TestRequest request;
  request.target = target;
  start(call, request);
}

TestCall::TestCall(const std::string& spec, const std::string& target) : app(spec) {
  app.start(call, target);
}

std::string drain(WsgiCall& call) {
  std::string body = std::exchange(call.body(), {});
  while (call.state() == WsgiCall::State::Streaming) {
    call.pull();
    body += std::exchange(call.body(), {});
  }
  return body;
}

}  // namespace appserver::embed
