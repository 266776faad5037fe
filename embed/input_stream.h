// input_stream.h: wsgi.input, the request body as a Python file-like object.
//
// The server buffers the whole body before the app runs (in memory, or in a spooled
// temporary file), so every read here is local and never waits on the client, and reading
// to EOF is always safe (wsgi.input_terminated is True).
// Every request gets one, so it is a native CPython type (read, readline, readlines and line
// iteration), made with one allocation instead of a pybind11 cast.
// Thread: whichever thread runs the app, with the GIL held.
#pragma once

#include "wsgi_app.h"

typedef struct _object PyObject;  // Python.h stays out of embed/ headers (STYLE.md)

namespace appserver::embed {

// Adds the InputStream type to module (once, when _appserver is imported).
// Returns false with a Python error set.
bool addInputStreamType(PyObject* module);

// A new wsgi.input that owns body from here on (a spooled file is closed when the stream is
// freed). Returns a new reference, or null with a Python error set.
PyObject* newInputStream(RequestBody&& body);

}  // namespace appserver::embed
