// wsgi_call.cc: running one WSGI call and pulling its body.
//
// The GIL is taken once by start() and once per pull(); a response that is a list (the
// common case: Django's HttpResponse) is finished, closed and released inside start(), so
// it costs a single GIL acquisition, or none when the loop thread kept it from the call
// before (keepGilBetweenCalls).
// Thread: one thread at a time (the loop thread or a pool thread with a PythonThread).
#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <utility>

#include "file_wrapper.h"
#include "python_error.h"
#include "start_response.h"
#include "wsgi_app.h"
#include "wsgi_app_impl.h"

namespace py = pybind11;

namespace appserver::embed {

namespace {

thread_local bool keep_gil = false;  // keepGilBetweenCalls() is on for this thread
thread_local bool gil_kept = false;  // and a call left the GIL taken

// The GIL for one entry point: taken and given back at the end, or, when the thread keeps
// it, taken unless a call before left it taken, and left taken.
class CallGil {
 public:
  CallGil() {
    if (!keep_gil) {
      acquire_.emplace();
    } else if (!gil_kept && PyGILState_Check() == 0) {
      PyEval_RestoreThread(PyGILState_GetThisThreadState());
      gil_kept = true;
    }
  }

 private:
  std::optional<py::gil_scoped_acquire> acquire_;
};

// Owns a new reference from the C API; a null one means a Python error, raised here.
py::object owned(PyObject* result) {
  if (result == nullptr) {
    throw py::error_already_set();
  }
  return py::reinterpret_steal<py::object>(result);
}

}  // namespace

struct WsgiCall::Impl {
  ResponseState response;
  StartResponseSlot start_response;  // the start_response the app gets, reused call after call
  py::object iterable;               // what the app returned, until closed
  py::object iterator;

  bool holdsPython() const { return start_response.active() || iterable || iterator; }
};

// Body-producing steps shared by start() and pull(); all run with the GIL held.
struct CallAccess {
  // Appends the next non-empty item; false when the iterator is exhausted.
  static bool pullItem(WsgiCall& call) {
    WsgiCall::Impl& im = *call.impl_;
    while (true) {
      auto item = py::reinterpret_steal<py::object>(PyIter_Next(im.iterator.ptr()));
      if (!item) {
        if (PyErr_Occurred() != nullptr) {
          throw py::error_already_set();
        }
        return false;
      }
      const size_t before = call.body_.size();
      if (!appendBody(item.ptr(), call.body_)) {
        throw py::error_already_set();
      }
      if (call.body_.size() > before) {
        im.response.body_begun = true;
        return true;
      }
    }
  }

  // A list or tuple (Django's responses) is taken whole, by index, without an iterator.
  static bool takeSequence(WsgiCall& call) {
    PyObject* items = call.impl_->iterable.ptr();
    if (!PyList_CheckExact(items) && !PyTuple_CheckExact(items)) {
      return false;
    }
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(items); ++i) {
      if (!appendBody(PySequence_Fast_GET_ITEM(items, i), call.body_)) {
        throw py::error_already_set();
      }
    }
    return true;
  }

  // A wsgi.file_wrapper over a regular file becomes a FileBody for sendfile.
  static bool takeFile(WsgiCall& call, WsgiApp& app) {
    WsgiCall::Impl& im = *call.impl_;
    // A type check, not isinstance(): pybind11's metaclass makes that a Python-level call.
    auto* wrapper_type = reinterpret_cast<PyTypeObject*>(app.impl_->file_wrapper_type.ptr());
    if (!PyObject_TypeCheck(im.iterable.ptr(), wrapper_type)) {
      return false;
    }
    const py::object filelike = im.iterable.cast<FileWrapper&>().filelike();
    if (!py::hasattr(filelike, "fileno") || !py::hasattr(filelike, "tell")) {
      return false;
    }
    int fd = -1;
    int64_t offset = 0;
    try {
      fd = filelike.attr("fileno")().cast<int>();
      offset = filelike.attr("tell")().cast<int64_t>();
    } catch (const py::error_already_set&) {
      return false;  // io.BytesIO and friends: no descriptor, so plain iteration
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      return false;
    }
    call.file_ = {::dup(fd), offset, std::max<int64_t>(0, st.st_size - offset)};
    im.response.body_begun = true;
    return call.file_.fd >= 0;
  }

