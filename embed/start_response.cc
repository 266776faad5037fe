// start_response.cc: status and header validation, exc_info rules, write().
//
// Thread: the app's thread, with the GIL held.
#include "start_response.h"

#include <algorithm>
#include <cctype>
#include <string_view>

namespace py = pybind11;

namespace appserver::embed {

namespace {

// RFC 9110 tchar.
bool isTokenChar(unsigned char c) {
  if (c >= '0' && c <= '9') {
    return true;
  }
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') {
    return true;
  }
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

// Field values and reason phrases: visible bytes, space and tab, obs-text; no CR/LF/NUL/CTL.
bool isFieldText(std::string_view s) {
  for (unsigned char c : s) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      return false;
    }
  }
  return true;
}

// A native string as latin-1 bytes, as PEP 3333 requires of status and headers.
std::string latin1(const py::handle& value, const char* what) {
  if (!PyUnicode_Check(value.ptr())) {
    throw py::type_error(std::string(what) + " must be str, not " +
                         std::string(py::str(value.get_type().attr("__name__"))));
  }
  PyObject* raw = PyUnicode_AsLatin1String(value.ptr());
  if (raw == nullptr) {
    PyErr_Clear();
    throw py::value_error(std::string(what) + " is not latin-1 encodable");
  }
  const py::bytes bytes = py::reinterpret_steal<py::bytes>(raw);
  return std::string(bytes);
}

std::string checkedStatus(const py::object& status) {
  std::string s = latin1(status, "status");
  const bool digits = s.size() >= 3 && std::isdigit(static_cast<unsigned char>(s[0])) &&
                      std::isdigit(static_cast<unsigned char>(s[1])) &&
                      std::isdigit(static_cast<unsigned char>(s[2]));
  if (!digits || (s.size() > 3 && s[3] != ' ') || !isFieldText(s)) {
    throw py::value_error("malformed status line: " + py::repr(status).cast<std::string>());
  }
  const int code = std::stoi(s.substr(0, 3));
  if (code < 200 || code > 599) {
    throw py::value_error("status code " + s.substr(0, 3) + " is not a final status (200-599)");
  }
  return s;
}

std::vector<ResponseHeader> checkedHeaders(const py::object& headers) {
  if (!PyList_Check(headers.ptr()) && !PyTuple_Check(headers.ptr())) {
    throw py::type_error("headers must be a list of (name, value) tuples");
  }
  std::vector<ResponseHeader> out;
  for (const py::handle item : headers) {
    if (!PyTuple_Check(item.ptr()) || PyTuple_GET_SIZE(item.ptr()) != 2) {
      throw py::type_error("each header must be a (name, value) tuple");
    }
    std::string name = latin1(PyTuple_GET_ITEM(item.ptr(), 0), "header name");
    std::string value = latin1(PyTuple_GET_ITEM(item.ptr(), 1), "header value");
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
          return isTokenChar(static_cast<unsigned char>(c));
        })) {
      throw py::value_error("invalid header name " +
                            py::repr(PyTuple_GET_ITEM(item.ptr(), 0)).cast<std::string>());
    }
    if (!isFieldText(value)) {
      throw py::value_error("header " + name +
                            " has a control character (CR, LF or NUL) in its value");
    }
    out.push_back({std::move(name), std::move(value)});
  }
  return out;
}

}  // namespace

ResponseState& StartResponse::state() {
  if (state_ == nullptr) {
    throw py::value_error("start_response/write used after the response ended");
  }
  return *state_;
}

py::object StartResponse::call(const py::object& status, const py::object& headers,
                               const py::object& exc_info) {
  ResponseState& s = state();
  if (!exc_info.is_none()) {
    if (s.body_begun) {
      // PEP 3333: the head is out, so the app's error must propagate.
      PyErr_SetObject(exc_info[py::int_(0)].ptr(), exc_info[py::int_(1)].ptr());
      PyException_SetTraceback(exc_info[py::int_(1)].ptr(), exc_info[py::int_(2)].ptr());
      throw py::error_already_set();
    }
  } else if (s.started) {
    throw py::value_error("start_response called a second time without exc_info");
  }
  std::string checked_status = checkedStatus(status);
  std::vector<ResponseHeader> checked_headers = checkedHeaders(headers);
  *s.status = std::move(checked_status);
  *s.headers = std::move(checked_headers);
  s.started = true;
  // An interned name, made once and never freed (it must outlive no interpreter: a worker
  // has one for its whole life).
  static PyObject* const write_name = PyUnicode_InternFromString("write");
  PyObject* write =
      PyObject_GetAttr(py::cast(this, py::return_value_policy::reference).ptr(), write_name);
  if (write == nullptr) {
    throw py::error_already_set();
  }
  return py::reinterpret_steal<py::object>(write);
}

void StartResponse::write(const py::object& data) {
  ResponseState& s = state();
  if (!s.started) {
    throw py::value_error("write() called before start_response");
  }
  appendBody(data, *s.body);
  s.body_begun = s.body_begun || !s.body->empty();
}

void appendBody(const py::handle& item, std::string& out) {
  if (!PyBytes_Check(item.ptr())) {
    throw py::type_error(std::string("response body items must be bytes, not ") +
                         Py_TYPE(item.ptr())->tp_name);
  }
  out.append(PyBytes_AS_STRING(item.ptr()), static_cast<size_t>(PyBytes_GET_SIZE(item.ptr())));
}

void StartResponse::define(py::module_& m) {
  py::class_<StartResponse>(m, "StartResponse")
      .def("__call__", &StartResponse::call, py::arg("status"), py::arg("headers"),
           py::arg("exc_info") = py::none())
      .def("write", &StartResponse::write);
}

}  // namespace appserver::embed
