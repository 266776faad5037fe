// environ.cc: PEP 3333 environ construction.
//
// Strings are "native strings" decoded as latin-1, as PEP 3333 specifies; PATH_INFO is the
// percent-decoded path, also as latin-1. Header names with '_' are dropped (as nginx does):
// "X-Foo" and "X_Foo" would otherwise land on the same HTTP_X_FOO key.
// Thread: the app's thread, with the GIL held.
#include "environ.h"

#include <array>
#include <charconv>
#include <cstring>

#include "input_stream.h"

namespace py = pybind11;

namespace appserver::embed {

namespace {

constexpr size_t kMaxCachedHeaderKeys = 512;  // hostile names must not grow the cache forever
// Entries the template makes room for: its own 21 and about 20 header fields. A dict copy
// keeps the table size, so a request with that many fields never resizes its environ.
constexpr Py_ssize_t kEnvironCapacity = 40;
// Header values up to this size are kept for reuse by the next request; longer ones are rare
// to repeat, and 512 cached names must not pin megabytes.
constexpr size_t kMaxRecentValue = 256;

py::str intern(const char* s) {
  return py::reinterpret_steal<py::str>(PyUnicode_InternFromString(s));
}

PyObject* newLatin1(std::string_view s) {
  return PyUnicode_DecodeLatin1(s.data(), static_cast<Py_ssize_t>(s.size()), nullptr);
}

// Owns a new reference; a null one is the Python error it stands for, raised here.
py::object owned(PyObject* made) {
  if (made == nullptr) {
    throw py::error_already_set();
  }
  return py::reinterpret_steal<py::object>(made);
}

// environ[key] = value, value borrowed; a null value is the Python error it stands for.
void setItem(PyObject* environ, const py::str& key, PyObject* value) {
  if (value == nullptr || PyDict_SetItem(environ, key.ptr(), value) != 0) {
    throw py::error_already_set();
  }
}

// The decimal digits of n, written into digits.
template <typename Int>
std::string_view decimal(Int n, std::array<char, 24>& digits) {
  const char* end = std::to_chars(digits.data(), digits.data() + digits.size(), n).ptr;
  return {digits.data(), static_cast<size_t>(end - digits.data())};
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  c = static_cast<char>(c | 0x20);
  return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

// Header names are tokens (ASCII), so no locale may take part in upper-casing them.
char upperAscii(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

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

PyObject* RecentStr::get(std::string_view s) {
  PyObject* last = last_.ptr();
  if (last != nullptr && static_cast<size_t>(PyUnicode_GET_LENGTH(last)) == s.size() &&
      (s.empty() || std::memcmp(PyUnicode_1BYTE_DATA(last), s.data(), s.size()) == 0)) {
    return last;
  }
  PyObject* made = newLatin1(s);
  if (made != nullptr) {
    last_ = py::reinterpret_steal<py::object>(made);
  }
  return made;
}

PyObject* RecentNumber::get(int n) {
  if (!str_ || n != last_) {
    std::array<char, 24> digits;
    PyObject* made = newLatin1(decimal(n, digits));
    if (made == nullptr) {
      return nullptr;
    }
    str_ = py::reinterpret_steal<py::object>(made);
    last_ = n;
  }
  return str_.ptr();
}

EnvironBuilder::EnvironBuilder(const WsgiAppOptions& options, py::object errors,
                               py::object file_wrapper)
    // A private CPython call (3.11 exports it): the only way to size a dict up front.
    : template_(py::reinterpret_steal<py::dict>(_PyDict_NewPresized(kEnvironCapacity))),
      script_name_(options.script_name.ends_with('/')
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
      k_http_host_(intern("HTTP_HOST")),
      k_http_cookie_(intern("HTTP_COOKIE")),
      json_loads_(py::module_::import("json").attr("loads")) {
  if (!template_) {
    throw py::error_already_set();
  }
  template_[intern("wsgi.version")] = py::make_tuple(1, 0);
  template_[intern("wsgi.multithread")] = py::bool_(options.multithread);
  template_[intern("wsgi.multiprocess")] = py::bool_(options.multiprocess);
  template_[intern("wsgi.run_once")] = py::bool_(false);
  template_[intern("wsgi.input_terminated")] = py::bool_(true);
  template_[intern("wsgi.errors")] = std::move(errors);
  template_[intern("wsgi.file_wrapper")] = std::move(file_wrapper);
  template_[k_script_name_] = owned(newLatin1(script_name_));
  template_[intern("SERVER_SOFTWARE")] = py::str("appserver");
  // Placeholders for what every request sets, so that setting it replaces a value in the
  // copy. REMOTE_* are taken out again for a Unix socket peer.
  for (const py::str* key : {&k_request_method_, &k_path_info_, &k_query_string_, &k_raw_uri_,
                             &k_request_uri_, &k_server_protocol_, &k_server_name_, &k_server_port_,
                             &k_remote_addr_, &k_remote_port_, &k_url_scheme_, &k_input_}) {
    template_[*key] = py::none();
  }
}

EnvironBuilder::HeaderKey EnvironBuilder::makeHeaderKey(std::string_view name) {
  if (name.find('_') != std::string_view::npos) {
    return {};
  }
  key_buffer_.assign("HTTP_");
  for (char c : name) {
    key_buffer_.push_back(c == '-' ? '_' : upperAscii(c));
  }
  std::string_view key(key_buffer_);
  const bool framing = key == "HTTP_CONTENT_LENGTH" || key == "HTTP_TRANSFER_ENCODING";
  if (key == "HTTP_CONTENT_TYPE" || key == "HTTP_CONTENT_LENGTH") {
    key.remove_prefix(5);
  }
  PyObject* made = owned(newLatin1(key)).release().ptr();
  PyUnicode_InternInPlace(&made);  // one object per key, however the name was spelled
  return {py::reinterpret_steal<py::object>(made), framing, {}};
}

EnvironBuilder::HeaderKey& EnvironBuilder::headerKey(std::string_view name) {
  if (auto it = header_keys_.find(name); it != header_keys_.end()) {
    return it->second;
  }
  HeaderKey made = makeHeaderKey(name);
  if (header_keys_.size() >= kMaxCachedHeaderKeys) {
    uncached_key_ = std::move(made);
    return uncached_key_;
  }
  return header_keys_.emplace(std::string(name), std::move(made)).first->second;
}

void EnvironBuilder::addHeader(PyObject* environ, HeaderKey& key, std::string_view value) {
  const py::object made = value.size() <= kMaxRecentValue
                              ? py::reinterpret_borrow<py::object>(key.value.get(value))
                              : py::reinterpret_steal<py::object>(newLatin1(value));
  if (!made) {
    throw py::error_already_set();
  }
  const Py_ssize_t before = PyDict_GET_SIZE(environ);
  PyObject* old = PyDict_SetDefault(environ, key.key.ptr(), made.ptr());
  if (old == nullptr) {
    throw py::error_already_set();
  }
  if (PyDict_GET_SIZE(environ) > before) {
    return;  // the first field of this name
  }
  // Repeated fields are joined, as RFC 9110 5.3 allows (cookies with "; ", RFC 6265).
  const char* separator = key.key.ptr() == k_http_cookie_.ptr() ? "; " : ", ";
  const py::object joined = owned(PyUnicode_FromFormat("%U%s%U", old, separator, made.ptr()));
  if (PyDict_SetItem(environ, key.key.ptr(), joined.ptr()) != 0) {
    throw py::error_already_set();
  }
}

const HeaderView* EnvironBuilder::addHeaders(PyObject* environ, const WsgiRequest& request) {
  const HeaderView* host = nullptr;
  for (const HeaderView& h : request.headers) {
    HeaderKey& key = headerKey(h.name);
    // The app sees a chunked body de-chunked with its length, not the wire framing.
    if (!key.key || (key.framing && request.body_was_chunked)) {
      continue;
    }
    if (key.key.ptr() == k_http_host_.ptr() && host == nullptr) {
      host = &h;
    }
    addHeader(environ, key, h.value);
  }
  if (request.body_was_chunked) {
    std::array<char, 24> digits;
    setItem(environ, k_content_length_, owned(newLatin1(decimal(request.body.size, digits))).ptr());
  }
  return host;
}

void EnvironBuilder::addRequestLine(PyObject* environ, const WsgiRequest& request) {
  setItem(environ, k_request_method_, method_.get(request.method));
  std::string decoded;
  std::string_view path_info = request.path;
  if (path_info.find('%') != std::string_view::npos) {  // else the path is its own decoding
    decoded = decodePath(request.path);
    path_info = decoded;
  }
  // The mount is a whole path segment: /mount holds /mount and /mount/x, not /mountain,
  // which the app sees with an empty SCRIPT_NAME (SCRIPT_NAME + PATH_INFO is the path).
  if (!script_name_.empty()) {
    if (path_info.starts_with(script_name_) &&
        (path_info.size() == script_name_.size() || path_info[script_name_.size()] == '/')) {
      path_info.remove_prefix(script_name_.size());
    } else {
      setItem(environ, k_script_name_, owned(newLatin1("")).ptr());
    }
  }
  setItem(environ, k_path_info_, path_info_.get(path_info));
  setItem(environ, k_query_string_, query_.get(request.query));
  PyObject* target = target_.get(request.target);
  setItem(environ, k_raw_uri_, target);
  setItem(environ, k_request_uri_, target);
  setItem(environ, k_server_protocol_, protocol_.get(request.protocol));
  setItem(environ, k_url_scheme_, scheme_.get(request.url_scheme));
}

void EnvironBuilder::addAddresses(PyObject* environ, const WsgiRequest& request,
                                  const HeaderView* host) {
  std::string_view name = request.server_name;
  PyObject* port = nullptr;
  if (host != nullptr) {
    // Host is "name[:port]" or "[v6]:port": SERVER_NAME follows it, as in Gunicorn, and so
    // does SERVER_PORT when Host names one (else the port the request arrived on).
    name = host->value;
    const size_t bracket = name.rfind(']');
    const size_t colon = name.rfind(':');
    if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
      port = host_port_.get(name.substr(colon + 1));
      name = name.substr(0, colon);
      if (port == nullptr) {
        throw py::error_already_set();
      }
    }
  }
  setItem(environ, k_server_name_, server_name_.get(name));
  setItem(environ, k_server_port_,
          port != nullptr ? port : listener_port_.get(request.server_port));
  if (request.remote_addr.empty()) {  // a Unix socket peer: no address to give
    if (PyDict_DelItem(environ, k_remote_addr_.ptr()) != 0 ||
        PyDict_DelItem(environ, k_remote_port_.ptr()) != 0) {
      throw py::error_already_set();
    }
    return;
  }
  setItem(environ, k_remote_addr_, remote_addr_.get(request.remote_addr));
  setItem(environ, k_remote_port_, remote_port_.get(request.remote_port));
}

void EnvironBuilder::addExtras(PyObject* environ, WsgiRequest& request) {
  if (!request.jwt_claims_json.empty()) {
    setItem(
        environ, k_jwt_claims_,
        json_loads_(py::str(request.jwt_claims_json.data(), request.jwt_claims_json.size())).ptr());
  }
  for (const auto& [key, value] : request.extra) {
    const py::object k = owned(newLatin1(key));
    if (PyDict_SetItem(environ, k.ptr(), owned(newLatin1(value)).ptr()) != 0) {
      throw py::error_already_set();
    }
  }
  // Last, so no extra entry can stand in for the body.
  setItem(environ, k_input_, owned(newInputStream(std::move(request.body))).ptr());
}

py::dict EnvironBuilder::build(WsgiRequest& request) {
  auto environ = py::reinterpret_steal<py::dict>(PyDict_Copy(template_.ptr()));
  if (!environ) {
    throw py::error_already_set();
  }
  addRequestLine(environ.ptr(), request);
  const HeaderView* host = addHeaders(environ.ptr(), request);
  addAddresses(environ.ptr(), request, host);
  addExtras(environ.ptr(), request);
  return environ;
}

}  // namespace appserver::embed
