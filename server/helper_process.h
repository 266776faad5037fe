// helper_process.h: run a short-lived helper program and collect what it prints.
//
// The master never embeds Python, so when it needs an answer from the app's world
// (--jwt-from-django) it runs a helper program instead. The child gets its own process
// group, standard input from /dev/null, default signal dispositions and no descriptor but
// standard output and error, both read through pipes, bounded in size and time. Once the
// child exits, overruns or times out, its whole process group is killed, so nothing it
// started outlives it.
// Thread: the master, before any fork (the child's pipes must not leak into workers).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace appserver::server {

struct HelperProcessResult {
  enum class End {
    Exited,    // the child exited (status says how) and its output is complete
    TimedOut,  // the deadline passed; the group was killed
    TooLarge,  // standard output exceeded the limit; the group was killed
  };
  End end = End::Exited;
  int status = -1;  // exit status when it exited normally; -1 when a signal ended it
  std::string out;  // standard output (the caller wipes it when it may hold secrets)
  std::string err;  // the last kHelperErrorTail bytes of standard error
};

// Bytes of standard error kept, from the end.
inline constexpr std::size_t kHelperErrorTail = 4096;

// Runs argv[0] (a path: no PATH search) with argv and the environment env ("KEY=VALUE"
// entries), in the current directory. Throws ConfigError when the child cannot be started.
// @param timeout for the whole run, output included
// @param max_output bytes of standard output accepted
HelperProcessResult runHelperProcess(const std::vector<std::string>& argv,
                                     const std::vector<std::string>& env,
                                     std::chrono::milliseconds timeout, std::size_t max_output);

// The last `count` non-empty lines of text, trimmed and joined with " | ", for a one-line
// message; "no message" when there are none.
std::string lastLines(std::string_view text, std::size_t count);

}  // namespace appserver::server
