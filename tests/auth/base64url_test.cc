// base64url_test.cc: strict base64url decoding and encoding (auth/base64url.cc).
#include "auth/base64url.h"

#include <gtest/gtest.h>

namespace appserver::auth {
namespace {

std::string decoded(std::string_view text, Status expected = Status::Ok) {
  std::string out;
  EXPECT_EQ(base64UrlDecode(text, out), expected) << text;
  return out;
}

TEST(Base64Url, DecodesRfc4648TestVectorsWithoutPadding) {
  EXPECT_EQ(decoded(""), "");
  EXPECT_EQ(decoded("Zg"), "f");
  EXPECT_EQ(decoded("Zm8"), "fo");
  EXPECT_EQ(decoded("Zm9v"), "foo");
  EXPECT_EQ(decoded("Zm9vYg"), "foob");
  EXPECT_EQ(decoded("Zm9vYmE"), "fooba");
  EXPECT_EQ(decoded("Zm9vYmFy"), "foobar");
}

TEST(Base64Url, DecodesUrlSafeAlphabet) { EXPECT_EQ(decoded("-_-_"), "\xfb\xff\xbf"); }

TEST(Base64Url, RejectsPadding) {
  decoded("Zg==", Status::Base64Invalid);
  decoded("Zm8=", Status::Base64Invalid);
}

TEST(Base64Url, RejectsStandardAlphabetCharacters) {
  decoded("+/+/", Status::Base64Invalid);
  decoded("ab/c", Status::Base64Invalid);
}

TEST(Base64Url, RejectsWhitespaceAndOtherBytes) {
  decoded("Zm9v Yg", Status::Base64Invalid);
  decoded("Zm9v\nYg", Status::Base64Invalid);
  decoded("Zm9v#Yg", Status::Base64Invalid);
  decoded(std::string_view("Zm\0v", 4), Status::Base64Invalid);
  decoded("Zm9\xc3\xa9", Status::Base64Invalid);
}

TEST(Base64Url, RejectsImpossibleLength) { decoded("Zm9vY", Status::Base64Invalid); }

TEST(Base64Url, RejectsNonCanonicalTrailingBits) {
  decoded("Zh", Status::Base64Invalid);   // "Zg" with a low bit set
  decoded("Zm9", Status::Base64Invalid);  // "Zm8" with a low bit set
  decoded("Zm8", Status::Ok);
}

TEST(Base64Url, RoundTripsEveryByteValue) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) {
    bytes.push_back(static_cast<char>(i));
  }
  for (std::size_t length = 0; length <= bytes.size(); length += 37) {
    const std::string slice = bytes.substr(0, length);
    EXPECT_EQ(decoded(base64UrlEncode(slice)), slice);
  }
}

}  // namespace
}  // namespace appserver::auth
