// test_request.cc: TestRequest's views.
//
// Thread: the test's main thread.
#include "test_request.h"

namespace appserver::embed {

WsgiRequest TestRequest::view() {
  WsgiRequest r;
  r.method = method;
  r.target = target;
  const std::string_view t = target;
  const size_t q = t.find('?');
  r.path = t.substr(0, q);
  r.query = q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
  r.protocol = protocol;
  header_views_.clear();
  for (const auto& [name, value] : headers) {
    header_views_.push_back({name, value});
  }
  r.headers = header_views_;
  if (body_fd >= 0) {
    r.body.fd = std::exchange(body_fd, -1);
    r.body.size = body_fd_size;
  } else {
    r.body.memory = body;
    r.body.size = body.size();
  }
  r.body_was_chunked = chunked;
  r.remote_addr = remote_addr;
  r.remote_port = remote_port;
  r.server_name = server_name;
  r.server_port = server_port;
  r.url_scheme = url_scheme;
  r.jwt_claims_json = jwt_claims_json;
  r.extra = extra;
  return r;
}

}  // namespace appserver::embed
