// allocation_count.h: counts the heap allocations of the auth test process, for tests that
// prove a path allocates nothing.
//
// allocation_count.cc replaces the global operator new (forwarding to malloc), which counts
// every allocation of the process. Thread: any.
#pragma once

namespace appserver::auth::testing {

// Calls of operator new so far, in any thread.
long allocationCount();

}  // namespace appserver::auth::testing
