// abort_handler.cc: the SIGABRT layers of a worker.
//
// Thread: see abort_handler.h.
#include "abort_handler.h"

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string_view>

#include "worker.h"

namespace appserver::server {

namespace {

const WorkerSlot* g_slot = nullptr;
struct sigaction g_below {};  // what layer 3 hands over to: faulthandler's handler

constexpr std::string_view kHead =
    "HTTP/1.1 504 Gateway Timeout\r\nServer: appserver\r\n"
    "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 20\r\nConnection: close\r\n";
constexpr std::string_view kBody = "504 Gateway Timeout\n";

void onAbortExit(int signum) {
  if (g_slot != nullptr && g_slot->timed_out.load()) {
    ::_exit(kExitTimedOut);
  }
  ::signal(signum, SIG_DFL);
  ::raise(signum);
}

// Appends text to out[at...] as far as it fits in size; returns the new end.
size_t put(char* out, size_t at, size_t size, std::string_view text) {
  const size_t n = std::min(text.size(), size - at);
  std::memcpy(out + at, text.data(), n);
  return at + n;
}

// The 504 for the call in record, written straight to its socket (the loop that owns the
// socket is stuck in the app, or about to die with the process).
void answer(const RequestRecord::Snapshot& call) {
  char response[kHead.size() + sizeof(call.id) + 64 + kBody.size()];
  size_t n = put(response, 0, sizeof(response), kHead);
  if (call.id[0] != '\0') {
    n = put(response, n, sizeof(response), "X-Request-ID: ");
    n = put(response, n, sizeof(response), std::string_view(call.id, ::strlen(call.id)));
    n = put(response, n, sizeof(response), "\r\n");
  }
  n = put(response, n, sizeof(response), "\r\n");
  n = put(response, n, sizeof(response), kBody.substr(0, AbortHandler::answerBodyBytes(call.line)));
  // Non-blocking: the socket of a call that has not answered yet has room for 150 bytes.
  [[maybe_unused]] const ssize_t sent =
      ::send(call.answer_fd, response, n, MSG_NOSIGNAL | MSG_DONTWAIT);
  ::shutdown(call.answer_fd, SHUT_WR);
}

void onAbortAnswer(int signum, siginfo_t* info, void* context) {
  if (g_slot->timed_out.load()) {
    for (const RequestRecord& record : g_slot->requests) {
      RequestRecord::Snapshot call;
      if (record.read(call) && call.answer_fd >= 0) {
        answer(call);
      }
    }
  }
  if ((g_below.sa_flags & SA_SIGINFO) != 0) {
    g_below.sa_sigaction(signum, info, context);
  } else if (g_below.sa_handler != SIG_DFL && g_below.sa_handler != SIG_IGN) {
    g_below.sa_handler(signum);
  }
  onAbortExit(signum);  // faulthandler re-raises into layer 1; if it returned, go there now
}

}  // namespace

uint64_t AbortHandler::answerBodyBytes(std::string_view request_line) {
  return request_line.starts_with("HEAD ") ? 0 : kBody.size();
}

void AbortHandler::installExit(const WorkerSlot& slot) {
  g_slot = &slot;
  struct sigaction action {};
  action.sa_handler = onAbortExit;
  action.sa_flags = SA_NODEFER;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGABRT, &action, nullptr);
}

void AbortHandler::installAnswer() {
  struct sigaction action {};
  action.sa_sigaction = onAbortAnswer;
  action.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGABRT, &action, &g_below);
}

}  // namespace appserver::server
