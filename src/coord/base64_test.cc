#include "coord/base64.h"

#include <gtest/gtest.h>

namespace shoal::coord {
namespace {

// RFC 4648 section 10.
TEST(Base64Test, EncodesTheRfcVectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
}

TEST(Base64Test, DecodesTheRfcVectors) {
  for (std::string_view text : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    auto decoded = Base64Decode(Base64Encode(text));
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(*decoded, text);
  }
}

TEST(Base64Test, EveryByteValueRoundTrips) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  for (size_t length = 0; length <= bytes.size(); length += 37) {
    std::string part = bytes.substr(bytes.size() - length);
    auto decoded = Base64Decode(Base64Encode(part));
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(*decoded, part);
  }
}

TEST(Base64Test, UsesTheStandardAlphabet) {
  EXPECT_EQ(Base64Encode("\xfb\xff"), "+/8=");
}

// ---- bad input ----

TEST(Base64Test, RefusesALengthNotAMultipleOfFour) {
  auto decoded = Base64Decode("Zm9");
  EXPECT_EQ(decoded.status().code(), Code::kBadMessage);
}

TEST(Base64Test, RefusesCharactersOutsideTheAlphabet) {
  EXPECT_FALSE(Base64Decode("Zm9-").ok());
  EXPECT_FALSE(Base64Decode("Zm 9").ok());
  EXPECT_FALSE(Base64Decode("Zm9\n").ok());
}

TEST(Base64Test, RefusesPaddingAnywhereButTheEnd) {
  EXPECT_FALSE(Base64Decode("Zg==Zm9v").ok());
  EXPECT_FALSE(Base64Decode("Z===").ok());
  EXPECT_FALSE(Base64Decode("Zm=v").ok());
}

TEST(Base64Test, RefusesNonZeroBitsUnderThePadding) {
  EXPECT_FALSE(Base64Decode("Zh==").ok());  // "Zg==" with a stray low bit
  EXPECT_FALSE(Base64Decode("Zm9=").ok());  // "Zm8=" with a stray low bit
}

}  // namespace
}  // namespace shoal::coord
