// file_watch.h: tells whether configuration files have changed since they were last read.
//
// A file's identity is its device, inode, size, modification and status-change times
// (nanoseconds), or "missing". Replacing a file (write + rename, as editors and
// configuration tools do), rewriting it in place or deleting it all change the identity,
// so stat(2) once a second is enough: no inotify descriptor to inherit or to lose across
// fork(). Record the identities *before* reading the files (mark(), then read): a change
// during the read then shows up at the next changed().
// Thread: one thread at a time (the master's loop, or one worker's loop).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace appserver::server {

// What stat(2) says of one path; equal stamps mean "unchanged".
struct FileStamp {
  bool exists = false;
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  int64_t modified_ns = 0;
  int64_t changed_ns = 0;

  bool operator==(const FileStamp&) const = default;
};

// The stamp of path now (exists is false when stat fails, for any reason).
FileStamp stampOf(const std::string& path);

// True when path names a regular file (following symlinks), i.e. one that can be read
// again later. A pipe such as /proc/self/fd/N or bash's <(...) can be read only once.
bool isRegularFile(const std::string& path);

class FileWatch {
 public:
  FileWatch() = default;
  explicit FileWatch(std::vector<std::string> paths);

  // Records every file's stamp as it is now.
  void mark();
  // True when some file's stamp differs from the one mark() recorded.
  bool changed() const;
  bool empty() const { return paths_.empty(); }
  const std::vector<std::string>& paths() const { return paths_; }

 private:
  std::vector<std::string> paths_;
  std::vector<FileStamp> stamps_;
};

}  // namespace appserver::server
