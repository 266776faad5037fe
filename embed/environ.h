// environ.h: the WSGI environ of a request, built from a template that follows the requests.
//
// The template holds the constant entries (wsgi.version, wsgi.errors, SERVER_SOFTWARE, ...)
// and the request-line and address entries of the previous request. A request rewrites only
// the entries whose bytes differ (RecentEntry) and takes a copy: one memcpy of a table sized
// up front with room for its header fields, so the copy never grows. Header entries go into
// the copy, under keys cached per header name as received, with values reused when a field
// repeats its last value.
// Thread: the app's thread, with the GIL held.
#pragma once

#include <pybind11/pybind11.h>

#include <string>
#include <string_view>
#include <unordered_map>

#include "recent_str.h"
#include "wsgi_app.h"

namespace appserver::embed {

class EnvironBuilder {
 public:
  EnvironBuilder(const WsgiAppOptions& options, pybind11::object errors,
                 pybind11::object file_wrapper);

  // The environ for request; moves request.body into a new wsgi.input.
  pybind11::dict build(WsgiRequest& request);

 private:
  // What a request header name becomes in the environ.
  struct HeaderKey {
    pybind11::object key;  // "HTTP_X_FOO" or "CONTENT_TYPE", interned; null: the field is dropped
    bool framing = false;  // Content-Length or Transfer-Encoding, hidden for a chunked body
    RecentStr value;       // the last short value of the field (a client repeats most fields)
  };
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  HeaderKey& headerKey(std::string_view name);
  HeaderKey makeHeaderKey(std::string_view name);
  // The template entries: request line, SCRIPT_NAME/PATH_INFO, server and remote address.
  void setRequestLine(const WsgiRequest& request);
  void setAddresses(const WsgiRequest& request);
  // The HTTP_* and CONTENT_* entries of the copy.
  void addHeaders(PyObject* environ, const WsgiRequest& request);
  // environ[key] = value, or the value joined to one an earlier field of the name left there.
  void addHeader(PyObject* environ, HeaderKey& key, std::string_view value);
  // HTTPS=on for an https request, the JWT claims, the request id, the server's extra entries
  // and wsgi.input.
  void addExtras(PyObject* environ, WsgiRequest& request);

  pybind11::dict template_;
  std::string script_name_;
  RecentEntry method_{"REQUEST_METHOD"}, script_name_entry_{"SCRIPT_NAME"}, path_info_{"PATH_INFO"},
      query_{"QUERY_STRING"}, target_{"RAW_URI", "REQUEST_URI"}, protocol_{"SERVER_PROTOCOL"},
      scheme_{"wsgi.url_scheme"}, server_name_{"SERVER_NAME"}, server_port_{"SERVER_PORT"},
      remote_addr_{"REMOTE_ADDR"}, remote_port_{"REMOTE_PORT"};
  std::string key_buffer_;  // makeHeaderKey()'s scratch space, reused by every request
  // Keyed by the header name exactly as received: no key is built for a name seen before.
  std::unordered_map<std::string, HeaderKey, KeyHash, std::equal_to<>> header_keys_;
  HeaderKey uncached_key_;  // headerKey()'s answer once the cache is full
  pybind11::str k_input_, k_content_length_, k_jwt_claims_, k_request_id_, k_http_cookie_,
      k_https_, k_on_;
  pybind11::object json_loads_;
};

}  // namespace appserver::embed
