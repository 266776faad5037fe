// key_snapshots.h: the master's private copies of the key and denylist bytes it checked.
//
// When a key file or the denylist changes, the master reads the new bytes, writes them into
// a new generation here ("keys-7/secret", "keys-7/key-0.pem", "keys-7/jwks.json",
// "denylist-3"), builds the key set or list from those copies, and only then announces the
// generation. Workers build from the same copies, never from the operator's files, so they
// get exactly what the master checked even if the files change or break again meanwhile.
// The directory is made with mkdtemp (mode 0700; files 0600) under $TMPDIR when set, else
// /dev/shm (memory: secrets do not reach a disk), else /tmp, and removed by the master when
// it exits; KeyStore keeps the last two generations of each kind.
// Thread: the master's only thread (writes); workers only read the files.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace appserver::server {

class KeySnapshots {
 public:
  using Files = std::vector<std::pair<std::string, std::string>>;  // (name, bytes)

  // Makes the directory. Throws ConfigError when it cannot.
  KeySnapshots();
  // Removes the directory and everything in it, in the process that made it only.
  ~KeySnapshots();
  KeySnapshots(const KeySnapshots&) = delete;
  KeySnapshots& operator=(const KeySnapshots&) = delete;

  const std::string& path() const { return path_; }
  // path()/name.
  std::string entry(std::string_view name) const;
  // Writes files into a new subdirectory name (replacing one of that name). False with a
  // reason in error; nothing of it is left then.
  bool writeDirectory(const std::string& name, const Files& files, std::string& error);
  // Writes one file path()/name. False with a reason in error.
  bool writeFile(const std::string& name, std::string_view bytes, std::string& error);
  // Removes path()/name, a file or a directory with its files; quiet if it does not exist.
  void remove(const std::string& name);

 private:
  std::string path_;
  pid_t owner_;
};

}  // namespace appserver::server
