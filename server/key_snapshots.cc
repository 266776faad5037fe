// key_snapshots.cc: the private directory of checked key and denylist bytes.
//
// Thread: see key_snapshots.h.
#include "key_snapshots.h"

#include <fcntl.h>
#include <stdlib.h>  // mkdtemp
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "config.h"

namespace appserver::server {

namespace {

std::string baseDirectory() {
  if (const char* tmp = std::getenv("TMPDIR"); tmp != nullptr && *tmp != '\0') {
    return tmp;
  }
  struct stat st {};
  if (::stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && ::access("/dev/shm", W_OK) == 0) {
    return "/dev/shm";
  }
  return "/tmp";
}

}  // namespace

KeySnapshots::KeySnapshots() : owner_(::getpid()) {
  std::string pattern = baseDirectory() + "/appserver-keys-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw ConfigError("cannot make a private directory like " + pattern +
                      " for JWT key reloads: " + std::strerror(errno));
  }
  path_ = pattern;
}

KeySnapshots::~KeySnapshots() {
  if (::getpid() == owner_) {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
}

std::string KeySnapshots::entry(std::string_view name) const {
  return path_ + "/" + std::string(name);
}

bool KeySnapshots::writeFile(const std::string& name, std::string_view bytes, std::string& error) {
  const std::string file = entry(name);
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  size_t done = 0;
  while (fd >= 0 && done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) {
      break;
    }
    done += static_cast<size_t>(n);
  }
  const int saved = errno;
  if (fd >= 0) {
    ::close(fd);
  }
  if (fd < 0 || done != bytes.size()) {
    error = "cannot write " + file + ": " + std::strerror(saved);
    ::unlink(file.c_str());
    return false;
  }
  return true;
}

bool KeySnapshots::writeDirectory(const std::string& name, const Files& files, std::string& error) {
  remove(name);
  if (::mkdir(entry(name).c_str(), 0700) != 0) {
    error = "cannot make " + entry(name) + ": " + std::strerror(errno);
    return false;
  }
  for (const auto& [file, bytes] : files) {
    if (!writeFile(name + "/" + file, bytes, error)) {
      remove(name);
      return false;
    }
  }
  return true;
}

void KeySnapshots::remove(const std::string& name) {
  std::error_code ignored;
  std::filesystem::remove_all(entry(name), ignored);
}

}  // namespace appserver::server
