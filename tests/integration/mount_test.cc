// A real shoald and a real FUSE mount: what a user does first, and what happens when the server
// goes away and comes back.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace shoal::testing {
namespace {

using ::testing::HasSubstr;

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

class MountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::mkdir(brick_path().c_str(), 0755);
    ::mkdir(mount_path().c_str(), 0755);
    ASSERT_TRUE(server_.Start()) << server_.error();
    CommandResult mounted = mount_.Start(server_.spec());
    ASSERT_EQ(mounted.exit_code, 0) << mounted.err;
    ASSERT_TRUE(mount_.mounted());
  }
  std::string brick_path() const { return dir_.path() + "/brick"; }
  std::string mount_path() const { return dir_.path() + "/mnt"; }
  std::string M(const std::string& name) const { return mount_path() + "/" + name; }
  std::string B(const std::string& name) const { return brick_path() + "/" + name; }

  TempDir dir_;
  Server server_{dir_.path() + "/data", dir_.path() + "/brick"};
  Mount mount_{dir_.path() + "/mnt"};
};

TEST_F(MountTest, FileWrittenThroughMountIsOnTheBrickAtItsRealPath) {
  ASSERT_EQ(::mkdir(M("uploads").c_str(), 0755), 0);
  WriteFile(M("uploads/photo.jpg"), "jpeg bytes");
  EXPECT_EQ(ReadFile(M("uploads/photo.jpg")), "jpeg bytes");
  EXPECT_EQ(ReadFile(B("uploads/photo.jpg")), "jpeg bytes");
}

TEST_F(MountTest, InodeNumberIsTheNodeIdNotTheBricks) {
  WriteFile(M("a"), "x");
  struct stat through_mount, on_brick;
  ASSERT_EQ(::stat(M("a").c_str(), &through_mount), 0);
  ASSERT_EQ(::stat(B("a").c_str(), &on_brick), 0);
  uint64_t id = 0;
  ASSERT_EQ(::getxattr(B("a").c_str(), "trusted.shoal.id", &id, sizeof id), static_cast<ssize_t>(sizeof id));
  EXPECT_EQ(through_mount.st_ino, id);
  EXPECT_NE(through_mount.st_ino, on_brick.st_ino);
}

TEST_F(MountTest, StateDirectoryCannotBeSeenOrTouched) {
  struct stat st;
  EXPECT_EQ(::stat(M(".shoal").c_str(), &st), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(::mkdir(M(".shoal").c_str(), 0755), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::open(M(".shoal/index/data.mdb").c_str(), O_RDONLY), -1);
  auto listing = RunCommand({"/bin/ls", "-a", mount_path()});
  EXPECT_THAT(listing.out, ::testing::Not(HasSubstr(".shoal")));
  // ...while on the brick it is there.
  EXPECT_EQ(::stat(B(".shoal").c_str(), &st), 0);
}

TEST_F(MountTest, ObjectPutOnTheBrickBehindShoalsBackGetsAnId) {
  WriteFile(B("dropped-in.txt"), "from a backup restore");
  EXPECT_EQ(ReadFile(M("dropped-in.txt")), "from a backup restore");
  uint64_t id = 0;
  EXPECT_EQ(::getxattr(B("dropped-in.txt").c_str(), "trusted.shoal.id", &id, sizeof id), static_cast<ssize_t>(sizeof id));
}

TEST_F(MountTest, CopyOnTheBrickWithXattrsGetsItsOwnId) {
  WriteFile(M("original"), "1");
  struct stat original;
  ASSERT_EQ(::stat(M("original").c_str(), &original), 0);
  ASSERT_EQ(RunCommand({"/bin/cp", "-a", B("original"), B("copy")}).exit_code, 0);  // copies trusted.shoal.id
  struct stat copy;
  ASSERT_EQ(::stat(M("copy").c_str(), &copy), 0);
  EXPECT_NE(copy.st_ino, original.st_ino);
}

TEST_F(MountTest, ClientReconnectsAfterServerRestartAndOpenFilesKeepWorking) {
  WriteFile(M("kept"), "before restart");
  int fd = ::open(M("kept").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  const uint16_t port = server_.port();
  server_.Kill(SIGKILL);
  ASSERT_TRUE(server_.Start(port)) << server_.error();
  char buffer[64] = {};
  ASSERT_EQ(::pread(fd, buffer, sizeof buffer, 0), 14);
  EXPECT_STREQ(buffer, "before restart");
  ASSERT_EQ(::pwrite(fd, "AFTER", 5, 0), 5);
  ::close(fd);
  EXPECT_EQ(ReadFile(B("kept")), "AFTERe restart");  // 5 bytes over "befor"
  WriteFile(M("new-after-restart"), "ok");
  EXPECT_EQ(ReadFile(M("new-after-restart")), "ok");
}

TEST_F(MountTest, OperationsFailWithEioWhileTheServerIsGoneAndWorkAgainWhenItIsBack) {
  const uint16_t port = server_.port();
  server_.Kill(SIGKILL);
  struct stat st;
  errno = 0;
  EXPECT_EQ(::stat(M("never-looked-up").c_str(), &st), -1);
  EXPECT_EQ(errno, EIO);
  EXPECT_TRUE(mount_.mounted());  // no dead mount left behind
  ASSERT_TRUE(server_.Start(port)) << server_.error();
  WriteFile(M("back"), "yes");
  EXPECT_EQ(ReadFile(M("back")), "yes");
}

TEST_F(MountTest, UnlinkedFileStaysReadableAndWritableThroughOpenDescriptor) {
  WriteFile(M("doomed"), "still here");
  int fd = ::open(M("doomed").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::unlink(M("doomed").c_str()), 0);
  struct stat st;
  EXPECT_EQ(::stat(M("doomed").c_str(), &st), -1);
  ASSERT_EQ(::pwrite(fd, "STILL", 5, 0), 5);
  char buffer[32] = {};
  ASSERT_EQ(::pread(fd, buffer, sizeof buffer, 0), 10);
  EXPECT_STREQ(buffer, "STILL here");
  ASSERT_EQ(::fstat(fd, &st), 0);
  EXPECT_EQ(st.st_nlink, 0u);
  ::close(fd);
}

TEST_F(MountTest, UmountEndsTheClient) {
  ASSERT_EQ(RunCommand({"/bin/umount", mount_path()}).exit_code, 0);
  EXPECT_FALSE(mount_.mounted());
}

}  // namespace
}  // namespace shoal::testing
