// python_error.cc: tracebacks as text.
//
// Thread: any, with the GIL held.
#include "python_error.h"

namespace py = pybind11;

namespace appserver::embed {

std::string formatException(py::error_already_set& e) {
  try {
    py::object lines =
        py::module_::import("traceback").attr("format_exception")(e.type(), e.value(), e.trace());
    return py::str("").attr("join")(lines).cast<std::string>();
  } catch (const py::error_already_set&) {
    return e.what();  // formatting failed too (a broken __str__): keep pybind11's summary
  }
}

}  // namespace appserver::embed
