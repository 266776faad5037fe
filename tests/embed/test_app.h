// test_app.h: a WSGI test app from tests/embed/apps, loaded for one test, and one call of it.
//
// Loads "module:callable" (failing the test when that does not work) and collects what the
// app writes to wsgi.errors, which the apps also use to report when close() runs. Destroy
// it inside the test: the interpreter of embed_main.cc outlives every TestApp.
// Thread: the test's main thread (the embed API takes the GIL itself).
#pragma once

#include <memory>
#include <string>

#include "embed/wsgi_app.h"
#include "test_request.h"

namespace appserver::embed {

class TestApp {
 public:
  explicit TestApp(const std::string& spec, WsgiAppOptions options = {});

  bool loaded() const { return app_ != nullptr; }
  // Starts call on this app with request.view().
  void start(WsgiCall& call, TestRequest& request);
  // Starts call with a default request for target.
  void start(WsgiCall& call, const std::string& target = "/");
  // Everything the app wrote to wsgi.errors so far.
  const std::string& errors() const { return *errors_; }

 private:
  std::unique_ptr<std::string> errors_;  // stable address for the app's error_writer
  std::unique_ptr<WsgiApp> app_;         // destroyed first
};

// One call of a test app, started at construction with a default request for target.
// The call comes after the app, so it is released (closing its iterable) while the app's
// wsgi.errors collector still exists.
struct TestCall {
  explicit TestCall(const std::string& spec, const std::string& target = "/");

  TestApp app;
  WsgiCall call;
};

// Pulls until call leaves Streaming; returns the whole body it produced and empties body().
std::string drain(WsgiCall& call);

}  // namespace appserver::embed
