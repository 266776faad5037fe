// parse_stream.h: driving HttpParser over a byte stream, for the parser tests.
//
// parseStream() feeds bytes to a fresh parser in pieces of a chosen size (whole, or one byte
// per execute() to exercise split reads), collects every complete request as plain values
// (Parsed: strings, headers and the body read back from memory or the spooled file) and
// tells how parsing stopped. Used by http_parser_test.cc and http_parser_corpus_test.cc.
// Thread: the test's main thread.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http_parser.h"

namespace appserver::server {

constexpr uint64_t kTestBodyMemoryLimit = 1 << 20;

// Everything a test compares about one parsed request, copied out of the parser.
struct Parsed {
  std::string method, target, path, query, protocol;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int64_t content_length = -1;
  bool chunked = false;
  bool keep_alive = true;

  bool operator==(const Parsed&) const = default;
};

// What a whole byte stream produced: the complete requests, then how parsing stopped.
struct Outcome {
  std::vector<Parsed> requests;
  HttpParser::Result last = HttpParser::Result::NeedMore;
  int status = 0;
  size_t offset = 0;  // bytes consumed from the stream
};

// The body as the app would read it, from memory or from the spooled file (closed here).
std::string readBody(embed::RequestBody body);

// Feeds raw to a fresh parser in pieces of at most `piece` bytes. Stops after `want` complete
// requests, at an error, or when the bytes run out (then finish() once if the client sent
// EOF).
Outcome parseStream(std::string_view raw, size_t piece = std::numeric_limits<size_t>::max(),
                    size_t want = std::numeric_limits<size_t>::max(), bool eof = false,
                    const HttpLimits& limits = {}, uint64_t memory_limit = kTestBodyMemoryLimit);

}  // namespace appserver::server
