// file_watch.cc: stat(2) stamps.
//
// Thread: see file_watch.h.
#include "file_watch.h"

#include <sys/stat.h>

#include <utility>

namespace appserver::server {

namespace {

int64_t nanoseconds(const timespec& t) {
  return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

}  // namespace

FileStamp stampOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return {};
  }
  return FileStamp{
      true, st.st_dev, st.st_ino, st.st_size, nanoseconds(st.st_mtim), nanoseconds(st.st_ctim)};
}

bool isRegularFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

FileWatch::FileWatch(std::vector<std::string> paths) : paths_(std::move(paths)) { mark(); }

void FileWatch::mark() {
  stamps_.clear();
  for (const std::string& path : paths_) {
    stamps_.push_back(stampOf(path));
  }
}

bool FileWatch::changed() const {
  for (size_t i = 0; i < paths_.size(); ++i) {
    if (stampOf(paths_[i]) != stamps_[i]) {
      return true;
    }
  }
  return false;
}

}  // namespace appserver::server
