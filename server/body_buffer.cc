// body_buffer.cc: spooling large request bodies to an anonymous temporary file.
//
// Thread: the worker's loop thread. Disk writes here are synchronous: bodies above the
// memory threshold are rare and land in the page cache.
#include "body_buffer.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace appserver::server {

BodyBuffer::~BodyBuffer() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

void BodyBuffer::configure(uint64_t memory_limit, std::string tmp_dir) {
  memory_limit_ = memory_limit;
  tmp_dir_ = std::move(tmp_dir);
  if (tmp_dir_.empty()) {
    const char* env = ::getenv("TMPDIR");
    tmp_dir_ = env != nullptr && *env != '\0' ? env : "/tmp";
  }
}

bool BodyBuffer::spill() {
  fd_ = ::open(tmp_dir_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    // Filesystems without O_TMPFILE: a named file, unlinked at once.
    std::string path = tmp_dir_ + "/appserver-body-XXXXXX";
    fd_ = ::mkostemp(path.data(), O_CLOEXEC);
    if (fd_ >= 0) {
      ::unlink(path.c_str());
    }
  }
  if (fd_ < 0) {
    error_ = "cannot create a body file in " + tmp_dir_ + ": " + std::strerror(errno);
    return false;
  }
  std::string held = std::move(memory_);
  memory_.clear();
  size_ = 0;
  return append(held);
}

bool BodyBuffer::append(std::string_view data) {
  if (fd_ < 0) {
    if (size_ + data.size() <= memory_limit_) {
      memory_.append(data);
      size_ += data.size();
      return true;
    }
    if (!spill()) {
      return false;
    }
  }
  while (!data.empty()) {
    const ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      error_ = std::string("writing the body file failed: ") + std::strerror(errno);
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
    size_ += static_cast<uint64_t>(n);
  }
  return true;
}

void BodyBuffer::clear() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
  fd_ = -1;
  memory_.clear();
  size_ = 0;
  error_.clear();
}

embed::RequestBody BodyBuffer::release() {
  embed::RequestBody body;
  body.size = size_;
  body.fd = fd_;
  if (fd_ < 0) {
    body.memory = std::move(memory_);
  }
  memory_.clear();
  fd_ = -1;
  size_ = 0;
  error_.clear();
  return body;
}

}  // namespace appserver::server
