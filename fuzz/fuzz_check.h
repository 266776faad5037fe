// fuzz_check.h: how a fuzz target reports a broken property beside the sanitizers.
//
// fail() prints what broke (and the offending bytes, cut short) to stderr and aborts, which
// libFuzzer records as a crash together with the input that caused it.
// Thread: libFuzzer's (one).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace appserver::fuzz {

[[noreturn]] inline void fail(const char* what, std::string_view detail = {}) {
  constexpr size_t kShown = 1024;
  std::fprintf(stderr, "fuzz property broken: %s: %.*s\n", what,
               static_cast<int>(detail.size() < kShown ? detail.size() : kShown), detail.data());
  std::abort();
}

inline void check(bool ok, const char* what, std::string_view detail = {}) {
  if (!ok) {
    fail(what, detail);
  }
}

}  // namespace appserver::fuzz
