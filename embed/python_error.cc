// python_error.cc: tracebacks as text.
//
// Thread: any, with the GIL held.
#include "python_error.h"

namespace py = pybind11;

namespace appserver::embed {

std::string formatException(py::error_already_set& e) {
  // An exception raised by C code may come without a traceback: pass None, not a null handle.
  const auto orNone = [](const py::object& o) { return o ? o : py::none(); };
  try {
    py::object lines =
        py::module_::import("traceback")
            .attr("format_exception")(orNone(e.type()), orNone(e.value()), orNone(e.trace()));
    return py::str("").attr("join")(lines).cast<std::string>();
  } catch (const std::exception&) {
    return e.what();  // formatting failed too (a broken __str__): keep pybind11's summary
  }
}

}  // namespace appserver::embed
