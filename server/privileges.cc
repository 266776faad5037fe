// privileges.cc: resolving user and group names, and giving up root in a worker.
//
// Thread: see privileges.h.
#include "privileges.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "config.h"

namespace appserver::server {

namespace {

bool isNumber(const std::string& text) {
  return !text.empty() && text.size() <= 9 && text.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

RunAs RunAs::resolve(const std::string& user, const std::string& group) {
  RunAs r;
  r.gid_ = ::getegid();
  if (!user.empty()) {
    const passwd* pw = isNumber(user) ? ::getpwuid(static_cast<uid_t>(std::stoul(user)))
                                      : ::getpwnam(user.c_str());
    if (pw == nullptr && !isNumber(user)) {
      throw ConfigError("--user " + user + ": no such user");
    }
    r.change_user_ = true;
    r.uid_ = pw != nullptr ? pw->pw_uid : static_cast<uid_t>(std::stoul(user));
    if (pw != nullptr) {
      r.user_name_ = pw->pw_name;
      r.gid_ = pw->pw_gid;  // the user's primary group unless --group says otherwise
      r.change_group_ = true;
    }
  }
  if (!group.empty()) {
    const struct group* gr = isNumber(group) ? ::getgrgid(static_cast<gid_t>(std::stoul(group)))
                                      : ::getgrnam(group.c_str());
    if (gr == nullptr && !isNumber(group)) {
      throw ConfigError("--group " + group + ": no such group");
    }
    r.change_group_ = true;
    r.gid_ = gr != nullptr ? gr->gr_gid : static_cast<gid_t>(std::stoul(group));
  }
  if (::geteuid() != 0) {
    // Without root a worker can only stay who it is: nothing to drop then.
    if ((r.change_user_ && r.uid_ != ::geteuid()) || (r.change_group_ && r.gid_ != ::getegid())) {
      throw ConfigError("--user/--group: only a master started as root can run its workers as "
                        "another user or group");
    }
    return RunAs();
  }
  return r;
}

std::string RunAs::giveTo(const std::string& path) const {
  if (!changes()) {
    return "";
  }
  const uid_t owner = change_user_ ? uid_ : static_cast<uid_t>(-1);
  const gid_t group = change_group_ ? gid_ : static_cast<gid_t>(-1);
  if (::chown(path.c_str(), owner, group) != 0) {
    return "cannot give " + path + " to --user/--group: " + std::strerror(errno);
  }
  return "";
}

std::string RunAs::drop() const {
  if (!changes()) {
    return "";
  }
  // No group the master had may stay behind: the user's own list, or just the one group.
  const int groups = !user_name_.empty() ? ::initgroups(user_name_.c_str(), gid_)
                                         : ::setgroups(1, &gid_);
  if (groups != 0) {
    return std::string("setgroups: ") + std::strerror(errno);
  }
  if (::setgid(gid_) != 0) {
    return "setgid(" + std::to_string(gid_) + "): " + std::strerror(errno);
  }
  if (change_user_ && ::setuid(uid_) != 0) {
    return "setuid(" + std::to_string(uid_) + "): " + std::strerror(errno);
  }
  return "";
}

}  // namespace appserver::server
