// file_wrapper.h: wsgi.file_wrapper, so a file the app returns can go out with sendfile.
//
// The wrapper is a plain iterable of blocks (PEP 3333), which is what the server falls back
// to; WsgiCall recognises it and, when the file is a regular file with a descriptor, hands the
// descriptor to the server instead of iterating.
// Thread: the app's thread, with the GIL held.
#pragma once

#include <pybind11/pybind11.h>

namespace appserver::embed {

class FileWrapper {
 public:
  FileWrapper(pybind11::object filelike, int64_t block_size)
      : filelike_(std::move(filelike)), block_size_(block_size > 0 ? block_size : 8192) {}

  pybind11::object next();
  void close();
  const pybind11::object& filelike() const { return filelike_; }

  static void define(pybind11::module_& m);

 private:
  pybind11::object filelike_;
  int64_t block_size_;
};

}  // namespace appserver::embed
