// ascii.h: the text helpers that header and configuration parsing keep needing.
//
// Case-insensitive comparison of ASCII tokens (header names, schemes, directives),
// trimming of blanks, and RFC 9110's token characters. Header-only: tiny, inline, no state.
// Thread: any.
#pragma once

#include <strings.h>

#include <cctype>
#include <string_view>

namespace appserver::server {

// True when a and b are equal ignoring ASCII letter case.
inline bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// s without leading and trailing characters from blanks (spaces and tabs by default).
inline std::string_view trimBlanks(std::string_view s, std::string_view blanks = " \t") {
  const size_t first = s.find_first_not_of(blanks);
  if (first == std::string_view::npos) {
    return {};
  }
  return s.substr(first, s.find_last_not_of(blanks) - first + 1);
}

// RFC 9110 tchar: the characters of methods, header names and other tokens.
inline bool isTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace appserver::server
