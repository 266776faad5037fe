// static_http.h: the HTTP rules of static file answers, as pure functions.
//
// Which file a URL path may name (nothing outside the directory, no listings), which
// precompressed sibling the client accepts (Accept-Encoding with q-values), the byte range
// it asks for (Range, If-Range), whether its cached copy is still good (If-None-Match,
// If-Modified-Since), and the Content-Type and Cache-Control that go with a file name.
// No I/O and no clock: server/static_files.cc applies these rules to real files.
// Thread: any.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace appserver::server {

// What the part of a URL path below a --static prefix may name.
struct StaticPath {
  enum class Verdict {
    Ok,          // `relative` is a file name to look up below the directory
    NotFound,    // well-formed but never a file: empty, a directory ("a/"), "." or ".." or
                 // empty segments
    BadRequest,  // a malformed or forbidden byte: a bad "%" escape, an encoded "/" or "\",
                 // a backslash, NUL or another control byte
  };
  Verdict verdict = Verdict::NotFound;
  std::string relative;  // percent-decoded, for Ok
};

// Checks raw, the still percent-encoded rest of the path after the prefix (no query).
StaticPath checkStaticPath(std::string_view raw);

// The codings of precompressed siblings ("app.css.br", "app.css.gz").
enum class Coding { Brotli, Gzip };

// ".br" or ".gz": the suffix of the sibling file.
std::string_view codingSuffix(Coding coding);
// "br" or "gzip": the Content-Encoding value.
std::string_view codingName(Coding coding);

// The precompressed codings a client accepts, best first.
struct AcceptedCodings {
  std::array<Coding, 2> best{};
  size_t count = 0;
  std::span<const Coding> list() const { return {best.data(), count}; }
};

// Reads an Accept-Encoding value (RFC 9110 12.5.3): "br" and "gzip"/"x-gzip" by name, or
// through "*" when not named; q=0 refuses a coding; a higher q comes first, and br before
// gzip on equal q. A malformed q-value refuses its coding. Empty or absent: none.
AcceptedCodings acceptedCodings(std::string_view accept_encoding);

// The part of a representation a Range header asks for.
struct ByteRange {
  enum class Kind {
    Whole,          // no usable Range: send everything with 200
    Part,           // send bytes first..last (inclusive) with 206
    Unsatisfiable,  // answer 416 with "Content-Range: bytes */size"
  };
  Kind kind = Kind::Whole;
  int64_t first = 0;
  int64_t last = 0;
};

// Reads a Range value (RFC 9110 14.2) for a representation of size bytes. One range
// ("bytes=a-b", "bytes=a-", "bytes=-n") gives a Part, clamped to the size, or
// Unsatisfiable when it starts at or past the end (or asks for the last 0 bytes). Absent,
// malformed, another unit, or several ranges: Whole (a server may always ignore Range; a
// multipart/byteranges answer is not worth its complexity for static files).
ByteRange parseRange(std::string_view range, int64_t size);

// A strong entity tag for a file: "<size>-<mtime>" in hex, quoted, with "-<coding>" for a
// precompressed sibling (coding: "br", "gzip", or "" for the file itself), so that no two
// representations share a tag even when their sizes and times agree. mtime_ns: the file's
// modification time in nanoseconds since the epoch.
std::string makeEtag(uint64_t size, int64_t mtime_ns, std::string_view coding);

// Whether the client's copy is current (RFC 9110 13.2.2, for GET and HEAD): If-None-Match
// when present ("*", or any listed tag equal under the weak comparison), else
// If-Modified-Since at or after modified (seconds since the epoch). Malformed values never
// match.
bool notModified(std::string_view if_none_match, std::string_view if_modified_since,
                 std::string_view etag, time_t modified);

// Whether a Range may be honoured (RFC 9110 13.1.5): no If-Range, or one naming etag under
// the strong comparison, or exactly the Last-Modified date.
bool ifRangeHolds(std::string_view if_range, std::string_view etag, time_t modified);

// An HTTP-date in any of the three formats a recipient must accept (IMF-fixdate, RFC 850,
// asctime), as seconds since the epoch; nullopt when malformed.
std::optional<time_t> parseHttpDate(std::string_view text);

// The Content-Type for a file name, from its extension (case-insensitive) in a built-in
// table; text types carry "; charset=utf-8". Unknown: "application/octet-stream".
std::string_view contentTypeFor(std::string_view name);

// Whether a file name carries a content hash as Django's ManifestStaticFilesStorage writes
// it, "name.0123456789ab.ext" (or "name.0123456789ab"): 12 lowercase hex digits as the last
// or next-to-last dot-separated part after the first. Such a file never changes.
bool isHashedName(std::string_view name);

}  // namespace appserver::server
