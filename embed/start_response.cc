// start_response.cc: status and header validation, exc_info rules, write().
//
// Status and headers are checked where they lie: a str whose characters all fit in a byte is
// stored as exactly those latin-1 bytes (PEP 393), so nothing is encoded or allocated until
// the checked head is copied into the ResponseState. Checks run over everything before
// anything is copied, so a refused head leaves the state as it was.
// Thread: the app's thread, with the GIL held.
#include "start_response.h"

#include <Python.h>

#include <array>
#include <cstddef>
#include <string_view>

#include "native_type.h"

namespace appserver::embed {

namespace {

// The head of both objects: what CPython calls (no argument tuple per call), and the call the
// object serves.
struct CallObject {
  PyObject ob_base;           // PyObject_HEAD, spelled out
  vectorcallfunc vectorcall;  // start_response or write
  ResponseState* state;       // null between calls, and for good once detached
};

// start_response owns the write it returns: both are made once per StartResponseSlot.
struct StartResponseObject {
  CallObject call;
  CallObject* write;
};

CallObject* callObject(PyObject* self) { return reinterpret_cast<CallObject*>(self); }
StartResponseObject* startResponseObject(PyObject* self) {
  return reinterpret_cast<StartResponseObject*>(self);
}

// RFC 9110 tchar, as a table: header names are checked a byte at a time.
constexpr std::array<bool, 256> kTokenChars = [] {
  std::array<bool, 256> table{};
  for (unsigned char c : std::string_view("!#$%&'*+-.^_`|~0123456789")) {
    table[c] = true;
  }
  for (int c = 'a'; c <= 'z'; ++c) {
    table[c] = table[c - 'a' + 'A'] = true;
  }
  return table;
}();

bool isToken(std::string_view s) {
  for (unsigned char c : s) {
    if (!kTokenChars[c]) {
      return false;
    }
  }
  return !s.empty();
}

// Field values and reason phrases: visible bytes, space and tab, obs-text; no CR/LF/NUL/CTL.
constexpr std::array<bool, 256> kFieldTextChars = [] {
  std::array<bool, 256> table{};
  for (int c = 0x20; c < 0x100; ++c) {
    table[c] = c != 0x7f;
  }
  table['\t'] = true;
  return table;
}();

bool isFieldText(std::string_view s) {
  for (unsigned char c : s) {
    if (!kFieldTextChars[c]) {
      return false;
    }
  }
  return true;
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// The latin-1 bytes of a native string, read in place. A str whose kind is wider than one
// byte holds a character above U+00FF, so it has no latin-1 form (PEP 3333 forbids it).
bool latin1View(PyObject* value, const char* what, std::string_view& out) {
  if (!PyUnicode_Check(value)) {
    PyErr_Format(PyExc_TypeError, "%s must be str, not %.200s", what, Py_TYPE(value)->tp_name);
    return false;
  }
  if (PyUnicode_READY(value) != 0) {
    return false;
  }
  if (PyUnicode_KIND(value) != PyUnicode_1BYTE_KIND) {
    PyErr_Format(PyExc_ValueError, "%s is not latin-1 encodable", what);
    return false;
  }
  out = {reinterpret_cast<const char*>(PyUnicode_1BYTE_DATA(value)),
         static_cast<size_t>(PyUnicode_GET_LENGTH(value))};
  return true;
}

bool checkStatus(PyObject* status, std::string_view& out) {
  if (!latin1View(status, "status", out)) {
    return false;
  }
  const bool digits = out.size() >= 3 && isDigit(out[0]) && isDigit(out[1]) && isDigit(out[2]);
  if (!digits || (out.size() > 3 && out[3] != ' ') || !isFieldText(out)) {
    PyErr_Format(PyExc_ValueError, "malformed status line: %R", status);
    return false;
  }
  const int code = (out[0] - '0') * 100 + (out[1] - '0') * 10 + (out[2] - '0');
  if (code < 200 || code > 599) {
    PyErr_Format(PyExc_ValueError, "status code %.3s is not a final status (200-599)", out.data());
    return false;
  }
  return true;
}

// One (name, value) item of a header list that checkHeaders accepted.
std::string_view headerPart(PyObject* item, Py_ssize_t part) {
  PyObject* s = PyTuple_GET_ITEM(item, part);
  return {reinterpret_cast<const char*>(PyUnicode_1BYTE_DATA(s)),
          static_cast<size_t>(PyUnicode_GET_LENGTH(s))};
}

// Appends part to text, which has room for it; returns where it landed.
std::string_view appendPart(std::string& text, std::string_view part) {
  const size_t at = text.size();
  text.append(part);
  return std::string_view(text).substr(at);
}

bool checkHeader(PyObject* item) {
  if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2) {
    PyErr_SetString(PyExc_TypeError, "each header must be a (name, value) tuple");
    return false;
  }
  PyObject* name_object = PyTuple_GET_ITEM(item, 0);
  std::string_view name;
  std::string_view value;
  if (!latin1View(name_object, "header name", name) ||
      !latin1View(PyTuple_GET_ITEM(item, 1), "header value", value)) {
    return false;
  }
  if (!isToken(name)) {
    PyErr_Format(PyExc_ValueError, "invalid header name %R", name_object);
    return false;
  }
  if (!isFieldText(value)) {
    PyErr_Format(PyExc_ValueError, "header %U has a control character (CR, LF or NUL) in its value",
                 name_object);
    return false;
  }
  return true;
}

bool checkHeaders(PyObject* headers) {
  if (!PyList_Check(headers) && !PyTuple_Check(headers)) {
    PyErr_SetString(PyExc_TypeError, "headers must be a list of (name, value) tuples");
    return false;
  }
  for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(headers); ++i) {
    if (!checkHeader(PySequence_Fast_GET_ITEM(headers, i))) {
      return false;
    }
  }
  return true;
}

// Copies a checked head into the call's state. No Python code has run since the checks, so
// the header list is still the one that passed them.
void commitHead(ResponseState& s, std::string_view status, PyObject* headers) {
  s.status->assign(status);
  const Py_ssize_t n = PySequence_Fast_GET_SIZE(headers);
  size_t bytes = 0;
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* item = PySequence_Fast_GET_ITEM(headers, i);
    bytes += headerPart(item, 0).size() + headerPart(item, 1).size();
  }
  // exc_info: the new head replaces the one not yet sent. The text is sized first, so the
  // views taken as it fills stay valid.
  s.header_text->clear();
  s.header_text->reserve(bytes);
  s.headers->clear();
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* item = PySequence_Fast_GET_ITEM(headers, i);
    HeaderView& h = s.headers->emplace_back();
    h.name = appendPart(*s.header_text, headerPart(item, 0));
    h.value = appendPart(*s.header_text, headerPart(item, 1));
  }
  s.started = true;
}

