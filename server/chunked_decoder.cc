// chunked_decoder.cc: a strict, bounded chunked-body decoder.
//
// Thread: the worker's loop thread.
#include "chunked_decoder.h"

#include <strings.h>

#include <algorithm>

#include "ascii.h"

namespace appserver::server {

namespace {

constexpr size_t kMaxSizeDigits = 16;             // 2^64 - 1; more digits would wrap
constexpr size_t kMaxExtensionBytes = 16 * 1024;  // per message

void skipWhitespace(std::string_view s, size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) {
    ++i;
  }
}

bool skipToken(std::string_view s, size_t& i) {
  const size_t start = i;
  while (i < s.size() && isTokenChar(s[i])) {
    ++i;
  }
  return i > start;
}

// quoted-string (RFC 9110 5.6.4): DQUOTE *( qdtext / quoted-pair ) DQUOTE
bool skipQuoted(std::string_view s, size_t& i) {
  if (i >= s.size() || s[i] != '"') {
    return false;
  }
  for (++i; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"') {
      ++i;
      return true;
    }
    if (c == '\\') {
      ++i;
      if (i >= s.size()) {
        return false;
      }
      continue;
    }
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      return false;
    }
  }
  return false;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  const char lower = static_cast<char>(c | 0x20);
  return lower >= 'a' && lower <= 'f' ? lower - 'a' + 10 : -1;
}

}  // namespace

bool parseChunkLine(std::string_view line, uint64_t& size) {
  size_t i = 0;
  size = 0;
  for (; i < line.size() && hexValue(line[i]) >= 0; ++i) {
    if (i == kMaxSizeDigits) {
      return false;
    }
    size = size * 16 + static_cast<uint64_t>(hexValue(line[i]));
  }
  if (i == 0) {
    return false;
  }
  // chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )
  while (true) {
    const size_t before = i;
    skipWhitespace(line, i);
    if (i == line.size()) {
      return i == before;  // BWS only comes before a ';': "0 " is refused
    }
    if (line[i] != ';') {
      return false;
    }
    ++i;
    skipWhitespace(line, i);
    if (!skipToken(line, i)) {
      return false;
    }
    skipWhitespace(line, i);
    if (i < line.size() && line[i] == '=') {
      ++i;
      skipWhitespace(line, i);
      if (!skipToken(line, i) && !skipQuoted(line, i)) {
        return false;
      }
    }
  }
}

void ChunkedDecoder::reset() {
  state_ = State::SizeLine;
  line_.clear();
  left_ = total_ = 0;
  extension_bytes_ = 0;
  trailers_ = 0;
  status_ = 0;
  reason_.clear();
}

ChunkedDecoder::Result ChunkedDecoder::fail(int status, const char* reason) {
  status_ = status;
  reason_ = reason;
  return Result::Error;
}

bool ChunkedDecoder::takeLine(std::string_view data, size_t& at, bool& failed) {
  while (at < data.size()) {
    const char c = data[at++];
    if (!line_.empty() && line_.back() == '\r') {
      if (c != '\n') {
        failed = true;  // a bare CR
        return false;
      }
      line_.pop_back();
      return true;
    }
    if (c == '\n' || c == '\0') {
      failed = true;  // a bare LF, or NUL
      return false;
    }
    line_.push_back(c);
    if (line_.size() > max_line_) {
      failed = true;
      return false;
    }
  }
  return false;
}

bool ChunkedDecoder::checkTrailer() {
  const size_t colon = line_.find(':');
  if (colon == std::string::npos || colon == 0 ||
      !std::all_of(line_.begin(), line_.begin() + static_cast<long>(colon), isTokenChar)) {
    return false;
  }
  const std::string_view name(line_.data(), colon);
  for (std::string_view forbidden : {"content-length", "transfer-encoding", "host", "connection",
                                     "keep-alive", "te", "trailer", "upgrade", "expect"}) {
    if (name.size() == forbidden.size() &&
        ::strncasecmp(name.data(), forbidden.data(), name.size()) == 0) {
      return false;
    }
  }
  return true;
}

ChunkedDecoder::Result ChunkedDecoder::feed(std::string_view data, size_t& consumed,
                                            BodyBuffer& body) {
  size_t at = 0;
  bool failed = false;
  while (at < data.size() && state_ != State::Finished) {
    switch (state_) {
      case State::SizeLine: {
        if (!takeLine(data, at, failed)) {
          if (failed) {
            return fail(400, "malformed chunk size line");
          }
          break;
        }
        uint64_t size = 0;
        if (!parseChunkLine(line_, size)) {
          return fail(400, "malformed chunk size line");
        }
        // Extensions of every chunk together, so the wire cannot outgrow the body without
        // bound (Node's fix for CVE-2024-22019 has the same 16 KiB).
        extension_bytes_ += line_.size() - std::min(line_.find_first_of("; \t"), line_.size());
        if (extension_bytes_ > kMaxExtensionBytes) {
          return fail(413, "chunk extensions too large");
        }
        line_.clear();
        if (size > limit_ - std::min(total_, limit_)) {
          return fail(413, "request body too large");
        }
        left_ = size;
        state_ = size == 0 ? State::TrailerLine : State::Data;
        break;
      }
      case State::Data: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(left_, data.size() - at));
        if (!body.append(data.substr(at, n))) {
          return fail(500, "the request body could not be stored");
        }
        at += n;
        left_ -= n;
        total_ += n;
        if (left_ == 0) {
          state_ = State::DataEnd;
        }
        break;
      }
      case State::DataEnd:
        if (!takeLine(data, at, failed)) {
          if (failed) {
            return fail(400, "chunk data not followed by CRLF");
          }
          break;
        }
        if (!line_.empty()) {
          return fail(400, "chunk data not followed by CRLF");
        }
        state_ = State::SizeLine;
        break;
      case State::TrailerLine:
        if (!takeLine(data, at, failed)) {
          if (failed) {
            return fail(400, "malformed trailer line");
          }
          break;
        }
        if (line_.empty()) {
          state_ = State::Finished;
          break;
        }
        if (++trailers_ > max_trailers_) {
          return fail(431, "too many trailer fields");
        }
        if (!checkTrailer()) {
          return fail(400, "malformed or forbidden trailer field");
        }
        line_.clear();
        break;
      case State::Finished:
        break;
    }
  }
  consumed = at;
  return state_ == State::Finished ? Result::Done : Result::NeedMore;
}

}  // namespace appserver::server
