// interpreter.h: the embedded CPython interpreter of one worker process.
//
// Created in the worker after fork (never in the master), without Python's own signal
// handlers because server/ owns the signals. The constructor leaves the GIL released;
// every embed entry point takes it for the duration of one call.
// Thread: created and destroyed on the worker's loop thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace appserver::embed {

struct InterpreterOptions {
  // Prepended to sys.path in this order (Gunicorn's --pythonpath, then the working directory).
  std::vector<std::string> python_path;
};

class Interpreter {
 public:
  // Starts Python and releases the GIL. Aborts if the interpreter cannot start.
  explicit Interpreter(const InterpreterOptions& options);
  // Takes the GIL back and finalizes the interpreter.
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;
};

// Gives a thread that C++ created (an app pool thread) a Python thread state for its whole
// life, so thread-locals of the app (Django's database connections) survive between requests.
// Construct it first thing on the new thread; destroy it last.
class PythonThread {
 public:
  PythonThread();
  ~PythonThread();
  PythonThread(const PythonThread&) = delete;
  PythonThread& operator=(const PythonThread&) = delete;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// True when the calling thread holds the GIL. For APPSERVER_ASSERT only.
bool gilHeld();

}  // namespace appserver::embed
