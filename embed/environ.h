// environ.h: the WSGI environ of a request, built from a prebuilt template.
//
// Constant entries (wsgi.version, wsgi.errors, SCRIPT_NAME, ...) live in a template dict
// that each request copies; keys are interned once, HTTP_* keys are cached per header name,
// so a request costs one dict copy and a string per varying value.
// Thread: the app's thread, with the GIL held.
#pragma once

#include <pybind11/pybind11.h>

#include <string>
#include <string_view>
#include <unordered_map>

#include "wsgi_app.h"

namespace appserver::embed {

class EnvironBuilder {
 public:
  EnvironBuilder(const WsgiAppOptions& options, pybind11::object errors,
                 pybind11::object file_wrapper);

  // The environ for request; moves request.body into a new wsgi.input.
  pybind11::dict build(WsgiRequest& request);

 private:
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // The environ key for a header name ("HTTP_X_FOO", "CONTENT_TYPE"), or null to drop it.
  pybind11::object headerKey(std::string_view name);
  void addHeaders(pybind11::dict& environ, const WsgiRequest& request);
  void addServerAddress(pybind11::dict& environ, const WsgiRequest& request);

  pybind11::dict template_;
  std::string script_name_;
  std::string key_buffer_;  // headerKey()'s scratch space, reused by every request
  std::unordered_map<std::string, pybind11::object, KeyHash, std::equal_to<>> header_keys_;
  pybind11::str k_request_method_, k_script_name_, k_path_info_, k_query_string_, k_raw_uri_,
      k_request_uri_, k_server_protocol_, k_server_name_, k_server_port_, k_remote_addr_,
      k_remote_port_, k_url_scheme_, k_input_, k_content_length_, k_jwt_claims_;
  pybind11::object json_loads_;
};

}  // namespace appserver::embed
