// base64url.h: strict base64url without padding (RFC 7515 section 2, RFC 4648 section 5).
//
// JWS segments are base64url with padding omitted. Decoding here is strict on purpose,
// so that exactly one text encodes a given byte string: only A-Z a-z 0-9 '-' '_' are
// accepted (no '=', no '+' or '/', no whitespace), a length of 4k+1 is refused, and the
// unused low bits of the last character must be zero (no non-canonical encodings).
// Thread: any; pure functions.
#pragma once

#include <string>
#include <string_view>

#include "auth/status.h"

namespace appserver::auth {

// Decodes text into out (replacing its contents). Returns Base64Invalid on any character
// outside the alphabet, a 4k+1 length or non-zero unused bits; out is then unspecified.
Status base64UrlDecode(std::string_view text, std::string& out);

// Encodes bytes as base64url without padding.
std::string base64UrlEncode(std::string_view bytes);

}  // namespace appserver::auth
