// environ.cc: PEP 3333 environ construction.
//
// Strings are "native strings" decoded as latin-1, as PEP 3333 specifies; PATH_INFO is the
// percent-decoded path, also as latin-1. Header names with '_' are dropped (as nginx does):
// "X-Foo" and "X_Foo" would otherwise land on the same HTTP_X_FOO key.
// The template is shared by every request of the app, also with --threads: between the first
// write to it and its copy only strs are made and stored, so no Python code runs and no other
// thread can take the GIL in between.
// Thread: the app's thread, with the GIL held.
#include "environ.h"

#include <strings.h>

#include <array>
#include <charconv>

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

// Owns a new reference; a null one is the Python error it stands for, raised here.
py::object owned(PyObject* made) {
  if (made == nullptr) {
    throw py::error_already_set();
  }
  return py::reinterpret_steal<py::object>(made);
}

py::object newLatin1(std::string_view s) {
  return owned(PyUnicode_DecodeLatin1(s.data(), static_cast<Py_ssize_t>(s.size()), nullptr));
}

// environ[key] = value (borrowed).
void setItem(PyObject* environ, PyObject* key, PyObject* value) {
  if (PyDict_SetItem(environ, key, value) != 0) {
    throw py::error_already_set();
  }
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

const HeaderView* findHost(std::span<const HeaderView> headers) {
  for (const HeaderView& h : headers) {
    if (h.name.size() == 4 && ::strncasecmp(h.name.data(), "host", 4) == 0) {
      return &h;
    }
  }
  return nullptr;
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
    // A private CPython call (3.11 exports it): the only way to size a dict up front.
    : template_(py::reinterpret_steal<py::dict>(_PyDict_NewPresized(kEnvironCapacity))),
      script_name_(options.script_name.ends_with('/')
                       ? options.script_name.substr(0, options.script_name.size() - 1)
                       : options.script_name),
      k_input_(intern("wsgi.input")),
      k_content_length_(intern("CONTENT_LENGTH")),
      k_jwt_claims_(intern("appserver.jwt.claims")),
      k_request_id_(intern("appserver.request_id")),
      k_http_cookie_(intern("HTTP_COOKIE")),
      k_https_(intern("HTTPS")),
      k_on_(intern("on")),
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
  template_[intern("SERVER_SOFTWARE")] = py::str("appserver");
  script_name_entry_.set(template_.ptr(), script_name_);
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
  PyObject* made = newLatin1(key).release().ptr();
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

void EnvironBuilder::setRequestLine(const WsgiRequest& request) {
  PyObject* t = template_.ptr();
  method_.set(t, request.method);
  std::string decoded;
  std::string_view path_info = request.path;
  if (path_info.find('%') != std::string_view::npos) {  // else the path is its own decoding
    decoded = decodePath(request.path);
    path_info = decoded;
  }
  // The mount is a whole path segment: /mount holds /mount and /mount/x, not /mountain,
  // which the app sees with an empty SCRIPT_NAME (SCRIPT_NAME + PATH_INFO is the path).
  if (!script_name_.empty()) {
    const bool mounted =
        path_info.starts_with(script_name_) &&
        (path_info.size() == script_name_.size() || path_info[script_name_.size()] == '/');
    script_name_entry_.set(t, mounted ? std::string_view(script_name_) : std::string_view());
    if (mounted) {
      path_info.remove_prefix(script_name_.size());
    }
  }
  path_info_.set(t, path_info);
  query_.set(t, request.query);
  target_.set(t, request.target);
  protocol_.set(t, request.protocol);
  scheme_.set(t, request.url_scheme);
}

void EnvironBuilder::setAddresses(const WsgiRequest& request) {
  PyObject* t = template_.ptr();
  const HeaderView* host = findHost(request.headers);
  if (host == nullptr) {
    server_name_.set(t, request.server_name);
    server_port_.set(t, request.server_port);
  } else {
    // Host is "name[:port]" or "[v6]:port": SERVER_NAME follows it, as in Gunicorn, and so
    // does SERVER_PORT when Host names one (else the port the request arrived on).
    const std::string_view value = host->value;
    const size_t bracket = value.rfind(']');
    const size_t colon = value.rfind(':');
    if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
      server_name_.set(t, value.substr(0, colon));
      server_port_.set(t, value.substr(colon + 1));
    } else {
      server_name_.set(t, value);
      server_port_.set(t, request.server_port);
    }
  }
  if (!request.remote_addr.empty()) {  // else a Unix socket peer: build() drops REMOTE_*
    remote_addr_.set(t, request.remote_addr);
    remote_port_.set(t, request.remote_port);
  }
}

void EnvironBuilder::addHeader(PyObject* environ, HeaderKey& key, std::string_view value) {
  const py::object made = value.size() <= kMaxRecentValue
                              ? py::reinterpret_borrow<py::object>(key.value.get(value))
                              : newLatin1(value);
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
  setItem(environ, key.key.ptr(), joined.ptr());
}

void EnvironBuilder::addHeaders(PyObject* environ, const WsgiRequest& request) {
  for (const HeaderView& h : request.headers) {
    HeaderKey& key = headerKey(h.name);
    // The app sees a chunked body de-chunked with its length, not the wire framing.
    if (key.key && !(key.framing && request.body_was_chunked)) {
      addHeader(environ, key, h.value);
    }
  }
  if (request.body_was_chunked) {
    std::array<char, 24> digits;
    const char* end =
        std::to_chars(digits.data(), digits.data() + digits.size(), request.body.size).ptr;
    const std::string_view length(digits.data(), static_cast<size_t>(end - digits.data()));
    setItem(environ, k_content_length_.ptr(), newLatin1(length).ptr());
  }
}

void EnvironBuilder::addExtras(PyObject* environ, WsgiRequest& request) {
  if (request.url_scheme == "https") {
    setItem(environ, k_https_.ptr(), k_on_.ptr());  // the CGI variable some apps check
  }
  if (!request.jwt_claims_json.empty()) {
    const py::str json(request.jwt_claims_json.data(), request.jwt_claims_json.size());
    setItem(environ, k_jwt_claims_.ptr(), json_loads_(json).ptr());
  }
  if (!request.request_id.empty()) {
    setItem(environ, k_request_id_.ptr(), newLatin1(request.request_id).ptr());
  }
  for (const auto& [key, value] : request.extra) {
    setItem(environ, newLatin1(key).ptr(), newLatin1(value).ptr());
  }
  // Last, so no extra entry can stand in for the body.
  setItem(environ, k_input_.ptr(), owned(newInputStream(std::move(request.body))).ptr());
}

py::dict EnvironBuilder::build(WsgiRequest& request) {
  setRequestLine(request);
  setAddresses(request);
  auto environ = py::reinterpret_steal<py::dict>(PyDict_Copy(template_.ptr()));
  if (!environ) {
    throw py::error_already_set();
  }
  if (request.remote_addr.empty()) {
    // Entries of an earlier TCP request, if any: a Unix socket peer has no address.
    for (const RecentEntry* entry : {&remote_addr_, &remote_port_}) {
      PyObject* key = entry->key().ptr();
      if (PyDict_GetItem(environ.ptr(), key) != nullptr &&
          PyDict_DelItem(environ.ptr(), key) != 0) {
        throw py::error_already_set();
      }
    }
  }
  addHeaders(environ.ptr(), request);
  addExtras(environ.ptr(), request);
  return environ;
}

}  // namespace appserver::embed
