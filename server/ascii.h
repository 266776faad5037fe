// ascii.h: the text helpers that header and configuration parsing keep needing.
//
// Case-insensitive comparison of ASCII tokens (header names, schemes, directives),
// trimming of blanks, and RFC 9110's token characters. Header-only: tiny, inline, no state.
// Thread: any.
#pragma once

#include <strings.h>

#include <algorithm>
#include <cctype>
#include <string_view>

namespace appserver::server {

// True when a and b are equal ignoring ASCII letter case.
inline bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// s without leading and trailing characters from blanks (spaces and tabs by default).
// Looks at the ends only, without a library call: every request header value comes here.
inline std::string_view trimBlanks(std::string_view s, std::string_view blanks = " \t") {
  const auto blank = [blanks](char c) {
    return std::find(blanks.begin(), blanks.end(), c) != blanks.end();
  };
  while (!s.empty() && blank(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && blank(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

// RFC 9110 tchar: the characters of methods, header names and other tokens.
inline bool isTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace appserver::server
