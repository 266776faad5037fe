// interpreter.cc: starting and stopping CPython inside a worker, and thread states.
//
// Thread: Interpreter on the loop thread; PythonThread on the pool thread it belongs to.
#include "interpreter.h"

#include <pybind11/embed.h>

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

struct PythonThread::Impl {
  py::gil_scoped_acquire acquire;  // creates this thread's state and keeps it
  py::gil_scoped_release release;  // then gives the GIL away, keeping the state
};

PythonThread::PythonThread() : impl_(std::make_unique<Impl>()) {}

PythonThread::~PythonThread() = default;

bool gilHeld() { return PyGILState_Check() != 0; }

}  // namespace appserver::embed
