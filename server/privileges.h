// privileges.h: the user and group the workers run as (--user, --group).
//
// As in Gunicorn, the master keeps the identity it was started with (it binds privileged
// ports, writes the pid file, signals and re-executes itself) and each worker gives up root
// right after fork(), before Python starts: supplementary groups, then the group, then the
// user. Files a worker must open again later (log files on USR1) and the Unix sockets the
// master creates are handed to that user first.
// Thread: the master before any fork (resolve, giveTo); a worker right after fork (drop).
#pragma once

#include <sys/types.h>

#include <string>

namespace appserver::server {

class RunAs {
 public:
  // Nobody to become: workers keep the master's identity.
  RunAs() = default;

  // Resolves --user and --group, each a name or a number ("" = not given). A user's group
  // defaults to the user's primary group. Throws ConfigError for a name the system does
  // not know, or when the process is not root and is asked to become someone else.
  static RunAs resolve(const std::string& user, const std::string& group);

  bool changes() const { return change_user_ || change_group_; }
  uid_t uid() const { return uid_; }
  gid_t gid() const { return gid_; }

  // Makes path (a log file, a Unix socket) owned by the workers' user and group, so they
  // can open it again. Does nothing when nothing changes. Returns "" or what failed.
  std::string giveTo(const std::string& path) const;

  // In a worker: sets the supplementary groups (the user's, from the group database),
  // the group and the user, in that order. Returns "" on success, else what failed.
  std::string drop() const;

 private:
  bool change_user_ = false;
  bool change_group_ = false;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  std::string user_name_;  // "" when the uid has no passwd entry
};

}  // namespace appserver::server
