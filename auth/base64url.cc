// base64url.cc: strict base64url codec, hand-written because OpenSSL's EVP_DecodeBlock
// accepts the standard alphabet, padding and whitespace, none of which JWS allows.
//
// Thread: any.
#include "auth/base64url.h"

#include <array>
#include <cstdint>

namespace appserver::auth {

namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::uint8_t kInvalid = 0xff;

constexpr std::array<std::uint8_t, 256> makeDecodeTable() {
  std::array<std::uint8_t, 256> table{};
  for (auto& entry : table) {
    entry = kInvalid;
  }
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::uint8_t>(i);
  }
  return table;
}

constexpr std::array<std::uint8_t, 256> kDecode = makeDecodeTable();

}  // namespace

Status base64UrlDecode(std::string_view text, std::string& out) {
  out.clear();
  if (text.size() % 4 == 1) {
    return Status::Base64Invalid;
  }
  out.resize(text.size() * 3 / 4);  // exact for lengths 4k, 4k+2 and 4k+3
  std::size_t written = 0;
  std::uint32_t bits = 0;
  int bit_count = 0;
  for (const char c : text) {
    const std::uint8_t value = kDecode[static_cast<unsigned char>(c)];
    if (value == kInvalid) {
      return Status::Base64Invalid;
    }
    bits = (bits << 6) | value;
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      out[written++] = static_cast<char>((bits >> bit_count) & 0xff);
    }
  }
  // 2 or 4 leftover bits must be zero, or two texts would decode to the same bytes.
  if ((bits & ((1u << bit_count) - 1)) != 0) {
    return Status::Base64Invalid;
  }
  return Status::Ok;
}

std::string base64UrlEncode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::uint32_t bits = 0;
  int bit_count = 0;
  for (const char c : bytes) {
    bits = (bits << 8) | static_cast<unsigned char>(c);
    bit_count += 8;
    while (bit_count >= 6) {
      bit_count -= 6;
      out.push_back(kAlphabet[(bits >> bit_count) & 0x3f]);
    }
  }
  if (bit_count > 0) {
    out.push_back(kAlphabet[(bits << (6 - bit_count)) & 0x3f]);
  }
  return out;
}

}  // namespace appserver::auth
