// pid_file.h: --pid FILE, the master's pid for scripts and logrotate.
//
// Written when the master starts (replacing a stale file), renamed to FILE.oldbin when USR2
// starts a new master (which then writes FILE), renamed back if that new master dies first,
// and removed when the master exits, but only while it still holds this master's pid.
// Thread: the master's only thread.
#pragma once

#include <string>

namespace appserver::server {

class PidFile {
 public:
  // path: --pid, or "" for none (then every method does nothing).
  explicit PidFile(std::string path) : path_(std::move(path)), current_(path_) {}

  // Writes this process's pid. Throws ConfigError when the file cannot be written.
  void write() const;
  // USR2: moves the file aside to FILE.oldbin for the new master (or back, with false).
  // Returns false, logging nothing, when the rename fails.
  bool moveAside(bool aside);
  // Removes the file if it still names this process.
  void remove() const;

  // Where the file is now: FILE, or FILE.oldbin after moveAside(true).
  const std::string& current() const { return current_; }

 private:
  std::string path_;
  std::string current_;
};

}  // namespace appserver::server
