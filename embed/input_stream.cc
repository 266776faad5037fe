// input_stream.cc: wsgi.input over a memory buffer or a spooled body file.
//
// The RequestBody lives inside the Python object (constructed in place after PyObject_New,
// destroyed in tp_dealloc). Methods take METH_FASTCALL arguments; results are built straight
// into new bytes objects.
// Thread: the app's thread, with the GIL held.
#include "input_stream.h"

#include <Python.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <limits>
#include <new>

#include "native_type.h"

namespace appserver::embed {

namespace {

constexpr uint64_t kScanBlock = 8192;  // bytes read at a time while looking for a newline
constexpr uint64_t kNoLimit = std::numeric_limits<uint64_t>::max();

struct InputStreamObject {
  PyObject ob_base;  // PyObject_HEAD, spelled out
  RequestBody body;  // constructed in place by newInputStream
  uint64_t pos;      // bytes consumed so far
};

InputStreamObject* stream(PyObject* self) { return reinterpret_cast<InputStreamObject*>(self); }

uint64_t remaining(const InputStreamObject& s) { return s.body.size - s.pos; }

// Binds the one optional argument of read(size=-1) and friends to a byte limit: None or a
// negative number means "no limit", and so does a number too large for 64 bits.
bool sizeLimit(const char* function, const char* name, PyObject* const* args, size_t nargsf,
               PyObject* kwnames, uint64_t& limit) {
  PyObject* size = Py_None;
  const std::array<const char*, 1> names = {name};
  if (!bindArguments(function, names, 0, args, nargsf, kwnames, &size)) {
    return false;
  }
  limit = kNoLimit;
  if (size == Py_None) {
    return true;
  }
  int overflow = 0;
  const long long n = PyLong_AsLongLongAndOverflow(size, &overflow);
  if (n == -1 && PyErr_Occurred() != nullptr) {
    return false;
  }
  if (overflow == 0 && n >= 0) {
    limit = static_cast<uint64_t>(n);
  }
  return true;
}

// Reads exactly n bytes at offset from fd into out (the file is local and complete).
bool readFully(int fd, uint64_t offset, char* out, uint64_t n) {
  while (n > 0) {
    const ssize_t got = ::pread(fd, out, n, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got <= 0) {
      PyErr_Format(PyExc_ValueError, "wsgi.input: reading the spooled body failed: %s",
                   got < 0 ? std::strerror(errno) : "unexpected end of file");
      return false;
    }
    out += got;
    offset += static_cast<uint64_t>(got);
    n -= static_cast<uint64_t>(got);
  }
  return true;
}

// The next n bytes (n <= remaining) as a new bytes object, or null with an error set.
PyObject* take(InputStreamObject& s, uint64_t n) {
  const auto size = static_cast<Py_ssize_t>(n);
  PyObject* bytes = s.body.fd < 0 ? PyBytes_FromStringAndSize(s.body.memory.data() + s.pos, size)
                                  : PyBytes_FromStringAndSize(nullptr, size);
  if (bytes == nullptr) {
    return nullptr;
  }
  if (s.body.fd >= 0 && !readFully(s.body.fd, s.pos, PyBytes_AS_STRING(bytes), n)) {
    Py_DECREF(bytes);
    return nullptr;
  }
  s.pos += n;
  return bytes;
}

// Length of the next line (through b"\n", or to EOF), at most limit bytes.
bool lineLength(const InputStreamObject& s, uint64_t limit, uint64_t& length) {
  const uint64_t span = std::min(limit, remaining(s));
  length = span;
  if (s.body.fd < 0) {
    const auto nl = s.body.memory.find('\n', s.pos);
    length = nl == std::string::npos ? span : std::min(span, nl - s.pos + 1);
    return true;
  }
  char block[kScanBlock];
  for (uint64_t seen = 0; seen < span;) {
    const uint64_t n = std::min(kScanBlock, span - seen);
    if (!readFully(s.body.fd, s.pos + seen, block, n)) {
      return false;
    }
    if (const void* nl = std::memchr(block, '\n', n)) {
      length = seen + static_cast<uint64_t>(static_cast<const char*>(nl) - block) + 1;
      return true;
    }
    seen += n;
  }
  return true;
}

// The next line of at most limit bytes; empty bytes at EOF.
PyObject* takeLine(InputStreamObject& s, uint64_t limit) {
  uint64_t n = 0;
  return lineLength(s, limit, n) ? take(s, n) : nullptr;
}

// read(size=-1): up to size bytes, everything left when size is negative or None.
PyObject* read(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  uint64_t limit = 0;
  if (!sizeLimit("read", "size", args, static_cast<size_t>(nargs), kwnames, limit)) {
    return nullptr;
  }
  return take(*stream(self), std::min(limit, remaining(*stream(self))));
}

// readline(size=-1): up to and including the next b"\n", at most size bytes.
PyObject* readline(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  uint64_t limit = 0;
  if (!sizeLimit("readline", "size", args, static_cast<size_t>(nargs), kwnames, limit)) {
    return nullptr;
  }
  return takeLine(*stream(self), limit);
}

// readlines(hint=-1): lines until EOF, or until their total reaches hint (io: <= 0 is all).
PyObject* readlines(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  uint64_t hint = 0;
  if (!sizeLimit("readlines", "hint", args, static_cast<size_t>(nargs), kwnames, hint)) {
    return nullptr;
  }
  hint = hint == 0 ? kNoLimit : hint;
  InputStreamObject& s = *stream(self);
  PyObject* lines = PyList_New(0);
  uint64_t total = 0;
  while (lines != nullptr && remaining(s) > 0 && total < hint) {
    const uint64_t before = s.pos;
    PyObject* line = takeLine(s, kNoLimit);
    const bool appended = line != nullptr && PyList_Append(lines, line) == 0;
    Py_XDECREF(line);
    if (!appended) {
      Py_CLEAR(lines);
    }
    total += s.pos - before;
  }
  return lines;
}

// Iteration yields lines; the end (null without an error) at EOF.
PyObject* next(PyObject* self) {
  InputStreamObject& s = *stream(self);
  return remaining(s) == 0 ? nullptr : takeLine(s, kNoLimit);
}

void deallocate(PyObject* self) {
  RequestBody& body = stream(self)->body;
  if (body.fd >= 0) {
    ::close(body.fd);
  }
  body.~RequestBody();
  Py_TYPE(self)->tp_free(self);
}

PyMethodDef kMethods[] = {
    {"read", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(read)),
     METH_FASTCALL | METH_KEYWORDS, "read(size=-1): up to size bytes, all when negative"},
    {"readline", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(readline)),
     METH_FASTCALL | METH_KEYWORDS, "readline(size=-1): the next line, at most size bytes"},
    {"readlines", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(readlines)),
     METH_FASTCALL | METH_KEYWORDS, "readlines(hint=-1): lines until EOF or hint bytes"},
    {nullptr, nullptr, 0, nullptr},
};

PyTypeObject inputStreamType = [] {
  PyTypeObject t;
  initNativeType(t, "_appserver.InputStream", sizeof(InputStreamObject), deallocate,
                 "wsgi.input: the buffered request body");
  t.tp_iter = PyObject_SelfIter;
  t.tp_iternext = next;
  t.tp_methods = kMethods;
  return t;
}();

}  // namespace

bool addInputStreamType(PyObject* module) {
  return PyModule_AddType(module, &inputStreamType) == 0;
}

PyObject* newInputStream(RequestBody&& body) {
  auto* self = PyObject_New(InputStreamObject, &inputStreamType);
  if (self == nullptr) {
    if (body.fd >= 0) {
      ::close(body.fd);  // the body was handed over: nobody else will close it
      body.fd = -1;
    }
    return nullptr;
  }
  new (&self->body) RequestBody(std::move(body));
  body.fd = -1;  // moving an int copies it: the stream alone owns the descriptor now
  self->pos = 0;
  return reinterpret_cast<PyObject*>(self);
}

}  // namespace appserver::embed