ResponseState* liveState(PyObject* self) {
  ResponseState* s = callObject(self)->state;
  if (s == nullptr) {
    PyErr_SetString(PyExc_ValueError, "start_response/write used after the response ended");
  }
  return s;
}

// Raises exc_info[1] with traceback exc_info[2], as PEP 3333 requires once the head is out.
void reraise(PyObject* exc_info) {
  PyObject* parts[3] = {};
  for (Py_ssize_t i = 0; i < 3; ++i) {
    parts[i] = PySequence_GetItem(exc_info, i);
    if (parts[i] == nullptr) {
      break;
    }
  }
  if (parts[2] != nullptr) {
    if (PyExceptionInstance_Check(parts[1])) {
      PyException_SetTraceback(parts[1], parts[2]);
    }
    PyErr_SetObject(parts[0], parts[1]);
  }
  for (PyObject* part : parts) {
    Py_XDECREF(part);
  }
}

// Whether this call may set the head: a first call, or a call with exc_info before any body
// byte exists. Otherwise false with the error to raise set.
bool mayStart(const ResponseState& s, PyObject* exc_info) {
  if (exc_info == Py_None) {
    if (s.started) {
      PyErr_SetString(PyExc_ValueError, "start_response called a second time without exc_info");
      return false;
    }
    return true;
  }
  if (s.body_begun) {
    reraise(exc_info);
    return false;
  }
  return true;
}

PyObject* write(PyObject* self, PyObject* data) {
  ResponseState* s = liveState(self);
  if (s == nullptr) {
    return nullptr;
  }
  if (!s->started) {
    PyErr_SetString(PyExc_ValueError, "write() called before start_response");
    return nullptr;
  }
  if (!appendBody(data, *s->body)) {
    return nullptr;
  }
  s->body_begun = s->body_begun || !s->body->empty();
  Py_RETURN_NONE;
}

// write(data) called through the object start_response returned: exactly one argument.
PyObject* callWrite(PyObject* self, PyObject* const* args, size_t nargsf, PyObject* kwnames) {
  const Py_ssize_t given =
      PyVectorcall_NARGS(nargsf) + (kwnames != nullptr ? PyTuple_GET_SIZE(kwnames) : 0);
  if (given != 1 || kwnames != nullptr) {
    PyErr_Format(PyExc_TypeError, "write() takes exactly one positional argument (%zd given)",
                 given);
    return nullptr;
  }
  return write(self, args[0]);
}

