// check.h: invariant checks (STYLE.md): APPSERVER_CHECK always aborts on a broken invariant,
// APPSERVER_ASSERT only in debug builds. Never used on network input.
#pragma once

#include <cstdio>
#include <cstdlib>

#define APPSERVER_CHECK(cond)                                                       \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

#ifdef NDEBUG
#define APPSERVER_ASSERT(cond) ((void)0)
#else
#define APPSERVER_ASSERT(cond) APPSERVER_CHECK(cond)
#endif
