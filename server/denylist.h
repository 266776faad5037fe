// denylist.h: revoked token ids (--jwt-denylist FILE).
//
// The file holds one jti value per line; surrounding spaces and tabs are trimmed, and blank
// lines and lines starting with '#' are ignored. A token whose jti claim is listed is
// refused by every worker, also when it is otherwise valid and already cached. The file is
// read in full or not at all: a file that cannot be read, is larger than kMaxDenylistSize
// or contains a NUL byte is refused, and the caller keeps the list it had.
// Thread: built on one thread, then only read (by one worker's loop thread).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

namespace appserver::server {

// Largest denylist file accepted, in bytes (about a million UUID jtis).
inline constexpr std::size_t kMaxDenylistSize = 64 << 20;

class Denylist {
 public:
  // Parses the text of a denylist file (the format above).
  static Denylist parse(std::string_view text);

  // Parses text after checking it is text (no NUL byte). Nullopt with a reason in error.
  static std::optional<Denylist> fromText(std::string_view text, std::string& error);

  // Reads the whole file path into text (at most kMaxDenylistSize bytes). False with a
  // reason in error ("No such file or directory", "larger than 64 MiB").
  static bool readFile(const std::string& path, std::string& text, std::string& error);

  // readFile, then fromText.
  static std::optional<Denylist> load(const std::string& path, std::string& error);

  bool contains(std::string_view jti) const;
  std::size_t size() const { return ids_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  std::unordered_set<std::string, Hash, std::equal_to<>> ids_;
};

}  // namespace appserver::server
