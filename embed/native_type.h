// arguments.h: binding the arguments of a vectorcall to named parameters.
//
// The native types behind start_response and wsgi.input take their arguments through
// METH_FASTCALL / vectorcall, which skips building an argument tuple and a keyword dict on
// every call. This binds what arrives the way Python binds a def with defaults, so
// start_response(status, headers, exc_info=None) and read(size=-1) still accept keywords.
// Thread: the app's thread, with the GIL held.
#pragma once

#include <cstddef>
#include <span>

typedef struct _object PyObject;  // Python.h stays out of embed/ headers (STYLE.md)

namespace appserver::embed {

// Binds args (positional first, then one per name in kwnames) to names: out[i] receives the
// argument for names[i], or keeps the default the caller stored there when it is not given.
// The first `required` names must be given. Returns false with a TypeError set when an
// argument is missing, unknown, given twice or one too many. names has at most 32 entries.
bool bindArguments(const char* function, std::span<const char* const> names, size_t required,
                   PyObject* const* args, size_t nargsf, PyObject* kwnames, PyObject** out);

}  // namespace appserver::embed