PyMethodDef kMethods[] = {
    {"write", write, METH_O, "write(data): body bytes before (or instead of) the iterable"},
    {nullptr, nullptr, 0, nullptr},
};

constexpr std::array<const char*, 3> kParameters = {"status", "headers", "exc_info"};

PyObject* startResponse(PyObject* self, PyObject* const* args, size_t nargsf, PyObject* kwnames) {
  PyObject* argv[3] = {nullptr, nullptr, Py_None};
  if (!bindArguments("start_response", kParameters, 2, args, nargsf, kwnames, argv)) {
    return nullptr;
  }
  ResponseState* s = liveState(self);
  std::string_view status;
  if (s == nullptr || !mayStart(*s, argv[2]) || !checkStatus(argv[0], status) ||
      !checkHeaders(argv[1])) {
    return nullptr;
  }
  commitHead(*s, status, argv[1]);
  PyObject* write = &startResponseObject(self)->write->ob_base;
  Py_INCREF(write);
  return write;
}

void deallocateWrite(PyObject* self) { Py_TYPE(self)->tp_free(self); }

void deallocateStartResponse(PyObject* self) {
  Py_DECREF(&startResponseObject(self)->write->ob_base);
  Py_TYPE(self)->tp_free(self);
}

PyTypeObject writeType = [] {
  PyTypeObject t;
  initNativeType(t, "_appserver.Write", sizeof(CallObject), deallocateWrite,
                 "write(data): body bytes before (or instead of) the iterable");
  t.tp_vectorcall_offset = offsetof(CallObject, vectorcall);
  t.tp_call = PyVectorcall_Call;
  t.tp_flags |= Py_TPFLAGS_HAVE_VECTORCALL;
  return t;
}();

PyTypeObject startResponseType = [] {
  PyTypeObject t;
  initNativeType(t, "_appserver.StartResponse", sizeof(StartResponseObject),
                 deallocateStartResponse,
                 "start_response(status, headers, exc_info=None) -> write");
  t.tp_vectorcall_offset = offsetof(CallObject, vectorcall);
  t.tp_call = PyVectorcall_Call;
  t.tp_flags |= Py_TPFLAGS_HAVE_VECTORCALL;
  t.tp_methods = kMethods;
  return t;
}();

// A start_response and its write, not serving any call yet; null with a Python error set.
PyObject* newStartResponse() {
  auto* write = PyObject_New(CallObject, &writeType);
  if (write == nullptr) {
    return nullptr;
  }
  write->vectorcall = callWrite;
  write->state = nullptr;
  auto* self = PyObject_New(StartResponseObject, &startResponseType);
  if (self == nullptr) {
    Py_DECREF(&write->ob_base);
    return nullptr;
  }
  self->call.vectorcall = startResponse;
  self->call.state = nullptr;
  self->write = write;
  return &self->call.ob_base;
}

// Whether anything but the slot holds start_response or its write. Neither type supports
// weak references or GC traversal, so references are the only way to reach the objects: when
// the slot's are the only ones, no stray call can reach the next call's state.
bool keptByApp(PyObject* start_response) {
  return Py_REFCNT(start_response) > 1 ||
         Py_REFCNT(&startResponseObject(start_response)->write->ob_base) > 1;
}

// Serves state, or no call when state is null.
void attach(PyObject* start_response, ResponseState* state) {
  StartResponseObject* self = startResponseObject(start_response);
  self->call.state = state;
  self->write->state = state;
}

}  // namespace

bool addStartResponseType(PyObject* module) {
  return PyModule_AddType(module, &startResponseType) == 0 &&
         PyModule_AddType(module, &writeType) == 0;
}

StartResponseSlot::~StartResponseSlot() { Py_XDECREF(object_); }

PyObject* StartResponseSlot::begin(ResponseState* state) {
  if (object_ != nullptr && keptByApp(object_)) {
    Py_CLEAR(object_);  // it stays detached for good: the next call gets new objects
  }
  if (object_ == nullptr && (object_ = newStartResponse()) == nullptr) {
    return nullptr;
  }
  attach(object_, state);
  active_ = true;
  return object_;
}

void StartResponseSlot::finish() {
  if (active_) {
    active_ = false;
    attach(object_, nullptr);
  }
}

bool appendBody(PyObject* item, std::string& out) {
  if (!PyBytes_Check(item)) {
    PyErr_Format(PyExc_TypeError, "response body items must be bytes, not %.200s",
                 Py_TYPE(item)->tp_name);
    return false;
  }
  out.append(PyBytes_AS_STRING(item), static_cast<size_t>(PyBytes_GET_SIZE(item)));
  return true;
}

}  // namespace appserver::embed
