// environ.h: the WSGI environ of a request, built from a prebuilt template.
//
// Constant entries (wsgi.version, wsgi.errors, SCRIPT_NAME, ...) live in a template dict that
// each request copies. The template also holds a placeholder for every entry a request always
// sets and room for its headers, so the copy is one memcpy of the table and each request entry
// replaces a value instead of growing the dict. Keys are interned once, header keys are cached
// per header name as received, and values that repeat from one request to the next (method,
// protocol, addresses, ports, ...) reuse the str made last time.
// Thread: the app's thread, with the GIL held.
#pragma once

#include <pybind11/pybind11.h>

#include <string>
#include <string_view>
#include <unordered_map>

#include "wsgi_app.h"

namespace appserver::embed {

// The str made last for one environ entry. Most entries repeat between consecutive requests
// (one keep-alive client, one listener), and comparing a few bytes is cheaper than making a
// str and freeing it again.
class RecentStr {
 public:
  // A str holding the latin-1 bytes s: a borrowed reference, valid until the next get(),
  // or null with a Python error set.
  PyObject* get(std::string_view s);

 private:
  pybind11::object last_;  // always a 1-byte-kind str (made by PyUnicode_DecodeLatin1)
};

// The same for a number (a port): compared as a number, formatted only when it changes.
class RecentNumber {
 public:
  // A str of n in decimal: a borrowed reference, valid until the next get(), or null with a
  // Python error set.
  PyObject* get(int n);

 private:
  int last_ = 0;
  pybind11::object str_;  // str(last_), or null before the first get()
};

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
  void addRequestLine(PyObject* environ, const WsgiRequest& request);
  // Adds the HTTP_* and CONTENT_* entries; returns the Host field, or null without one.
  const HeaderView* addHeaders(PyObject* environ, const WsgiRequest& request);
  // environ[key] = value, or the value joined to one an earlier field of the name left there.
  void addHeader(PyObject* environ, HeaderKey& key, std::string_view value);
  // SERVER_NAME and SERVER_PORT (from Host, else the listener), REMOTE_ADDR and REMOTE_PORT.
  void addAddresses(PyObject* environ, const WsgiRequest& request, const HeaderView* host);
  // The JWT claims, the server's extra entries and wsgi.input.
  void addExtras(PyObject* environ, WsgiRequest& request);

  pybind11::dict template_;
  std::string script_name_;
  std::string key_buffer_;  // makeHeaderKey()'s scratch space, reused by every request
  // Keyed by the header name exactly as received: no key is built for a name seen before.
  std::unordered_map<std::string, HeaderKey, KeyHash, std::equal_to<>> header_keys_;
  HeaderKey uncached_key_;  // headerKey()'s answer once the cache is full
  pybind11::str k_request_method_, k_script_name_, k_path_info_, k_query_string_, k_raw_uri_,
      k_request_uri_, k_server_protocol_, k_server_name_, k_server_port_, k_remote_addr_,
      k_remote_port_, k_url_scheme_, k_input_, k_content_length_, k_jwt_claims_, k_http_host_,
      k_http_cookie_;
  RecentStr method_, path_info_, query_, target_, protocol_, scheme_, remote_addr_, server_name_,
      host_port_;
  RecentNumber remote_port_, listener_port_;
  pybind11::object json_loads_;
};

}  // namespace appserver::embed
