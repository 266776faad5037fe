// interpreter.h: the embedded CPython interpreter of a process.
//
// Created in each worker after fork, or with --preload once in the master before it forks
// (the workers then inherit it). Never with Python's own signal handlers: server/ owns the
// signals. The constructor leaves the GIL released; every embed entry point takes it for
// the duration of one call (or, on a thread that keeps it, until releaseKeptGil()).
// Thread: created and destroyed on the process's main thread.
#pragma once

#include <cstdint>
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

  // --preload, following the gc.freeze() documentation: the collector is off while the app
  // imports (so it leaves no freed holes in pages the children share); each child turns the
  // collector back on.
  void pauseCollection();
  // gc.freeze(): what the app imported is never traversed by a collection again. Before the
  // first fork, a child's collections then never write to the inherited objects' headers; in
  // every worker, a full collection walks only what requests left behind instead of the
  // whole framework, a pause that all of the worker's connections wait through.
  void freezeImported();
  // What os.fork() does around fork(): Python's locks and its thread states stay consistent
  // in both processes. beforeFork() takes the GIL; the two others release it.
  void beforeFork();
  void afterForkInParent();
  void afterForkInChild();

 private:
  int fork_gil_ = 0;  // the PyGILState_STATE of beforeFork() (Python.h stays out of here)
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

  // The thread's identifier as Python knows it (threading.get_ident()), for threadStack().
  uint64_t id() const { return id_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint64_t id_;
};

// The Python stack of the thread python_thread (PythonThread::id()), most recent call last,
// as the lines of a traceback ("  File ..., line N, in f\n    source\n"); "" when that
// thread runs no Python code now. Takes the GIL, so it waits while another thread holds it
// (an app thread in Python code gives it up every few milliseconds).
std::string threadStack(uint64_t python_thread);

// From now on a fatal signal (SIGSEGV, SIGFPE, SIGABRT, SIGBUS, SIGILL) first writes the
// Python stack of every thread to fd (the faulthandler module, async-signal-safe), then
// runs the handler that was installed before this call. fd stays open for the process's
// life. Returns "" or the Python error.
std::string enableFaultTracebacks(int fd);

// True when the calling thread holds the GIL. For APPSERVER_ASSERT only.
bool gilHeld();

}  // namespace appserver::embed
