#include "fuse/mount_options.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace shoal::fuse {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

Result<MountOptions> Parse(const std::string& spec, std::vector<std::string> option_lists = {}) {
  return ParseMountOptions(spec, "/mnt/www", option_lists);
}

// "host:port" of every server, in order.
std::vector<std::string> Servers(const MountOptions& options) {
  std::vector<std::string> out;
  for (const auto& server : options.servers) out.push_back(server.ToString());
  return out;
}

// ---- SPEC ----

TEST(ParseMountOptionsTest, HostAndVolume) {
  auto options = Parse("host:/vol");
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_THAT(Servers(*options), ElementsAre("host:24100"));
  EXPECT_EQ(options->volume, "vol");
  EXPECT_EQ(options->mountpoint, "/mnt/www");
}

TEST(ParseMountOptionsTest, HostPortAndVolume) {
  auto options = Parse("host:24101:/vol");
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_THAT(Servers(*options), ElementsAre("host:24101"));
  EXPECT_EQ(options->volume, "vol");
}

TEST(ParseMountOptionsTest, BracketedIpv6Server) {
  auto options = Parse("[::1]:24102:/vol");
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_THAT(Servers(*options), ElementsAre("[::1]:24102"));
  EXPECT_EQ(options->volume, "vol");
}

TEST(ParseMountOptionsTest, Defaults) {
  auto options = Parse("host:/vol");
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_FALSE(options->foreground);
  EXPECT_EQ(options->attr_timeout_s, 60.0);
  EXPECT_EQ(options->entry_timeout_s, 60.0);
  EXPECT_EQ(options->negative_timeout_s, 60.0);
  EXPECT_EQ(options->connect_timeout_ms, 3000);
  EXPECT_EQ(options->log_file, "");
  EXPECT_EQ(options->log_level, "info");
  EXPECT_THAT(options->fuse_options, IsEmpty());
}

// ---- -o options ----

TEST(ParseMountOptionsTest, EmptyOptionListIsAccepted) {
  auto options = Parse("host:/vol", {""});
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_THAT(options->fuse_options, IsEmpty());
}

TEST(ParseMountOptionsTest, EmptyItemsBetweenCommasAreSkipped) {
  auto options = Parse("host:/vol", {",ro,,nosuid,"});
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_THAT(options->fuse_options, ElementsAre("ro", "nosuid"));
}

TEST(ParseMountOptionsTest, BackupServersWithoutPorts) {
  auto options = Parse("s1:/vol", {"backup-servers=s2:s3"});
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_THAT(Servers(*options), ElementsAre("s1:24100", "s2:24100", "s3:24100"));
}

TEST(ParseMountOptionsTest, BackupServersWithPorts) {
  auto options = Parse("s1:/vol", {"backup-servers=s2:24101:s3:24102"});
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_THAT(Servers(*options), ElementsAre("s1:24100", "s2:24101", "s3:24102"));
}

TEST(ParseMountOptionsTest, BackupServersSomeWithPorts) {
  auto options = Parse("s1:24105:/vol", {"backup-servers=s2:s3:24102"});
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_THAT(Servers(*options), ElementsAre("s1:24105", "s2:24100", "s3:24102"));
}

// HostPort's own spelling of an IPv6 server, as the SPEC accepts it.
TEST(ParseMountOptionsTest, BackupServerWithABracketedIpv6Address) {
  auto options = Parse("s1:/vol", {"backup-servers=[::1]:24101:s3"});
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_THAT(Servers(*options), ElementsAre("s1:24100", "[::1]:24101", "s3:24100"));
}

TEST(ParseMountOptionsTest, BackupVolfileServersIsTheGlusterSpelling) {
  auto options = Parse("s1:/vol", {"backup-volfile-servers=s2:s3"});
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_THAT(Servers(*options), ElementsAre("s1:24100", "s2:24100", "s3:24100"));
}

TEST(ParseMountOptionsTest, Timeouts) {
  auto options = Parse("host:/vol", {"attr-timeout=2.5,entry-timeout=0,negative-timeout=10"});
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_EQ(options->attr_timeout_s, 2.5);
  EXPECT_EQ(options->entry_timeout_s, 0.0);
  EXPECT_EQ(options->negative_timeout_s, 10.0);
}

TEST(ParseMountOptionsTest, ConnectTimeoutIsInSeconds) {
  auto options = Parse("host:/vol", {"connect-timeout=1.5"});
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_EQ(options->connect_timeout_ms, 1500);
}

TEST(ParseMountOptionsTest, ReadsAreSpreadUnlessSentToThePrimary) {
  auto spread = Parse("host:/vol");
  ASSERT_TRUE(spread.ok()) << spread.status().ToString();
  EXPECT_TRUE(spread->spread_reads);
  auto primary = Parse("host:/vol", {"reads=primary"});
  ASSERT_TRUE(primary.ok()) << primary.status().ToString();
  EXPECT_FALSE(primary->spread_reads);
}

TEST(ParseMountOptionsTest, StrictLocksIsOffUnlessAsked) {
  auto fast = Parse("host:/vol");
  ASSERT_TRUE(fast.ok()) << fast.status().ToString();
  EXPECT_FALSE(fast->strict_locks);
  auto strict = Parse("host:/vol", {"strict-locks"});
  ASSERT_TRUE(strict.ok()) << strict.status().ToString();
  EXPECT_TRUE(strict->strict_locks);
}

