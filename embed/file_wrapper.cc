// file_wrapper.cc: wsgi.file_wrapper's iteration fallback and close().
//
// Thread: the app's thread, with the GIL held.
#include "file_wrapper.h"

namespace py = pybind11;

namespace appserver::embed {

py::object FileWrapper::next() {
  py::object block = filelike_.attr("read")(block_size_);
  if (!py::bool_(block)) {
    throw py::stop_iteration();
  }
  return block;
}

void FileWrapper::close() {
  if (py::hasattr(filelike_, "close")) {
    filelike_.attr("close")();
  }
}

void FileWrapper::define(py::module_& m) {
  py::class_<FileWrapper>(m, "FileWrapper")
      .def(py::init<py::object, int64_t>(), py::arg("filelike"), py::arg("blksize") = 8192)
      .def_property_readonly("filelike", &FileWrapper::filelike)
      .def("__iter__", [](py::object self) { return self; })
      .def("__next__", &FileWrapper::next)
      .def("close", &FileWrapper::close);
}

}  // namespace appserver::embed
