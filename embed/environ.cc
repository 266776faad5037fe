// environ.cc: PEP 3333 environ construction.
//
// Strings are "native strings" decoded as latin-1, as PEP 3333 specifies; PATH_INFO is the
// percent-decoded path, also as latin-1. Header names with '_' are dropped (as nginx does):
// "X-Foo" and "X_Foo" would otherwise land on the same HTTP_X_FOO key.
// Thread: the app's thread, with the GIL held.
#include "environ.h"

#include <strings.h>

#include "input_stream.h"

namespace py = pybind11;

namespace appserver::embed {

namespace {

constexpr size_t kMaxCachedHeaderKeys = 512;  // hostile names must not grow the cache forever

py::str intern(const char* s) {
  return py::reinterpret_steal<py::str>(PyUnicode_InternFromString(s));
}

py::str latin1(std::string_view s) {
  return py::reinterpret_steal<py::str>(
      PyUnicode_DecodeLatin1(s.data(), static_cast<Py_ssize_t>(s.size()), nullptr));
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  c = static_cast<char>(c | 0x20);
  return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

void setItem(py::dict& d, const py::str& key, const py::object& value) {
  PyDict_SetItem(d.ptr(), key.ptr(), value.ptr());
}

}  // namespace

std::string decodePath(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hexValue(s[i + 1]);
      const int lo = hexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

EnvironBuilder::EnvironBuilder(const WsgiAppOptions& options, py::object errors,
                               py::object file_wrapper)
    : script_name_(options.script_name.ends_with('/')
                       ? options.script_name.substr(0, options.script_name.size() - 1)
                       : options.script_name),
      k_request_method_(intern("REQUEST_METHOD")),
      k_script_name_(intern("SCRIPT_NAME")),
      k_path_info_(intern("PATH_INFO")),
      k_query_string_(intern("QUERY_STRING")),
      k_raw_uri_(intern("RAW_URI")),
      k_request_uri_(intern("REQUEST_URI")),
      k_server_protocol_(intern("SERVER_PROTOCOL")),
      k_server_name_(intern("SERVER_NAME")),
      k_server_port_(intern("SERVER_PORT")),
      k_remote_addr_(intern("REMOTE_ADDR")),
      k_remote_port_(intern("REMOTE_PORT")),
      k_url_scheme_(intern("wsgi.url_scheme")),
      k_input_(intern("wsgi.input")),
      k_content_length_(intern("CONTENT_LENGTH")),
      k_jwt_claims_(intern("appserver.jwt.claims")),
      json_loads_(py::module_::import("json").attr("loads")) {
  template_[intern("wsgi.version")] = py::make_tuple(1, 0);
  template_[intern("wsgi.multithread")] = py::bool_(options.multithread);
  template_[intern("wsgi.multiprocess")] = py::bool_(options.multiprocess);
  template_[intern("wsgi.run_once")] = py::bool_(false);
  template_[intern("wsgi.input_terminated")] = py::bool_(true);
  template_[intern("wsgi.errors")] = std::move(errors);
  template_[intern("wsgi.file_wrapper")] = std::move(file_wrapper);
  template_[k_script_name_] = latin1(script_name_);
  template_[intern("SERVER_SOFTWARE")] = py::str("appserver");
}

py::object EnvironBuilder::headerKey(std::string_view name) {
  if (name.find('_') != std::string_view::npos) {
    return py::object();
  }
  key_buffer_.assign("HTTP_");
  for (char c : name) {
    key_buffer_.push_back(
        c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  std::string_view key(key_buffer_);
  if (key == "HTTP_CONTENT_TYPE" || key == "HTTP_CONTENT_LENGTH") {
    key.remove_prefix(5);
  }
  if (auto it = header_keys_.find(key); it != header_keys_.end()) {
    return it->second;
  }
  PyObject* made = latin1(key).release().ptr();
  PyUnicode_InternInPlace(&made);
  auto object = py::reinterpret_steal<py::object>(made);
  if (header_keys_.size() < kMaxCachedHeaderKeys) {
    header_keys_.emplace(std::string(key), object);
  }
  return object;
}

void EnvironBuilder::addHeaders(py::dict& environ, const WsgiRequest& request) {
  for (const HeaderView& h : request.headers) {
    if (request.body_was_chunked && (h.name.size() == 17 || h.name.size() == 14)) {
      // The app sees the de-chunked body with its length, not the wire framing.
      std::string lower(h.name);
      for (char& c : lower) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      if (lower == "transfer-encoding" || lower == "content-length") {
        continue;
      }
    }
    const py::object key = headerKey(h.name);
    if (!key) {
      continue;
    }
    PyObject* old = PyDict_GetItem(environ.ptr(), key.ptr());
    if (old == nullptr) {
      PyDict_SetItem(environ.ptr(), key.ptr(), latin1(h.value).ptr());
      continue;
    }
    // Repeated fields are joined, as RFC 9110 5.3 allows (cookies with "; ", RFC 6265).
    const bool cookie = PyUnicode_CompareWithASCIIString(key.ptr(), "HTTP_COOKIE") == 0;
    py::str joined =
        py::reinterpret_borrow<py::str>(old) + py::str(cookie ? "; " : ", ") + latin1(h.value);
    PyDict_SetItem(environ.ptr(), key.ptr(), joined.ptr());
  }
  if (request.body_was_chunked) {
    setItem(environ, k_content_length_, py::str(std::to_string(request.body.size)));
  }
}

void EnvironBuilder::addServerAddress(py::dict& environ, const WsgiRequest& request) {
  std::string_view host = request.server_name;
  std::string port = std::to_string(request.server_port);
  for (const HeaderView& h : request.headers) {
    if (h.name.size() != 4 || ::strncasecmp(h.name.data(), "host", 4) != 0) {
      continue;
    }
    // Host is "name[:port]" or "[v6]:port": SERVER_NAME follows it, as in Gunicorn, and so
    // does SERVER_PORT when Host names one (else the port the request arrived on).
    std::string_view value = h.value;
    const size_t bracket = value.rfind(']');
    const size_t colon = value.rfind(':');
    if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
      port = std::string(value.substr(colon + 1));
      value = value.substr(0, colon);
    }
    host = value;
    break;
  }
  setItem(environ, k_server_name_, latin1(host));
  setItem(environ, k_server_port_, py::str(port));
}

py::dict EnvironBuilder::build(WsgiRequest& request) {
  auto environ = py::reinterpret_steal<py::dict>(PyDict_Copy(template_.ptr()));
  setItem(environ, k_request_method_, latin1(request.method));
  std::string path = decodePath(request.path);
  std::string_view path_info(path);
  // The mount is a whole path segment: /mount holds /mount and /mount/x, not /mountain,
  // which the app sees with an empty SCRIPT_NAME (SCRIPT_NAME + PATH_INFO is the path).
  if (!script_name_.empty()) {
    if (path_info.starts_with(script_name_) &&
        (path_info.size() == script_name_.size() || path_info[script_name_.size()] == '/')) {
      path_info.remove_prefix(script_name_.size());
    } else {
      setItem(environ, k_script_name_, py::str(""));
    }
  }
  setItem(environ, k_path_info_, latin1(path_info));
  setItem(environ, k_query_string_, latin1(request.query));
  const py::str raw_uri = latin1(request.target);
  setItem(environ, k_raw_uri_, raw_uri);
  setItem(environ, k_request_uri_, raw_uri);
  setItem(environ, k_server_protocol_, latin1(request.protocol));
  setItem(environ, k_url_scheme_, latin1(request.url_scheme));
  if (!request.remote_addr.empty()) {
    setItem(environ, k_remote_addr_, latin1(request.remote_addr));
    setItem(environ, k_remote_port_, py::str(std::to_string(request.remote_port)));
  }
  addHeaders(environ, request);
  addServerAddress(environ, request);
  if (!request.jwt_claims_json.empty()) {
    setItem(environ, k_jwt_claims_,
            json_loads_(py::str(request.jwt_claims_json.data(), request.jwt_claims_json.size())));
  }
  for (const auto& [key, value] : request.extra) {
    environ[latin1(key)] = latin1(value);
  }
  const auto input = py::reinterpret_steal<py::object>(newInputStream(std::move(request.body)));
  if (!input) {
    throw py::error_already_set();
  }
  setItem(environ, k_input_, input);
  return environ;
}

}  // namespace appserver::embed
