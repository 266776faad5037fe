// abort_handler.h: a worker's SIGABRT, the master's way to end a request past --timeout.
//
// With --threads 1 the loop thread runs the app, so a request stuck in it stops the whole
// worker. The master sees its RequestRecord grow old (scoreboard.h), sets the slot's
// timed_out and sends SIGABRT. The signal then passes three layers, installed in this order:
//  1. exit: ends the process with kExitTimedOut when the master asked; any other SIGABRT
//     (abort() in the server) gets the default action, a core dump where limits allow;
//  2. Python's faulthandler (embed::enableFaultTracebacks): writes every thread's Python
//     stack to the error log, then raises the signal again, which reaches layer 1;
//  3. answer: writes a 504 to each call that has not begun its response, then calls 2.
// So the client has its answer first and the log then shows where the app was stuck.
// The handlers are async-signal-safe: reads of the shared slot, send(), no allocation.
// Thread: install*() on the worker's main thread; the handlers run on whichever thread the
// kernel picks.
#pragma once

#include <cstdint>
#include <string_view>

#include "scoreboard.h"

namespace appserver::server {

class AbortHandler {
 public:
  // Layer 1; before Python starts. slot: this worker's, for the rest of its life.
  static void installExit(const WorkerSlot& slot);
  // Layer 3; once faulthandler is on (else it calls layer 1 directly).
  static void installAnswer();
  // The body bytes of the 504 that layer 3 writes for request_line (none for HEAD).
  static uint64_t answerBodyBytes(std::string_view request_line);
};

}  // namespace appserver::server
