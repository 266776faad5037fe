// test_request.h: an embed::WsgiRequest that owns its strings, for tests that call apps.
//
// embed::WsgiRequest holds views; TestRequest owns the strings behind them, so a test fills
// in only what it cares about and hands view() to WsgiCall::start(). Defaults describe a
// plain "GET / HTTP/1.1" from 192.0.2.10:40000 to the listener 127.0.0.1:8000.
// Thread: the test's main thread.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "embed/wsgi_app.h"

namespace appserver::embed {

struct TestRequest {
  std::string method = "GET";
  std::string target = "/";  // path and query are split from it at '?'
  std::string protocol = "HTTP/1.1";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // in memory, unless body_fd is set
  int body_fd = -1;  // a spooled body of body_fd_size bytes; the request takes ownership
  uint64_t body_fd_size = 0;
  bool chunked = false;
  std::string remote_addr = "192.0.2.10";
  int remote_port = 40000;
  std::string server_name = "127.0.0.1";
  int server_port = 8000;
  std::string url_scheme = "http";
  std::string jwt_claims_json;
  std::vector<std::pair<std::string, std::string>> extra;

  // A WsgiRequest viewing this object's strings, valid while this object is unchanged.
  // The body moves into the result (a body file is handed over once).
  WsgiRequest view();

 private:
  std::vector<HeaderView> header_views_;
};

}  // namespace appserver::embed
