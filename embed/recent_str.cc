// recent_str.cc: comparing bytes before making strs.
//
// Thread: the app's thread, with the GIL held.
#include "recent_str.h"

#include <array>
#include <charconv>
#include <cstring>

namespace py = pybind11;

namespace appserver::embed {

namespace {

py::object newLatin1(std::string_view s) {
  PyObject* made = PyUnicode_DecodeLatin1(s.data(), static_cast<Py_ssize_t>(s.size()), nullptr);
  if (made == nullptr) {
    throw py::error_already_set();
  }
  return py::reinterpret_steal<py::object>(made);
}

// Whether str (1-byte kind, or null) holds exactly the bytes s.
bool holds(const py::object& str, std::string_view s) {
  return str && static_cast<size_t>(PyUnicode_GET_LENGTH(str.ptr())) == s.size() &&
         (s.empty() || std::memcmp(PyUnicode_1BYTE_DATA(str.ptr()), s.data(), s.size()) == 0);
}

py::str intern(const char* s) {
  PyObject* made = PyUnicode_InternFromString(s);
  if (made == nullptr) {
    throw py::error_already_set();
  }
  return py::reinterpret_steal<py::str>(made);
}

}  // namespace

PyObject* RecentStr::get(std::string_view s) {
  if (!holds(last_, s)) {
    last_ = newLatin1(s);
  }
  return last_.ptr();
}

RecentEntry::RecentEntry(const char* key, const char* also_key)
    : key_(intern(key)), also_key_(also_key != nullptr ? intern(also_key) : py::object()) {}

void RecentEntry::set(PyObject* dict, std::string_view s) {
  if (!holds(value_, s)) {
    store(dict, newLatin1(s));
    number_ = -1;
  }
}

void RecentEntry::set(PyObject* dict, int n) {
  if (n == number_ && value_) {
    return;
  }
  std::array<char, 12> digits;
  const char* end = std::to_chars(digits.data(), digits.data() + digits.size(), n).ptr;
  set(dict, std::string_view(digits.data(), static_cast<size_t>(end - digits.data())));
  number_ = n;
}

void RecentEntry::store(PyObject* dict, py::object value) {
  value_ = std::move(value);
  if (PyDict_SetItem(dict, key_.ptr(), value_.ptr()) != 0 ||
      (also_key_ && PyDict_SetItem(dict, also_key_.ptr(), value_.ptr()) != 0)) {
    value_ = py::object();  // the dict may hold something else now: store again next time
    throw py::error_already_set();
  }
}

}  // namespace appserver::embed