  // Calls the iterable's close() and drops every Python reference of the call.
  static void release(WsgiCall& call) {
    WsgiCall::Impl& im = *call.impl_;
    // A list or tuple (Django's responses) has no close(): skip the failing lookup.
    if (im.iterable && !PyList_CheckExact(im.iterable.ptr()) &&
        !PyTuple_CheckExact(im.iterable.ptr()) && py::hasattr(im.iterable, "close")) {
      try {
        im.iterable.attr("close")();
      } catch (py::error_already_set& e) {
        call.close_error_ = "exception in the response iterable's close():\n" + formatException(e);
      }
    }
    im.start_response.finish();
    im.iterator = py::object();
    im.iterable = py::object();
  }

  static void fail(WsgiCall& call, std::string reason) {
    call.state_ =
        call.impl_->response.body_begun ? WsgiCall::State::Broken : WsgiCall::State::Failed;
    call.error_ = std::move(reason);
  }
};

WsgiCall::WsgiCall() : impl_(std::make_unique<Impl>()) {}

WsgiCall::~WsgiCall() {
  reset();
  if (impl_->start_response.holdsObjects()) {
    CallGil gil;
    impl_.reset();  // frees the start_response kept for a next call, with the GIL held
  }
}

void WsgiCall::start(WsgiApp& app, WsgiRequest& request) {
  reset();
  Impl& im = *impl_;
  im.response = ResponseState{false, false, &status_, &header_text_, &headers_, &body_};
  state_ = State::Streaming;
  CallGil gil;
  try {
    py::dict environ = app.impl_->environ.build(request);
    PyObject* start_response = im.start_response.begin(&im.response);
    if (start_response == nullptr) {
      throw py::error_already_set();
    }
    PyObject* args[] = {environ.ptr(), start_response};
    im.iterable = owned(PyObject_Vectorcall(app.impl_->callable.ptr(), args, 2, nullptr));
    if (CallAccess::takeSequence(*this) || CallAccess::takeFile(*this, app)) {
      state_ = State::Finished;
    } else {
      im.iterator = py::iter(im.iterable);
      if (!CallAccess::pullItem(*this)) {
        state_ = State::Finished;
      }
    }
    if (!im.response.started) {
      CallAccess::fail(*this, "the application returned without calling start_response");
      im.response.body_begun = false;
      state_ = State::Failed;
    }
  } catch (py::error_already_set& e) {
    CallAccess::fail(*this, formatException(e));
  } catch (const std::exception& e) {
    CallAccess::fail(*this, e.what());
  }
  if (state_ != State::Streaming) {
    CallAccess::release(*this);
  }
}

void WsgiCall::pull() {
  if (state_ != State::Streaming) {
    return;
  }
  CallGil gil;
  try {
    if (!CallAccess::pullItem(*this)) {
      state_ = State::Finished;
    }
  } catch (py::error_already_set& e) {
    CallAccess::fail(*this, formatException(e));
  } catch (const std::exception& e) {
    CallAccess::fail(*this, e.what());
  }
  if (state_ != State::Streaming) {
    CallAccess::release(*this);
  }
}

std::string WsgiCall::reset() {
  if (impl_->holdsPython()) {
    CallGil gil;
    CallAccess::release(*this);
  }
  if (file_.fd >= 0) {
    ::close(file_.fd);
  }
  state_ = State::Idle;
  status_.clear();
  header_text_.clear();
  headers_.clear();
  body_.clear();
  file_ = FileBody{};
  error_.clear();
  return std::exchange(close_error_, {});
}

void keepGilBetweenCalls(bool keep) {
  releaseKeptGil();
  keep_gil = keep;
}

void releaseKeptGil() {
  if (gil_kept) {
    PyEval_SaveThread();
    gil_kept = false;
  }
}

}  // namespace appserver::embed