TEST(ParseMountOptionsTest, LogFileLogLevelAndForeground) {
  auto options = Parse("host:/vol", {"log-file=/var/log/shoal.log,log-level=debug,foreground"});
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_EQ(options->log_file, "/var/log/shoal.log");
  EXPECT_EQ(options->log_level, "debug");
  EXPECT_TRUE(options->foreground);
}

TEST(ParseMountOptionsTest, MountAndBootOptionsAreIgnored) {
  auto options = Parse("host:/vol", {"defaults,_netdev,noauto,x-systemd.automount,nofail,user"});
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_THAT(options->fuse_options, IsEmpty());
  EXPECT_THAT(Servers(*options), ElementsAre("host:24100"));
}

TEST(ParseMountOptionsTest, KernelOptionsArePassedThrough) {
  auto options = Parse("host:/vol", {"ro,nosuid,allow_other"});
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_THAT(options->fuse_options, ElementsAre("ro", "nosuid", "allow_other"));
}

TEST(ParseMountOptionsTest, SeveralOptionListsAddUp) {
  auto options = Parse("host:/vol", {"ro", "attr-timeout=3,nodev"});
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_THAT(options->fuse_options, ElementsAre("ro", "nodev"));
  EXPECT_EQ(options->attr_timeout_s, 3.0);
}

// ---- rejected specs and options ----

void ExpectRejected(const std::string& spec, std::vector<std::string> option_lists,
                    std::string_view mentioned) {
  auto options = Parse(spec, option_lists);
  ASSERT_FALSE(options.ok()) << spec << " -o " << ::testing::PrintToString(option_lists)
                              << " was accepted";
  EXPECT_EQ(options.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(options.status().message(), HasSubstr(std::string(mentioned)));
}

TEST(ParseMountOptionsErrorTest, SpecWithoutVolume) { ExpectRejected("host", {}, "host"); }

TEST(ParseMountOptionsErrorTest, SpecWithoutHost) { ExpectRejected(":/vol", {}, ":/vol"); }

TEST(ParseMountOptionsErrorTest, SpecWithEmptyVolume) { ExpectRejected("host:/", {}, "does not name a volume"); }

TEST(ParseMountOptionsErrorTest, SpecWithNestedVolume) {
  ExpectRejected("host:/vol/sub", {}, "does not name a volume");
}

TEST(ParseMountOptionsErrorTest, SpecWithBadPort) { ExpectRejected("host:x:/vol", {}, "bad port"); }

TEST(ParseMountOptionsErrorTest, SpecWithPortOutOfRange) { ExpectRejected("host:70000:/vol", {}, "bad port"); }

TEST(ParseMountOptionsErrorTest, NoMountPoint) {
  auto options = ParseMountOptions("host:/vol", "", {});
  ASSERT_FALSE(options.ok());
  EXPECT_EQ(options.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(options.status().message(), HasSubstr("mount point"));
}

TEST(ParseMountOptionsErrorTest, UnknownOptionIsNamed) {
  ExpectRejected("host:/vol", {"ro,frobnicate=3"}, "unknown mount option 'frobnicate'");
}

TEST(ParseMountOptionsErrorTest, TimeoutNotANumber) {
  ExpectRejected("host:/vol", {"attr-timeout=soon"}, "attr-timeout");
}

TEST(ParseMountOptionsErrorTest, TimeoutWithoutValue) {
  ExpectRejected("host:/vol", {"entry-timeout"}, "entry-timeout");
}

TEST(ParseMountOptionsErrorTest, NegativeTimeout) {
  ExpectRejected("host:/vol", {"negative-timeout=-1"}, "negative-timeout");
}

TEST(ParseMountOptionsErrorTest, TimeoutAboveADay) {
  ExpectRejected("host:/vol", {"connect-timeout=86401"}, "connect-timeout");
}

TEST(ParseMountOptionsErrorTest, TimeoutWithTrailingJunk) {
  ExpectRejected("host:/vol", {"attr-timeout=1s"}, "attr-timeout");
}

// std::from_chars accepts "nan", and NaN fails every comparison: a range check must be written so
// that NaN falls outside it.
TEST(ParseMountOptionsErrorTest, AttrTimeoutNan) {
  ExpectRejected("host:/vol", {"attr-timeout=nan"}, "attr-timeout");
}

TEST(ParseMountOptionsErrorTest, ConnectTimeoutNan) {
  ExpectRejected("host:/vol", {"connect-timeout=nan"}, "connect-timeout");
}

TEST(ParseMountOptionsErrorTest, TimeoutInfinite) {
  ExpectRejected("host:/vol", {"attr-timeout=inf"}, "attr-timeout");
}

TEST(ParseMountOptionsErrorTest, ReadsNeitherSpreadNorPrimary) {
  ExpectRejected("host:/vol", {"reads=nearest"}, "reads=nearest");
}

TEST(ParseMountOptionsErrorTest, StrictLocksWithAValue) {
  ExpectRejected("host:/vol", {"strict-locks=no"}, "takes no value");
}

TEST(ParseMountOptionsErrorTest, BackupServerWithBadPort) {
  ExpectRejected("host:/vol", {"backup-servers=s2:70000"}, "bad port");
}

}  // namespace
}  // namespace shoal::fuse
