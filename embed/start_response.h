// start_response.h: the start_response callable and its write() for one WSGI call.
//
// Checks what the app hands over before anything can reach the wire: the status must be
// "NNN reason" with a code of 200-599, header names must be HTTP tokens and no value may hold
// CR, LF, NUL or another control character. A violation raises in the app (which may catch
// it); an uncaught one becomes a 500 in WsgiCall.
// start_response and the write it returns are native types (native_type.h), made once per
// connection and handed to call after call (StartResponseSlot).
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
  std::string* header_text = nullptr;  // the names and values, end to end
  std::vector<HeaderView>* headers = nullptr;  // views into *header_text
  std::string* body = nullptr;
};

// Adds the StartResponse type to module (once, when _appserver is imported).
// Returns false with a Python error set.
bool addStartResponseType(PyObject* module);

// The start_response(status, headers, exc_info=None) -> write of one connection's calls. The
// objects are made once and serve call after call: when nothing but the slot holds them as
// the next call begins, they serve it too, which saves making and freeing two objects per
// request. When the app kept a reference, they stay detached (calls through them raise
// ValueError instead of writing) and the next call gets new ones.
// Destroy it with the GIL held.
class StartResponseSlot {
 public:
  StartResponseSlot() = default;
  ~StartResponseSlot();
  StartResponseSlot(const StartResponseSlot&) = delete;
  StartResponseSlot& operator=(const StartResponseSlot&) = delete;

  // start_response for a call that fills *state: a borrowed reference, valid until finish().
  // Null with a Python error set.
  PyObject* begin(ResponseState* state);
  // The call is over: start_response and write no longer reach its state.
  void finish();
  // Whether a call is between begin() and finish().
  bool active() const { return active_; }
  // Whether objects are kept for the next call (freeing them needs the GIL).
  bool holdsObjects() const { return object_ != nullptr; }

 private:
  PyObject* object_ = nullptr;  // owned; owns its write
  bool active_ = false;
};

// Appends the bytes of a body item to out. Returns false with a TypeError set for anything
// but bytes.
bool appendBody(PyObject* item, std::string& out);

}  // namespace appserver::embed
