// pid_file.cc: writing, renaming and removing the pid file.
//
// Thread: the master's only thread.
#include "pid_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "config.h"

namespace appserver::server {

void PidFile::write() const {
  if (path_.empty()) {
    return;
  }
  const std::string text = std::to_string(::getpid()) + "\n";
  const int fd = ::open(current_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) {
      ::close(fd);
    }
    throw ConfigError("cannot write the pid file " + current_ + ": " + why);
  }
  ::close(fd);
}

bool PidFile::moveAside(bool aside) {
  if (path_.empty()) {
    return true;
  }
  const std::string target = aside ? path_ + ".oldbin" : path_;
  if (target == current_) {
    return true;
  }
  if (std::rename(current_.c_str(), target.c_str()) != 0) {
    return false;
  }
  current_ = target;
  return true;
}

void PidFile::remove() const {
  if (path_.empty()) {
    return;
  }
  // Only our own: after USR2 the new master's pid may be in FILE.
  char buf[32] = {};
  const int fd = ::open(current_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    const ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
    ::close(fd);
    if (n > 0 && std::atoi(buf) == ::getpid()) {
      ::unlink(current_.c_str());
    }
  }
}

}  // namespace appserver::server
