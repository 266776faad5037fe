// start_response.h: the start_response callable and its write() for one WSGI call.
//
// Checks what the app hands over before anything can reach the wire: the status must be
// "NNN reason" with a code of 200-599, header names must be HTTP tokens and no value may hold
// CR, LF, NUL or another control character. A violation raises in the app (which may catch
// it); an uncaught one becomes a 500 in WsgiCall.
// start_response runs on every request, so it is a native CPython type called through
// vectorcall, not a pybind11 class: pybind11's generic dispatch and casts cost more than the
// whole check.
// Thread: the app's thread, with the GIL held.
#pragma once

#include <string>
#include <vector>

#include "wsgi_app.h"

typedef struct _object PyObject;  // Python.h stays out of embed/ headers (STYLE.md)

namespace appserver::embed {

// What start_response and write() fill in; owned by the WsgiCall.
struct ResponseState {
  bool started = false;     // start_response has been called
  bool body_begun = false;  // a body byte exists, so the head counts as sent (PEP 3333)
  std::string* status = nullptr;
  std::vector<ResponseHeader>* headers = nullptr;
  std::string* body = nullptr;
};

// Adds the StartResponse type to module (once, when _appserver is imported).
// Returns false with a Python error set.
bool addStartResponseType(PyObject* module);

// A new start_response(status, headers, exc_info=None) -> write for one call, filling *state.
// Returns a new reference, or null with a Python error set.
PyObject* newStartResponse(ResponseState* state);

// The call is over: later calls of start_response or its write() from a stray reference raise
// ValueError instead of writing.
void detachStartResponse(PyObject* start_response);

// Appends the bytes of a body item to out. Returns false with a TypeError set for anything
// but bytes.
bool appendBody(PyObject* item, std::string& out);

}  // namespace appserver::embed
