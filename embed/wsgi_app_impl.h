// wsgi_app_impl.h: what a loaded WsgiApp holds on the Python side (private to embed/).
//
// Thread: any, with the GIL held; the destructor takes the GIL itself.
#pragma once

#include <pybind11/pybind11.h>

#include "environ.h"
#include "wsgi_app.h"

namespace appserver::embed {

struct WsgiApp::Impl {
  Impl(pybind11::object app, const WsgiAppOptions& options, pybind11::object errors,
       pybind11::object file_wrapper_type)
      : callable(std::move(app)),
        file_wrapper_type(file_wrapper_type),
        environ(options, std::move(errors), std::move(file_wrapper_type)) {}

  pybind11::object callable;
  pybind11::object file_wrapper_type;
  EnvironBuilder environ;
};

}  // namespace appserver::embed
