// recent_str.h: environ strs that repeat from one request to the next.
//
// Most environ values are the same for consecutive requests: one keep-alive client sends the
// same method, protocol, address and fields; one listener has one port; a hot URL repeats.
// Comparing a few bytes with the str made last time is cheaper than making a str and freeing
// it again, and an entry of the environ template that already holds the value needs no store
// at all: the template copy hands it over.
// Thread: the app's thread, with the GIL held.
#pragma once

#include <pybind11/pybind11.h>

#include <string_view>

namespace appserver::embed {

// The str made last for one value.
class RecentStr {
 public:
  // A str of the latin-1 bytes s: a borrowed reference, valid until the next get().
  // Throws pybind11::error_already_set when no str can be made.
  PyObject* get(std::string_view s);

 private:
  pybind11::object last_;  // a 1-byte-kind str (made by PyUnicode_DecodeLatin1), or null
};

// An entry of a dict that follows the requests: it holds the str of the last request's value
// and is stored again only when a request brings other bytes.
class RecentEntry {
 public:
  // The entry dict[key] and, when also_key is given, dict[also_key] with the same str.
  explicit RecentEntry(const char* key, const char* also_key = nullptr);

  // Makes the entry a str of the latin-1 bytes s. Throws pybind11::error_already_set.
  void set(PyObject* dict, std::string_view s);
  // Makes the entry the decimal digits of n (n >= 0; a port), formatted only when n changes.
  void set(PyObject* dict, int n);
  const pybind11::str& key() const { return key_; }

 private:
  void store(PyObject* dict, pybind11::object value);

  pybind11::str key_;
  pybind11::object also_key_;  // null when there is none
  pybind11::object value_;     // what the dict holds now, or null before the first set()
  int number_ = -1;            // the n of the last set(dict, n), or -1
};

}  // namespace appserver::embed
