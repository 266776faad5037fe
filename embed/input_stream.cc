// input_stream.cc: wsgi.input over a memory buffer or a spooled body file.
//
// Thread: the app's thread, with the GIL held.
#include "input_stream.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

namespace py = pybind11;

namespace appserver::embed {

namespace {

constexpr uint64_t kScanBlock = 8192;  // bytes read at a time while looking for a newline
constexpr uint64_t kNoLimit = std::numeric_limits<uint64_t>::max();

// A size argument: None or negative means "no limit".
uint64_t sizeLimit(const py::object& size) {
  if (size.is_none()) {
    return kNoLimit;
  }
  const auto n = size.cast<int64_t>();
  return n < 0 ? kNoLimit : static_cast<uint64_t>(n);
}

// Reads exactly n bytes at offset from fd into out (the file is local and complete).
void readFully(int fd, uint64_t offset, char* out, uint64_t n) {
  while (n > 0) {
    const ssize_t got = ::pread(fd, out, n, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got <= 0) {
      throw py::value_error(std::string("wsgi.input: reading the spooled body failed: ") +
                            (got < 0 ? std::strerror(errno) : "unexpected end of file"));
    }
    out += got;
    offset += static_cast<uint64_t>(got);
    n -= static_cast<uint64_t>(got);
  }
}

}  // namespace

InputStream::~InputStream() {
  if (body_.fd >= 0) {
    ::close(body_.fd);
  }
}

std::string InputStream::take(uint64_t n) {
  std::string out;
  if (body_.fd < 0) {
    out.assign(body_.memory, pos_, n);
  } else {
    out.resize(n);
    readFully(body_.fd, pos_, out.data(), n);
  }
  pos_ += n;
  return out;
}

uint64_t InputStream::lineLength(uint64_t limit) {
  const uint64_t span = std::min(limit, remaining());
  if (body_.fd < 0) {
    const auto nl = body_.memory.find('\n', pos_);
    return nl == std::string::npos ? span : std::min(span, nl - pos_ + 1);
  }
  char block[kScanBlock];
  for (uint64_t seen = 0; seen < span;) {
    const uint64_t n = std::min(kScanBlock, span - seen);
    readFully(body_.fd, pos_ + seen, block, n);
    if (const void* nl = std::memchr(block, '\n', n)) {
      return seen + static_cast<uint64_t>(static_cast<const char*>(nl) - block) + 1;
    }
    seen += n;
  }
  return span;
}

py::bytes InputStream::read(const py::object& size) {
  return py::bytes(take(std::min(sizeLimit(size), remaining())));
}

py::bytes InputStream::readline(const py::object& size) {
  return py::bytes(take(lineLength(sizeLimit(size))));
}

py::list InputStream::readlines(const py::object& hint) {
  const uint64_t limit = sizeLimit(hint) == 0 ? kNoLimit : sizeLimit(hint);  // io: <= 0 is all
  py::list lines;
  uint64_t total = 0;
  while (remaining() > 0 && (limit == kNoLimit || total < limit)) {
    const uint64_t n = lineLength(kNoLimit);
    lines.append(py::bytes(take(n)));
    total += n;
  }
  return lines;
}

py::bytes InputStream::next() {
  if (remaining() == 0) {
    throw py::stop_iteration();
  }
  return py::bytes(take(lineLength(kNoLimit)));
}

void InputStream::define(py::module_& m) {
  py::class_<InputStream>(m, "InputStream")
      .def("read", &InputStream::read, py::arg("size") = py::none())
      .def("readline", &InputStream::readline, py::arg("size") = py::none())
      .def("readlines", &InputStream::readlines, py::arg("hint") = py::none())
      .def("__iter__", [](py::object self) { return self; })
      .def("__next__", &InputStream::next);
}

}  // namespace appserver::embed
