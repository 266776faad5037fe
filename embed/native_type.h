// native_type.h: what embed's native CPython types share.
//
// The objects a request creates and calls (start_response, its write, wsgi.input) are static
// PyTypeObjects rather than pybind11 classes: pybind11's generic dispatch and casts cost more
// than the work the calls do. Their arguments arrive through METH_FASTCALL / vectorcall, which
// skips building an argument tuple and a keyword dict on every call; bindArguments binds them
// the way Python binds a def with defaults, so start_response(status, headers, exc_info=None)
// and read(size=-1) still accept keywords.
// Thread: the app's thread, with the GIL held.
#pragma once

#include <cstddef>
#include <span>

// Python.h stays out of embed/ headers (STYLE.md).
typedef struct _object PyObject;
typedef struct _typeobject PyTypeObject;

namespace appserver::embed {

// Fills in a static type for objects of basicsize bytes freed by dealloc. Such a type has no
// tp_new (Python code cannot make one), is not a base type and is not garbage collected: its
// objects hold no Python references that could form a cycle. The caller sets what else it
// needs (methods, tp_call, ...) before PyType_Ready.
void initNativeType(PyTypeObject& type, const char* name, size_t basicsize,
                    void (*dealloc)(PyObject*), const char* doc);

// Binds args (positional first, then one per name in kwnames) to names: out[i] receives the
// argument for names[i], or keeps the default the caller stored there when it is not given.
// The first `required` names must be given. Returns false with a TypeError set when an
// argument is missing, unknown, given twice or one too many. names has at most 32 entries.
bool bindArguments(const char* function, std::span<const char* const> names, size_t required,
                   PyObject* const* args, size_t nargsf, PyObject* kwnames, PyObject** out);

}  // namespace appserver::embed
