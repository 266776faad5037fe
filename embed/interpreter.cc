// interpreter.cc: starting and stopping CPython inside a worker, and thread states.
//
// Thread: Interpreter on the loop thread; PythonThread on the pool thread it belongs to.
#include "interpreter.h"

#include <pybind11/embed.h>

#include <string>

namespace py = pybind11;

namespace appserver::embed {

Interpreter::Interpreter(const InterpreterOptions& options) {
  // server/ owns SIGINT and friends: Python must not install its own handlers.
  py::initialize_interpreter(/*init_signal_handlers=*/false);
  {
    py::module_ sys = py::module_::import("sys");
    py::list path = sys.attr("path");
    for (auto it = options.python_path.rbegin(); it != options.python_path.rend(); ++it) {
      path.insert(0, py::str(*it));
    }
  }
  // From here on the GIL is taken per call; the main thread keeps its thread state.
  PyEval_SaveThread();
}

Interpreter::~Interpreter() {
  PyGILState_Ensure();
  py::finalize_interpreter();
}

namespace {

void callGc(const char* function) {
  py::gil_scoped_acquire gil;
  py::module_::import("gc").attr(function)();
}

}  // namespace

void Interpreter::pauseCollection() { callGc("disable"); }

void Interpreter::freezeImported() { callGc("freeze"); }

void Interpreter::beforeFork() {
  fork_gil_ = static_cast<int>(PyGILState_Ensure());
  PyOS_BeforeFork();
}

void Interpreter::afterForkInParent() {
  PyOS_AfterFork_Parent();
  PyGILState_Release(static_cast<PyGILState_STATE>(fork_gil_));
}

void Interpreter::afterForkInChild() {
  PyOS_AfterFork_Child();
  py::module_::import("gc").attr("enable")();
  PyGILState_Release(static_cast<PyGILState_STATE>(fork_gil_));
}

struct PythonThread::Impl {
  py::gil_scoped_acquire acquire;  // creates this thread's state and keeps it
  py::gil_scoped_release release;  // then gives the GIL away, keeping the state
};

PythonThread::PythonThread()
    : impl_(std::make_unique<Impl>()), id_(static_cast<uint64_t>(PyThread_get_thread_ident())) {}

PythonThread::~PythonThread() = default;

std::string threadStack(uint64_t python_thread) {
  py::gil_scoped_acquire gil;
  try {
    const py::dict frames = py::module_::import("sys").attr("_current_frames")();
    const py::int_ key(python_thread);
    if (!frames.contains(key)) {
      return "";
    }
    const py::list lines = py::module_::import("traceback").attr("format_stack")(frames[key]);
    std::string text;
    for (const py::handle line : lines) {
      text += line.cast<std::string>();
    }
    return text;
  } catch (const py::error_already_set& e) {
    return std::string("(no stack: ") + e.what() + ")\n";
  }
}

std::string enableFaultTracebacks(int fd) {
  py::gil_scoped_acquire gil;
  try {
    py::module_::import("faulthandler")
        .attr("enable")(py::arg("file") = fd, py::arg("all_threads") = true);
    return "";
  } catch (const py::error_already_set& e) {
    return e.what();
  }
}

bool gilHeld() { return PyGILState_Check() != 0; }

}  // namespace appserver::embed
