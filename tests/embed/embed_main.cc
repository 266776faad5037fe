// embed_main.cc: main() for the test binaries that run Python apps.
//
// CPython can be initialised once per process, so the single embed::Interpreter lives here,
// around RUN_ALL_TESTS(), as pybind11's own test main does. sys.path starts with
// tests/embed/apps (the test apps); bytecode caching is off so the source tree stays clean.
// Every WsgiApp a test creates is destroyed inside its test, before the interpreter ends.
// Thread: the process's main thread, which keeps its Python thread state throughout.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <memory>

#include "embed/interpreter.h"

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  ::setenv("PYTHONDONTWRITEBYTECODE", "1", 1);
  appserver::embed::InterpreterOptions options;
  options.python_path = {APPSERVER_TEST_APPS_DIR};
  auto interpreter = std::make_unique<appserver::embed::Interpreter>(options);
  const int status = RUN_ALL_TESTS();
  interpreter.reset();
  return status;
}
