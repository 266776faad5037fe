// start_response.h: the start_response callable and its write() for one WSGI call.
//
// Checks what the app hands over before anything can reach the wire: the status must be
// "NNN reason" with a code of 200-599, header names must be HTTP tokens and no value may hold
// CR, LF, NUL or another control character. A violation raises in the app (which may catch
// it); an uncaught one becomes a 500 in WsgiCall.
// Thread: the app's thread, with the GIL held.
#pragma once

#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "wsgi_app.h"

namespace appserver::embed {

// What start_response and write() fill in; owned by the WsgiCall.
struct ResponseState {
  bool started = false;     // start_response has been called
  bool body_begun = false;  // a body byte exists, so the head counts as sent (PEP 3333)
  std::string* status = nullptr;
  std::vector<ResponseHeader>* headers = nullptr;
  std::string* body = nullptr;
};

class StartResponse {
 public:
  explicit StartResponse(ResponseState* state) : state_(state) {}

  // start_response(status, headers, exc_info=None) -> write
  pybind11::object call(const pybind11::object& status, const pybind11::object& headers,
                        const pybind11::object& exc_info);
  // write(data): body bytes before (or instead of) the returned iterable.
  void write(const pybind11::object& data);
  // The call is over: later calls from a stray reference raise instead of writing.
  void detach() { state_ = nullptr; }

  static void define(pybind11::module_& m);

 private:
  ResponseState& state();
  ResponseState* state_;
};

// Appends the bytes of a body item to out; raises TypeError for anything but bytes.
void appendBody(const pybind11::handle& item, std::string& out);

}  // namespace appserver::embed
