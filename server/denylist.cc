// denylist.cc: reading and parsing --jwt-denylist.
//
// Thread: see denylist.h.
#include "denylist.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ascii.h"

namespace appserver::server {

bool Denylist::readFile(const std::string& path, std::string& out, std::string& error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = std::strerror(errno);
    return false;
  }
  out.clear();
  char buffer[64 * 1024];
  ssize_t n = 0;
  while ((n = ::read(fd, buffer, sizeof(buffer))) > 0 && out.size() <= kMaxDenylistSize) {
    out.append(buffer, static_cast<size_t>(n));
  }
  const int saved = errno;
  ::close(fd);
  if (n < 0) {
    error = std::strerror(saved);
    return false;
  }
  if (out.size() > kMaxDenylistSize) {
    error = "larger than " + std::to_string(kMaxDenylistSize >> 20) + " MiB";
    return false;
  }
  return true;
}

Denylist Denylist::parse(std::string_view text) {
  Denylist list;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    const std::string_view line = trimBlanks(text.substr(0, end), " \t\r");
    if (!line.empty() && line.front() != '#') {
      list.ids_.emplace(line);
    }
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  }
  return list;
}

std::optional<Denylist> Denylist::fromText(std::string_view text, std::string& error) {
  if (text.find('\0') != std::string_view::npos) {
    error = "contains a NUL byte (not a text file)";
    return std::nullopt;
  }
  return parse(text);
}

std::optional<Denylist> Denylist::load(const std::string& path, std::string& error) {
  std::string text;
  if (!readFile(path, text, error)) {
    return std::nullopt;
  }
  return fromText(text, error);
}

bool Denylist::contains(std::string_view jti) const { return ids_.find(jti) != ids_.end(); }

}  // namespace appserver::server
