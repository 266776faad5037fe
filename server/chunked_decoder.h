// chunked_decoder.h: the chunked transfer coding of request bodies (RFC 9112 7.1).
//
// The server decodes chunked bodies itself instead of leaving them to llhttp 8.1, which
// refuses valid chunk extensions with whitespace (BWS) yet reads unbounded extension bytes
// (CVE-2024-22019). Each chunk line and trailer line is bounded, and so are the extensions
// of a whole message (16 KiB); CRLF is required exactly
// (bare CR or LF refused); sizes beyond 16 hex digits are refused, never wrapped; trailers
// that could change framing or routing are refused and the others dropped (WSGI has no place
// for them).
// Thread: the worker's loop thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "body_buffer.h"

namespace appserver::server {

class ChunkedDecoder {
 public:
  enum class Result {
    NeedMore,  // all input consumed; the body goes on
    Done,      // the last chunk and the trailers are through; the rest is the next message
    Error,     // status() and reason() say why; the connection cannot go on
  };

  // limit: the largest body accepted (413 beyond); max_line: the longest chunk or trailer line.
  ChunkedDecoder(uint64_t limit, size_t max_line, size_t max_trailers)
      : limit_(limit), max_line_(max_line), max_trailers_(max_trailers) {}

  // Decodes data into body; consumed tells how much of data belonged to this body.
  Result feed(std::string_view data, size_t& consumed, BodyBuffer& body);
  void reset();
  int status() const { return status_; }
  std::string_view reason() const { return reason_; }

 private:
  enum class State { SizeLine, Data, DataEnd, TrailerLine, Finished };

  // Takes bytes up to and including CRLF into line_; true once a whole line is there.
  bool takeLine(std::string_view data, size_t& at, bool& failed);
  bool startChunk();
  bool checkTrailer();
  Result fail(int status, const char* reason);

  uint64_t limit_;
  size_t max_line_;
  size_t max_trailers_;
  State state_ = State::SizeLine;
  std::string line_;
  uint64_t left_ = 0;  // bytes of the current chunk still to come
  uint64_t total_ = 0;
  size_t extension_bytes_ = 0;  // chunk-extension bytes of this message so far
  size_t trailers_ = 0;
  int status_ = 0;
  std::string reason_;
};

// Parses "size[ chunk-ext]" (the line without CRLF). Returns false for any syntax error.
bool parseChunkLine(std::string_view line, uint64_t& size);

}  // namespace appserver::server
