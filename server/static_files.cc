// static_files.cc: mounts, confined lookups and the head of each static answer.
//
// The open() and fstat() of a file run inline on the loop thread. That is on purpose: for
// the files a site serves (page-cached after the first hit) they cost microseconds, less
// than handing the lookup to a thread and back. A directory on a slow or network
// filesystem would stall the loop here, as sendfile() of a cold file already does
// (docs/deploying.md asks for STATIC_ROOT on local disk).
// Thread: the worker's loop thread.
#include "static_files.h"

#include <fcntl.h>
#include <linux/openat2.h>  // struct open_how, RESOLVE_*: glibc has no openat2() wrapper
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "config.h"
#include "http_parser.h"
#include "http_response.h"
#include "static_http.h"

namespace appserver::server {

namespace {

// O_NONBLOCK: a FIFO planted in DIR must not block the open (regular files ignore it).
constexpr int kOpenFlags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";
constexpr std::string_view kShortLived = "public, max-age=60";  // WhiteNoise's default

int openBeneath(int dir, const char* relative) {
  open_how how{};
  how.flags = kOpenFlags;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, dir, relative, &how, sizeof(how)));
}

// Whether openat2 works here: missing before Linux 5.6, and some seccomp profiles refuse it.
bool kernelHasOpenat2() {
  const int fd = openBeneath(AT_FDCWD, ".");
  if (fd >= 0) {
    ::close(fd);
    return true;
  }
  return errno != ENOSYS && errno != EPERM;
}

// The fallback: resolve every symlink, then refuse a result outside root.
int openResolved(const std::string& root, const std::string& relative) {
  char resolved[PATH_MAX];
  if (::realpath((root + "/" + relative).c_str(), resolved) == nullptr) {
    return -1;
  }
  const std::string_view path(resolved);
  const std::string_view base = root == "/" ? std::string_view() : std::string_view(root);
  if (!path.starts_with(base) || path.size() <= base.size() || path[base.size()] != '/') {
    return -1;
  }
  return ::open(resolved, kOpenFlags | O_NOFOLLOW);
}

int64_t mtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

void appendField(std::string& fields, std::string_view name, std::string_view value) {
  fields.append(name).append(": ").append(value).append("\r\n");
}

StaticAnswer errorAnswer(int status, const HeaderList& headers, bool close) {
  StaticAnswer answer;
  answer.status = status;
  answer.head = serverResponse(status, "text/plain; charset=utf-8",
                               fmt::format("{} {}\n", status, reasonPhrase(status)), headers, close);
  return answer;
}

}  // namespace

std::unique_ptr<StaticFiles> StaticFiles::open(const std::vector<std::string>& mounts,
                                               Confinement confinement) {
  if (mounts.empty()) {
    return nullptr;
  }
  std::unique_ptr<StaticFiles> files(new StaticFiles);
  files->confinement_ = confinement != Confinement::Auto ? confinement
                        : kernelHasOpenat2()             ? Confinement::Beneath
                                                         : Confinement::RealPath;
  for (const std::string& spec : mounts) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos || !spec.starts_with('/') || eq + 1 == spec.size()) {
      throw ConfigError("--static " + spec + ": expected URL_PREFIX=DIR, URL_PREFIX starting "
                        "with /");
    }
    Mount mount;
    mount.prefix = spec.substr(0, eq);
    if (!mount.prefix.ends_with('/')) {
      mount.prefix += '/';
    }
    const std::string dir = spec.substr(eq + 1);
    mount.dir.reset(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    char* root = mount.dir ? ::realpath(dir.c_str(), nullptr) : nullptr;
    if (root == nullptr) {
      throw ConfigError("--static " + spec + ": cannot open directory " + dir + ": " +
                        std::strerror(errno));
    }
    mount.root = root;
    std::free(root);
    for (const Mount& other : files->mounts_) {
      if (other.prefix == mount.prefix) {
        throw ConfigError("--static " + spec + ": prefix " + mount.prefix + " given twice");
      }
    }
    files->mounts_.push_back(std::move(mount));
  }
  std::stable_sort(files->mounts_.begin(), files->mounts_.end(),
                   [](const Mount& a, const Mount& b) { return a.prefix.size() > b.prefix.size(); });
  return files;
}

