// input_stream.h: wsgi.input, the request body as a Python file-like object.
//
// The server buffers the whole body before the app runs (in memory, or in a spooled
// temporary file), so every read here is local and never waits on the client, and reading
// to EOF is always safe (wsgi.input_terminated is True).
// Thread: whichever thread runs the app; the GIL is held by the caller (pybind11).
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "wsgi_app.h"

namespace appserver::embed {

class InputStream {
 public:
  explicit InputStream(RequestBody&& body) : body_(std::move(body)) {}
  ~InputStream();
  InputStream(const InputStream&) = delete;
  InputStream& operator=(const InputStream&) = delete;

  // read(size=-1): up to size bytes, everything left when size is negative or None.
  pybind11::bytes read(const pybind11::object& size);
  // readline(size=-1): up to and including the next b"\n", at most size bytes.
  pybind11::bytes readline(const pybind11::object& size);
  // readlines(hint=-1): lines until EOF, or until their total reaches hint.
  pybind11::list readlines(const pybind11::object& hint);
  // Iteration yields lines; StopIteration at EOF.
  pybind11::bytes next();

  // Registers the Python type in module m.
  static void define(pybind11::module_& m);

 private:
  uint64_t remaining() const { return body_.size - pos_; }
  // Copies [pos_, pos_ + n) out of the body and advances; n <= remaining().
  std::string take(uint64_t n);
  // Length of the next line (through b"\n", or to EOF), at most limit bytes.
  uint64_t lineLength(uint64_t limit);

  RequestBody body_;
  uint64_t pos_ = 0;
};

}  // namespace appserver::embed
