// error_stream.h: wsgi.errors, a text stream that hands what the app writes to server/.
//
// Libraries do not log (STYLE.md): the server passes a writer that feeds its error log.
// Thread: the app's thread, with the GIL held.
#pragma once

#include <pybind11/pybind11.h>

#include <functional>
#include <string>
#include <string_view>

namespace appserver::embed {

class ErrorStream {
 public:
  explicit ErrorStream(std::function<void(std::string_view)> writer) : writer_(std::move(writer)) {}

  void write(const std::string& text);
  void writelines(const pybind11::iterable& lines);
  void flush() {}

  static void define(pybind11::module_& m);

 private:
  std::function<void(std::string_view)> writer_;
};

}  // namespace appserver::embed
