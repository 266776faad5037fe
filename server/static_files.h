// static_files.h: --static URL_PREFIX=DIR: files the worker answers itself, without Python.
//
// Each mount pairs a URL prefix with a directory (Django's STATIC_ROOT). The directories
// are opened when a worker starts, so workers forked after a HUP see a directory that was
// replaced since (a new release's collectstatic). A request under a prefix is answered
// here and never reaches the app: the file (200, 206, 304, 416, with HEAD), or 404 for
// anything that is not a regular file below DIR (missing, a directory, a symlink out of
// DIR), 400 for forbidden bytes in the path, 405 for methods other than GET and HEAD.
// Lookups stay below DIR: openat2(RESOLVE_BENEATH) where the kernel has it, else
// realpath() and a prefix check. The rules of the answer are in static_http.h; the body
// goes out through the connection's sendfile path.
// Thread: the worker's loop thread (immutable after open()).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "unique_fd.h"

namespace appserver::server {

struct HttpRequest;

// A complete answer: the head, and the part of a file that follows it.
struct StaticAnswer {
  int status = 0;
  std::string head;    // the response head; for an answer without a file, the whole response
  UniqueFd file;       // open while there is a body to send from it
  int64_t offset = 0;  // where the body starts in file, in bytes
  int64_t length = 0;  // body bytes to send from file (0 for HEAD, 304 and errors)
};

class StaticFiles {
 public:
  // How a lookup is kept below DIR.
  enum class Confinement {
    Auto,      // Beneath when the kernel has openat2 (Linux 5.6+, not blocked by seccomp)
    Beneath,   // openat2 with RESOLVE_BENEATH: the kernel refuses every escape, atomically
    RealPath,  // realpath(), a prefix check, then open(): for older kernels
  };

  // Parses URL_PREFIX=DIR values (the prefix gains a trailing "/" if it lacks one) and
  // opens each DIR, relative to the working directory. Returns null when mounts is empty.
  // Throws ConfigError naming the value when it is malformed, a prefix is given twice, or
  // DIR is not a directory that can be opened.
  static std::unique_ptr<StaticFiles> open(const std::vector<std::string>& mounts,
                                           Confinement confinement = Confinement::Auto);

  // Whether a request path (raw, as in the request line) is under a mount's prefix.
  bool covers(std::string_view path) const;

  // The answer to a request whose path covers() accepted. close: the connection ends after
  // this answer (the head says so). Never fails: problems become error statuses.
  StaticAnswer answer(const HttpRequest& request, bool close) const;

  // The confinement in use (Auto resolved).
  Confinement confinement() const { return confinement_; }

 private:
  struct Mount {
    std::string prefix;  // ends with "/"
    std::string root;    // DIR after realpath(), for Confinement::RealPath
    UniqueFd dir;        // O_PATH descriptor of DIR, for Confinement::Beneath
  };
  struct OpenFile {
    UniqueFd fd;
    struct stat st {};
  };

  StaticFiles() = default;
  const Mount* find(std::string_view path) const;
  // Opens a regular file below the mount. False when there is none (missing, not regular,
  // or outside the directory).
  bool openFile(const Mount& mount, const std::string& relative, OpenFile& file) const;
  StaticAnswer fileAnswer(const HttpRequest& request, std::string_view name, OpenFile file,
                          std::string_view coding, bool close) const;

  std::vector<Mount> mounts_;  // longest prefix first
  Confinement confinement_ = Confinement::Beneath;
};

}  // namespace appserver::server
