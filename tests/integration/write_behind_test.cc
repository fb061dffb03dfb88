// Write-behind on real mounts: writes answered before the server has them must still be seen by
// the other mount after close, survive a server restart, and never lose an error (a full brick).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace shoal::testing {
namespace {

constexpr size_t kMiB = 1 << 20;

// Bytes that differ from one offset to the next, so a misplaced or missing block shows up.
std::string Pattern(size_t size, int seed = 0) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>('a' + (i * 7 + i / 4096 + seed) % 26);
  return bytes;
}

// Writes `data` in 1 MiB write(2) calls; returns the first errno, or 0.
int WriteInMiBs(int fd, const std::string& data) {
  for (size_t at = 0; at < data.size(); at += kMiB) {
    size_t size = std::min(kMiB, data.size() - at);
    if (::write(fd, data.data() + at, size) != static_cast<ssize_t>(size)) return errno;
  }
  return 0;
}

class WriteBehindMountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::mkdir(brick().c_str(), 0755);
    ::mkdir((dir_.path() + "/a").c_str(), 0755);
    ::mkdir((dir_.path() + "/b").c_str(), 0755);
  }
  void StartServerAndMounts() {
    ASSERT_TRUE(server_.Start()) << server_.error();
    for (Mount* mount : {&a_, &b_}) {
      CommandResult mounted = mount->Start(server_.spec());
      ASSERT_EQ(mounted.exit_code, 0) << mounted.err;
    }
  }
  std::string brick() const { return dir_.path() + "/brick"; }
  std::string A(const std::string& name) const { return a_.path() + "/" + name; }
  std::string B(const std::string& name) const { return b_.path() + "/" + name; }

  TempDir dir_;
  Server server_{dir_.path() + "/data", dir_.path() + "/brick"};
  Mount a_{dir_.path() + "/a"};
  Mount b_{dir_.path() + "/b"};
};

TEST_F(WriteBehindMountTest, OtherMountSeesEveryByteAfterClose) {
  StartServerAndMounts();
  const std::string data = Pattern(24 * kMiB + 123);
  int fd = ::open(A("f").c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(WriteInMiBs(fd, data), 0);
  ASSERT_EQ(::close(fd), 0);
  struct stat st {};
  ASSERT_EQ(::stat(B("f").c_str(), &st), 0);
  EXPECT_EQ(static_cast<size_t>(st.st_size), data.size());
  EXPECT_TRUE(ReadFile(B("f")) == data) << "the other mount read something else";
  EXPECT_TRUE(ReadFile(brick() + "/f") == data) << "the brick holds something else";
}

TEST_F(WriteBehindMountTest, OverwritesOfTheSameRangeLandInTheOrderWritten) {
  StartServerAndMounts();
  int fd = ::open(A("f").c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  std::string expected = Pattern(4 * kMiB);
  ASSERT_EQ(WriteInMiBs(fd, expected), 0);
  // Many overlapping rewrites of the same first megabyte, then of ranges straddling others: only
  // the last of each may show.
  for (int round = 1; round <= 20; ++round) {
    std::string block = Pattern(kMiB, round);
    off_t at = (round % 4) * static_cast<off_t>(kMiB / 2);
    ASSERT_EQ(::pwrite(fd, block.data(), block.size(), at), static_cast<ssize_t>(block.size()));
    expected.replace(at, block.size(), block);
  }
  ASSERT_EQ(::close(fd), 0);
  EXPECT_TRUE(ReadFile(B("f")) == expected);
}

TEST_F(WriteBehindMountTest, PendingWritesSurviveAServerRestart) {
  StartServerAndMounts();
  const std::string data = Pattern(16 * kMiB);
  int fd = ::open(A("f").c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(WriteInMiBs(fd, data.substr(0, 8 * kMiB)), 0);
  const uint16_t port = server_.port();
  server_.Kill(SIGKILL);  // some of those writes may not have reached it: they are sent again
  ASSERT_TRUE(server_.Start(port)) << server_.error();
  ASSERT_EQ(WriteInMiBs(fd, data.substr(8 * kMiB)), 0);
  EXPECT_EQ(::fsync(fd), 0) << std::strerror(errno);
  EXPECT_EQ(::close(fd), 0) << std::strerror(errno);
  EXPECT_TRUE(ReadFile(brick() + "/f") == data) << "a write answered before the restart was lost";
}

// ---------------------------------------------------------------- errors: a full brick

class FullBrickTest : public WriteBehindMountTest {
 protected:
  void SetUp() override {
    WriteBehindMountTest::SetUp();
    ASSERT_EQ(RunCommand({"/bin/mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", brick()}).exit_code, 0);
    tmpfs_ = true;
    StartServerAndMounts();
  }
  void TearDown() override {
    if (tmpfs_) {
      RunCommand({"/bin/umount", "-l", a_.path()});
      RunCommand({"/bin/umount", "-l", b_.path()});
      server_.Kill(SIGKILL);
      RunCommand({"/bin/umount", "-l", brick()});
    }
  }
  bool tmpfs_ = false;
};

// 6 MiB into 4: the error comes back from a write, or at the latest from close.
TEST_F(FullBrickTest, ErrorOfAWriteAnsweredEarlyIsReturnedByALaterWriteOrClose) {
  int fd = ::open(A("filler").c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  int write_error = WriteInMiBs(fd, Pattern(6 * kMiB));
  int close_error = ::close(fd) == 0 ? 0 : errno;
  EXPECT_TRUE(write_error == ENOSPC || close_error == ENOSPC)
      << "write: " << std::strerror(write_error) << ", close: " << std::strerror(close_error);
}

TEST_F(FullBrickTest, ErrorOfAWriteAnsweredEarlyIsReturnedByALaterWriteOrFsync) {
  int fd = ::open(A("filler").c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  int write_error = WriteInMiBs(fd, Pattern(6 * kMiB));
  int fsync_error = ::fsync(fd) == 0 ? 0 : errno;
  EXPECT_TRUE(write_error == ENOSPC || fsync_error == ENOSPC)
      << "write: " << std::strerror(write_error) << ", fsync: " << std::strerror(fsync_error);
  EXPECT_EQ(::close(fd), 0) << "the error was returned already";
  // The mount is fine once there is room again.
  ASSERT_EQ(::unlink(A("filler").c_str()), 0);
  fd = ::open(A("after").c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(WriteInMiBs(fd, Pattern(2 * kMiB)), 0);
  EXPECT_EQ(::close(fd), 0);
  EXPECT_TRUE(ReadFile(B("after")) == Pattern(2 * kMiB));
}

}  // namespace
}  // namespace shoal::testing