const StaticFiles::Mount* StaticFiles::find(std::string_view path) const {
  for (const Mount& mount : mounts_) {
    if (path.starts_with(mount.prefix)) {
      return &mount;
    }
  }
  return nullptr;
}

bool StaticFiles::covers(std::string_view path) const { return find(path) != nullptr; }

bool StaticFiles::openFile(const Mount& mount, const std::string& relative, OpenFile& file) const {
  file.fd.reset(confinement_ == Confinement::Beneath ? openBeneath(mount.dir.get(), relative.c_str())
                                                     : openResolved(mount.root, relative));
  return file.fd && ::fstat(file.fd.get(), &file.st) == 0 && S_ISREG(file.st.st_mode);
}

StaticAnswer StaticFiles::answer(const HttpRequest& request, bool close) const {
  const Mount* mount = find(request.path);
  if (request.method != "GET" && request.method != "HEAD") {
    return errorAnswer(405, {{"Allow", "GET, HEAD"}}, close);
  }
  const StaticPath path = checkStaticPath(request.path.substr(mount->prefix.size()));
  if (path.verdict != StaticPath::Verdict::Ok) {
    return errorAnswer(path.verdict == StaticPath::Verdict::BadRequest ? 400 : 404, {}, close);
  }
  OpenFile file;
  if (!openFile(*mount, path.relative, file)) {
    return errorAnswer(404, {}, close);
  }
  // A precompressed sibling ("app.css.br") stands in for a file that exists itself.
  const auto accepted = acceptedCodings(request.header("accept-encoding"));  // outlives list()
  for (Coding coding : accepted.list()) {
    OpenFile sibling;
    if (openFile(*mount, path.relative + std::string(codingSuffix(coding)), sibling)) {
      return fileAnswer(request, path.relative, std::move(sibling), codingName(coding), close);
    }
  }
  return fileAnswer(request, path.relative, std::move(file), {}, close);
}

StaticAnswer StaticFiles::fileAnswer(const HttpRequest& request, std::string_view name,
                                     OpenFile file, std::string_view coding, bool close) const {
  const int64_t size = file.st.st_size;
  const std::string etag = makeEtag(static_cast<uint64_t>(size), mtimeNs(file.st), coding);
  const time_t modified = file.st.st_mtim.tv_sec;
  // Validators and caching rules go with 200, 206 and 304 alike (RFC 9110 15.4.5).
  std::string fields;
  appendField(fields, "ETag", etag);
  fields.append("Last-Modified: ");
  appendHttpDate(fields, modified);
  fields.append("\r\n");
  appendField(fields, "Cache-Control", isHashedName(name) ? kImmutable : kShortLived);
  appendField(fields, "Vary", "Accept-Encoding");
  appendField(fields, "Access-Control-Allow-Origin", "*");  // public files, as WhiteNoise
  if (!close && request.protocol == "HTTP/1.0") {
    appendField(fields, "Connection", "keep-alive");
  }
  StaticAnswer answer;
  if (notModified(request.header("if-none-match"), request.header("if-modified-since"), etag,
                  modified)) {
    answer.status = 304;
    appendServerHead(answer.head, answer.status, fields, -1, close);
    return answer;
  }
  ByteRange range;
  if (const std::string_view value = request.header("range");
      !value.empty() && request.method == "GET" &&
      ifRangeHolds(request.header("if-range"), etag, modified)) {
    range = parseRange(value, size);
  }
  if (range.kind == ByteRange::Kind::Unsatisfiable) {
    return errorAnswer(416, {{"Content-Range", fmt::format("bytes */{}", size)}}, close);
  }
  appendField(fields, "Content-Type", contentTypeFor(name));
  if (!coding.empty()) {
    appendField(fields, "Content-Encoding", coding);
  }
  appendField(fields, "Accept-Ranges", "bytes");
  answer.status = 200;
  answer.length = size;
  if (range.kind == ByteRange::Kind::Part) {
    answer.status = 206;
    answer.offset = range.first;
    answer.length = range.last - range.first + 1;
    appendField(fields, "Content-Range",
                fmt::format("bytes {}-{}/{}", range.first, range.last, size));
  }
  appendServerHead(answer.head, answer.status, fields, answer.length, close);
  if (request.method == "HEAD" || answer.length == 0) {
    answer.length = 0;
  } else {
    answer.file = std::move(file.fd);
  }
  return answer;
}

}  // namespace appserver::server
