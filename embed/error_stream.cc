// error_stream.cc: wsgi.errors.
//
// Thread: the app's thread, with the GIL held.
#include "error_stream.h"

namespace py = pybind11;

namespace appserver::embed {

void ErrorStream::write(const std::string& text) {
  if (writer_) {
    writer_(text);
  }
}

void ErrorStream::writelines(const py::iterable& lines) {
  for (const py::handle line : lines) {
    write(line.cast<std::string>());
  }
}

void ErrorStream::define(py::module_& m) {
  py::class_<ErrorStream>(m, "ErrorStream")
      .def("write", &ErrorStream::write)
      .def("writelines", &ErrorStream::writelines)
      .def("flush", &ErrorStream::flush);
}

}  // namespace appserver::embed
