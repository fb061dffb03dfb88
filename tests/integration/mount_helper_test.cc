// Mounting the way administrators do: mount -t shoal, an fstab line with _netdev and backup
// servers, and several clients of one volume. Uses the installed /usr/sbin/mount.shoal (the
// README's test command installs it before running the tests).
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace shoal::testing {
namespace {

constexpr const char* kHelper = "/usr/sbin/mount.shoal";

class MountHelperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::access(kHelper, X_OK), 0) << kHelper << " is not installed: run scripts/install.sh first";
    ::mkdir((dir_.path() + "/brick").c_str(), 0755);
    for (const char* m : {"/a", "/b"}) ::mkdir((dir_.path() + m).c_str(), 0755);
    ASSERT_TRUE(server_.Start()) << server_.error();
  }
  void TearDown() override {
    for (const char* m : {"/a", "/b"})
      if (IsMountPoint(dir_.path() + m)) RunCommand({"/bin/umount", "-l", dir_.path() + m});
  }
  std::string port() const { return std::to_string(server_.port()); }

  TempDir dir_;
  Server server_{dir_.path() + "/data", dir_.path() + "/brick"};
};

TEST_F(MountHelperTest, MountTypeShoal) {
  auto result = RunCommand({"/bin/mount", "-t", "shoal", server_.spec(), dir_.path() + "/a"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(IsMountPoint(dir_.path() + "/a"));
  auto findmnt = RunCommand({"/bin/findmnt", "-n", "-o", "FSTYPE,SOURCE", dir_.path() + "/a"});
  EXPECT_THAT(findmnt.out, ::testing::HasSubstr("fuse.shoal"));
  EXPECT_THAT(findmnt.out, ::testing::HasSubstr(":/vol"));
}

TEST_F(MountHelperTest, FstabLineWithNetdevAndBackupServers) {
  // The first server named does not answer; the backup does.
  std::string fstab = dir_.path() + "/fstab";
  std::ofstream(fstab) << "127.0.0.1:1:/vol " << dir_.path() << "/a shoal defaults,_netdev,connect-timeout=1,"
                       << "backup-servers=127.0.0.1:" << port() << " 0 0\n";
  auto result = RunCommand({"/bin/mount", "-T", fstab, dir_.path() + "/a"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::ofstream(dir_.path() + "/a/through-backup") << "ok";
  std::ifstream in(dir_.path() + "/brick/through-backup");
  std::string text;
  in >> text;
  EXPECT_EQ(text, "ok");
}

TEST_F(MountHelperTest, TwoClientsSeeTheSameFileWithTheSameInodeNumber) {
  ASSERT_EQ(RunCommand({"/bin/mount", "-t", "shoal", server_.spec(), dir_.path() + "/a"}).exit_code, 0);
  ASSERT_EQ(RunCommand({"/bin/mount", "-t", "shoal", server_.spec(), dir_.path() + "/b"}).exit_code, 0);
  std::ofstream(dir_.path() + "/a/shared.txt") << "uploaded on app server a";
  struct stat on_a, on_b;
  ASSERT_EQ(::stat((dir_.path() + "/a/shared.txt").c_str(), &on_a), 0);
  ASSERT_EQ(::stat((dir_.path() + "/b/shared.txt").c_str(), &on_b), 0);
  EXPECT_EQ(on_a.st_ino, on_b.st_ino);
  std::ifstream in(dir_.path() + "/b/shared.txt");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "uploaded on app server a");
}

TEST_F(MountHelperTest, ReadOnlyMountRefusesWrites) {
  ASSERT_EQ(RunCommand({"/bin/mount", "-t", "shoal", "-o", "ro", server_.spec(), dir_.path() + "/a"}).exit_code, 0);
  std::ofstream out(dir_.path() + "/a/nope");
  EXPECT_FALSE(out.is_open());
  EXPECT_EQ(errno, EROFS);
}

}  // namespace
}  // namespace shoal::testing
