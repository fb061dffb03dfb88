#include "common/volume_options.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

TEST(VolumeOptionsTest, EveryOptionHasAMeaningAndAValidDefault) {
  for (const VolumeOption& option : VolumeOptions()) {
    EXPECT_FALSE(option.meaning.empty()) << option.key;
    if (option.key == "auth.reject") continue;  // empty: none
    auto valid = ValidateVolumeOption(option.key, option.default_value);
    ASSERT_TRUE(valid.ok()) << option.key << ": " << valid.status().ToString();
    EXPECT_EQ(*valid, option.default_value);
  }
}

TEST(VolumeOptionsTest, BooleansAreCanonical) {
  EXPECT_EQ(*ValidateVolumeOption("read-only", "yes"), "on");
  EXPECT_EQ(*ValidateVolumeOption("read-only", "disable"), "off");
}

TEST(VolumeOptionsTest, ValueInEffectIsTheSetOneElseTheDefault) {
  std::map<std::string, std::string> set = {{"read-only", "on"}};
  EXPECT_EQ(VolumeOptionValue(set, "read-only"), "on");
  EXPECT_EQ(VolumeOptionValue(set, "auth.allow"), "*");
  EXPECT_EQ(VolumeOptionValue({}, "read-only"), "off");
}

TEST(VolumeOptionsTest, AddressPatternsMatch) {
  auto patterns = AddressPatterns::Parse("10.1.*, 192.168.0.0/16,127.0.0.2,::1");
  ASSERT_TRUE(patterns.ok()) << patterns.status().ToString();
  EXPECT_EQ(patterns->ToString(), "10.1.*,192.168.0.0/16,127.0.0.2,::1");
  EXPECT_TRUE(patterns->Matches("10.1.7.9"));
  EXPECT_FALSE(patterns->Matches("10.10.7.9"));
  EXPECT_TRUE(patterns->Matches("192.168.44.1"));
  EXPECT_FALSE(patterns->Matches("192.169.0.1"));
  EXPECT_TRUE(patterns->Matches("127.0.0.2"));
  EXPECT_TRUE(patterns->Matches("::ffff:127.0.0.2"));
  EXPECT_FALSE(patterns->Matches("127.0.0.1"));
  EXPECT_TRUE(patterns->Matches("::1"));
  EXPECT_TRUE(AddressPatterns::Parse("*")->Matches("203.0.113.5"));
  EXPECT_FALSE(AddressPatterns::Parse("")->Matches("203.0.113.5"));
}

// ---- errors ----

TEST(VolumeOptionsTest, UnknownKeyIsRefusedWithWhereToLook) {
  auto valid = ValidateVolumeOption("performance.turbo", "on");
  ASSERT_FALSE(valid.ok());
  EXPECT_NE(valid.status().message().find("shoal volume set help"), std::string::npos);
}

TEST(VolumeOptionsTest, BadValuesAreRefused) {
  EXPECT_FALSE(ValidateVolumeOption("read-only", "maybe").ok());
  EXPECT_FALSE(ValidateVolumeOption("auth.allow", "").ok());
  EXPECT_FALSE(ValidateVolumeOption("auth.allow", "10.1.2.3.4").ok());
  EXPECT_FALSE(ValidateVolumeOption("auth.allow", "10.0.0.0/33").ok());
  EXPECT_FALSE(ValidateVolumeOption("auth.reject", "example.com").ok());
  EXPECT_TRUE(ValidateVolumeOption("auth.reject", "").ok());
  EXPECT_FALSE(ValidateVolumeOption("heal-bandwidth", "fast").ok());
  EXPECT_EQ(*ValidateVolumeOption("heal-bandwidth", "0"), "0");
  EXPECT_FALSE(ValidateVolumeOption("heal-stall-timeout", "0").ok());  // would restart every heal at once
  EXPECT_FALSE(ValidateVolumeOption("heal-stall-timeout", "-5").ok());
  EXPECT_EQ(*ValidateVolumeOption("heal-stall-timeout", "007"), "7");
}

}  // namespace
}  // namespace shoal
