// native_type.cc: static type setup, and vectorcall argument binding with Python's messages.
//
// Thread: the app's thread, with the GIL held.
#include "native_type.h"

#include <Python.h>

#include <cstdint>

namespace appserver::embed {

namespace {

// The index of the parameter called key, or names.size() when there is none.
size_t parameterIndex(std::span<const char* const> names, PyObject* key) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (PyUnicode_CompareWithASCIIString(key, names[i]) == 0) {
      return i;
    }
  }
  return names.size();
}

}  // namespace

void initNativeType(PyTypeObject& type, const char* name, size_t basicsize,
                    void (*dealloc)(PyObject*), const char* doc) {
  type = PyTypeObject{};                    // every slot empty; PyType_Ready fills in the rest
  Py_SET_REFCNT(&type.ob_base.ob_base, 1);  // as PyVarObject_HEAD_INIT: never freed
  type.tp_name = name;
  type.tp_basicsize = static_cast<Py_ssize_t>(basicsize);
  type.tp_dealloc = dealloc;
  type.tp_flags = Py_TPFLAGS_DEFAULT;
  type.tp_doc = doc;
}

bool bindArguments(const char* function, std::span<const char* const> names, size_t required,
                   PyObject* const* args, size_t nargsf, PyObject* kwnames, PyObject** out) {
  const auto nargs = static_cast<size_t>(PyVectorcall_NARGS(nargsf));
  if (nargs > names.size()) {
    PyErr_Format(PyExc_TypeError, "%s() takes at most %zu arguments (%zu given)", function,
                 names.size(), nargs);
    return false;
  }
  uint32_t given = (uint32_t{1} << nargs) - 1;
  for (size_t i = 0; i < nargs; ++i) {
    out[i] = args[i];
  }
  const Py_ssize_t keywords = kwnames == nullptr ? 0 : PyTuple_GET_SIZE(kwnames);
  for (Py_ssize_t k = 0; k < keywords; ++k) {
    PyObject* key = PyTuple_GET_ITEM(kwnames, k);
    const size_t i = parameterIndex(names, key);
    if (i == names.size()) {
      PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'", function, key);
      return false;
    }
    if ((given & (uint32_t{1} << i)) != 0) {
      PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'", function,
                   names[i]);
      return false;
    }
    given |= uint32_t{1} << i;
    out[i] = args[nargs + static_cast<size_t>(k)];
  }
  for (size_t i = 0; i < required; ++i) {
    if ((given & (uint32_t{1} << i)) == 0) {
      PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s'", function, names[i]);
      return false;
    }
  }
  return true;
}

}  // namespace appserver::embed
