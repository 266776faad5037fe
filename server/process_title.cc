// process_title.cc: overwriting argv and environ with the process title.
//
// Thread: the process's only thread.
#include "process_title.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace appserver::server {

namespace {

constexpr size_t kThreadNameMax = 15;  // PR_SET_NAME keeps 16 bytes, the NUL included

char* g_area = nullptr;  // argv[0] up to the end of the last environment string
size_t g_area_size = 0;
// The copy of the environment init() makes, for the process's life. Held here, not only
// through environ, because setenv() may replace environ or its entries.
char** g_environ = nullptr;
char* g_environ_strings = nullptr;  // the strings g_environ points into, one block

}  // namespace

void ProcessTitle::init(int argc, char** argv) {
  if (argc < 1 || argv[0] == nullptr) {
    return;
  }
  // Only strings that follow each other without a gap belong to the area.
  char* end = argv[0] + std::strlen(argv[0]) + 1;
  for (int i = 1; i < argc && argv[i] == end; ++i) {
    end += std::strlen(argv[i]) + 1;
  }
  size_t count = 0;
  size_t bytes = 0;
  for (; environ[count] != nullptr; ++count) {
    bytes += std::strlen(environ[count]) + 1;
  }
  g_environ = new char*[count + 1];
  g_environ_strings = new char[bytes];
  char* next = g_environ_strings;
  for (size_t i = 0; i < count; ++i) {
    const size_t size = std::strlen(environ[i]) + 1;
    if (environ[i] == end) {
      end += size;
    }
    g_environ[i] = static_cast<char*>(std::memcpy(next, environ[i], size));
    next += size;
  }
  g_environ[count] = nullptr;
  environ = g_environ;
  g_area = argv[0];
  g_area_size = static_cast<size_t>(end - argv[0]);
}

void ProcessTitle::set(std::string_view title) {
  if (g_area != nullptr) {
    const size_t n = std::min(title.size(), g_area_size - 1);
    std::memcpy(g_area, title.data(), n);
    std::memset(g_area + n, 0, g_area_size - n);
  }
  const std::string name(title.substr(0, kThreadNameMax));
  ::prctl(PR_SET_NAME, name.c_str());
}

}  // namespace appserver::server
