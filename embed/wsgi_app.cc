// wsgi_app.cc: importing MODULE[:CALLABLE] and the _appserver helper module.
//
// Thread: the loop thread at worker start; the destructor takes the GIL.
#include "wsgi_app.h"

#include <pybind11/embed.h>

#include "error_stream.h"
#include "file_wrapper.h"
#include "input_stream.h"
#include "python_error.h"
#include "start_response.h"
#include "wsgi_app_impl.h"

namespace py = pybind11;

// The Python types behind wsgi.input, start_response, wsgi.errors and wsgi.file_wrapper.
PYBIND11_EMBEDDED_MODULE(_appserver, m) {
  if (!appserver::embed::addInputStreamType(m.ptr()) ||
      !appserver::embed::addStartResponseType(m.ptr())) {
    throw py::error_already_set();
  }
  appserver::embed::ErrorStream::define(m);
  appserver::embed::FileWrapper::define(m);
}

namespace appserver::embed {

namespace {

// Resolves "module:attr.attr" (Gunicorn's syntax, without call expressions).
py::object importCallable(std::string_view spec) {
  const size_t colon = spec.find(':');
  const std::string module(spec.substr(0, colon));
  const std::string attrs(colon == std::string_view::npos ? "application" : spec.substr(colon + 1));
  if (module.empty() || attrs.empty()) {
    throw std::invalid_argument("expected MODULE[:CALLABLE], got '" + std::string(spec) + "'");
  }
  py::object target = py::module_::import("importlib").attr("import_module")(module);
  size_t start = 0;
  while (start <= attrs.size()) {
    const size_t dot = std::min(attrs.find('.', start), attrs.size());
    const std::string name = attrs.substr(start, dot - start);
    if (!py::hasattr(target, name.c_str())) {
      throw std::invalid_argument("failed to find attribute '" + attrs + "' in '" + module + "'");
    }
    target = target.attr(name.c_str());
    start = dot + 1;
  }
  if (!PyCallable_Check(target.ptr())) {
    throw std::invalid_argument("'" + std::string(spec) + "' is not callable");
  }
  return target;
}

}  // namespace

WsgiApp::LoadResult WsgiApp::load(std::string_view spec, const WsgiAppOptions& options) {
  py::gil_scoped_acquire gil;
  try {
    py::module_ helpers = py::module_::import("_appserver");
    py::object app = importCallable(spec);
    py::object errors = py::cast(std::make_unique<ErrorStream>(options.error_writer));
    auto impl = std::make_unique<Impl>(std::move(app), options, std::move(errors),
                                       helpers.attr("FileWrapper"));
    return {std::unique_ptr<WsgiApp>(new WsgiApp(std::move(impl))), {}};
  } catch (py::error_already_set& e) {
    return {nullptr, formatException(e)};
  } catch (const std::exception& e) {
    return {nullptr, e.what()};
  }
}

WsgiApp::WsgiApp(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WsgiApp::~WsgiApp() {
  py::gil_scoped_acquire gil;
  impl_.reset();
}

}  // namespace appserver::embed
