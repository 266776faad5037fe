// body_buffer.h: a request body being received, in memory up to a threshold, then in a file.
//
// The file is an unlinked temporary (O_TMPFILE where the filesystem has it), so it
// vanishes with its last descriptor, also when the worker is killed.
// Thread: the worker's loop thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "embed/wsgi_app.h"

namespace appserver::server {

class BodyBuffer {
 public:
  BodyBuffer() = default;
  ~BodyBuffer();
  BodyBuffer(const BodyBuffer&) = delete;
  BodyBuffer& operator=(const BodyBuffer&) = delete;

  // memory_limit: bytes kept in memory; tmp_dir: where to spool beyond it ("" = $TMPDIR).
  void configure(uint64_t memory_limit, std::string tmp_dir);
  // Appends data. Returns false (errno-style message in error()) if spooling failed.
  bool append(std::string_view data);
  uint64_t size() const { return size_; }
  const std::string& error() const { return error_; }
  // Hands the body over to the app and leaves this buffer empty for the next request.
  embed::RequestBody release();
  // Drops the body (closing a spooled file) and leaves the buffer empty.
  void clear();

 private:
  bool spill();

  uint64_t memory_limit_ = 1 << 20;
  std::string tmp_dir_;
  std::string memory_;
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string error_;
};

}  // namespace appserver::server
