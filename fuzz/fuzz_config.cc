// fuzz_config.cc: libFuzzer target for the configuration parsers (server/config*.cc).
//
// The input is read two ways. As the text of GUNICORN_CMD_ARGS / APPSERVER_CMD_ARGS it goes
// to splitShellWords, whose words must survive a round trip (quoted again and split again).
// As a command line it goes to parseCommandLine: the shell words when the text splits, else
// the input cut at NUL bytes (argv as execve passes it). Only ConfigError may come out, as
// main() catches nothing else; a parsed configuration is printed with describeConfig, as
// --print-config does. Command lines naming a Gunicorn configuration file (-c) are skipped:
// reading one runs a Python helper process, which is not what is fuzzed here (so are all
// inputs when the working directory holds a gunicorn.conf.py). stdout is discarded (--help).
// Thread: libFuzzer's (one).
#include <stdlib.h>

#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "config.h"
#include "config_sources.h"

namespace appserver::server {
namespace {

using fuzz::check;
using fuzz::fail;

constexpr size_t kMaxArgs = 64;

// Quotes word for a POSIX shell: '...' with each ' written as '\''.
std::string quote(std::string_view word) {
  std::string out = "'";
  for (const char c : word) {
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return out + "'";
}

bool splitWords(std::string_view text, std::vector<std::string>& words) {
  try {
    words = splitShellWords(text);
  } catch (const ConfigError&) {
    return false;
  }
  std::string again;
  for (const std::string& w : words) {
    again += quote(w) + " ";
  }
  std::vector<std::string> resplit;
  try {
    resplit = splitShellWords(again);
  } catch (const ConfigError& e) {
    fail("quoted words do not split again", e.what());
  }
  if (resplit != words) {
    fail("quoted words split into other words", again);
  }
  return true;
}

std::vector<std::string> cutAtNul(std::string_view data) {
  std::vector<std::string> args;
  while (!data.empty() && args.size() < kMaxArgs) {
    const size_t nul = data.find('\0');
    args.emplace_back(data.substr(0, nul));
    data = nul == std::string_view::npos ? std::string_view() : data.substr(nul + 1);
  }
  return args;
}

void parseArguments(std::vector<std::string> args) {
  if (args.size() > kMaxArgs) {
    args.resize(kMaxArgs);
  }
  if (!findConfigFile({{"command line", args}}).empty()) {
    return;  // -c FILE: a Python helper would evaluate the file
  }
  std::vector<char*> argv;
  std::string program = "appserver";
  argv.push_back(program.data());
  for (std::string& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  Config config;
  try {
    if (parseCommandLine(static_cast<int>(argv.size() - 1), argv.data(), config)) {
      (void)describeConfig(config);
    }
  } catch (const ConfigError&) {
  }
}

}  // namespace
}  // namespace appserver::server

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  for (const char* name : {"GUNICORN_CMD_ARGS", "APPSERVER_CMD_ARGS", "WEB_CONCURRENCY",
                           "FORWARDED_ALLOW_IPS"}) {
    ::unsetenv(name);
  }
  if (std::freopen("/dev/null", "w", stdout) == nullptr) {
    std::abort();
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  using namespace appserver::server;
  const std::string_view data(reinterpret_cast<const char*>(bytes), size);
  std::vector<std::string> words;
  if (data.find('\0') == std::string_view::npos && splitWords(data, words)) {
    parseArguments(std::move(words));
  } else {
    parseArguments(cutAtNul(data));
  }
  return 0;
}
