// python_error.h: turning the Python exception being handled into log text.
//
// Thread: any, with the GIL held.
#pragma once

#include <pybind11/pybind11.h>

#include <string>

namespace appserver::embed {

// The full traceback of e, as Python's traceback module prints it.
std::string formatException(pybind11::error_already_set& e);

}  // namespace appserver::embed
