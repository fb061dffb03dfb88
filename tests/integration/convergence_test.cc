// The convergence checker on plain directory trees (no shoald): identical trees compare equal,
// and each kind of difference a heal could leave behind is reported, naming the path and every
// brick's value. Runs as root (trusted.* xattrs, chown, mknod).
#include "tests/integration/convergence.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace shoal::test {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr int64_t kMtimeNs = 1'700'000'000'123'456'789;

// A fresh directory under /tmp, removed with everything in it at the end.
class ScratchDir {
 public:
  ScratchDir() {
    char name[] = "/tmp/shoal-convergence-XXXXXX";
    if (::mkdtemp(name) == nullptr) std::abort();
    path_ = name;
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc | std::ios::binary);
  out << text;
}

void SetNodeId(const std::string& path, uint64_t id) {
  ASSERT_EQ(::lsetxattr(path.c_str(), "trusted.shoal.id", &id, sizeof id, 0), 0) << path;
}

// Sets every object's atime and mtime below `root` (and its own) to kMtimeNs + offset, children
// before their directory, so the directories' times stay as set.
void SetAllTimes(const std::string& root, int64_t offset_ns = 0) {
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) paths.push_back(entry.path());
  paths.push_back(root);
  int64_t ns = kMtimeNs + offset_ns;
  struct timespec times[2] = {{ns / 1'000'000'000, ns % 1'000'000'000}, {ns / 1'000'000'000, ns % 1'000'000'000}};
  for (auto it = paths.rbegin(); it != paths.rend(); ++it)
    ASSERT_EQ(::utimensat(AT_FDCWD, it->c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << *it;
}

// A small brick of a WordPress-like volume: directories, files, a hard link, a symlink, a fifo,
// a user xattr, another owner and mode, node ids on everything, and shoal's own state directory.
void BuildBrick(const std::string& b) {
  ASSERT_EQ(::mkdir((b + "/wp-content").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((b + "/wp-content/uploads").c_str(), 0775), 0);
  WriteFile(b + "/index.php", "<?php require 'wp-blog-header.php';\n");
  WriteFile(b + "/wp-config.php", "<?php define('DB_NAME', 'wp');\n");
  ASSERT_EQ(::chmod((b + "/wp-config.php").c_str(), 0640), 0);
  ASSERT_EQ(::chown((b + "/wp-config.php").c_str(), 33, 33), 0);
  WriteFile(b + "/wp-content/uploads/photo.jpg", std::string(100'000, 'j'));
  ASSERT_EQ(::link((b + "/index.php").c_str(), (b + "/index-link.php").c_str()), 0);
  ASSERT_EQ(::symlink("wp-content/uploads/photo.jpg", (b + "/latest.jpg").c_str()), 0);
  ASSERT_EQ(::mkfifo((b + "/pipe").c_str(), 0600), 0);
  ASSERT_EQ(::setxattr((b + "/index.php").c_str(), "user.mime", "text/x-php", 10, 0), 0);
  uint64_t id = 1;
  SetNodeId(b, id++);
  for (const char* path : {"/wp-content", "/wp-content/uploads", "/index.php", "/wp-config.php",
                           "/wp-content/uploads/photo.jpg", "/latest.jpg", "/pipe"})
    SetNodeId(b + path, id++);
  // Brick-private state: never compared, so it may differ between bricks.
  ASSERT_EQ(::mkdir((b + "/.shoal").c_str(), 0700), 0);
  WriteFile(b + "/.shoal/oplog", b);
  SetAllTimes(b);
}

class ConvergenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::getuid(), 0u) << "needs root (trusted.* xattrs, chown)";
    for (const std::string& b : bricks_) {
      ASSERT_EQ(::mkdir(b.c_str(), 0755), 0);
      BuildBrick(b);
    }
  }
  std::vector<std::string> CompareTwo() const { return CompareBricks({bricks_[0], bricks_[1]}); }

  ScratchDir dir_;
  const std::vector<std::string> bricks_{dir_.path() + "/b1", dir_.path() + "/b2", dir_.path() + "/b3"};
  const std::string& b1_ = bricks_[0];
  const std::string& b2_ = bricks_[1];
};

TEST_F(ConvergenceTest, IdenticalBricksCompareEqual) {
  EXPECT_THAT(CompareBricks(bricks_), IsEmpty());
}

TEST_F(ConvergenceTest, StateDirectoryIsNotCompared) {
  WriteFile(b2_ + "/.shoal/extra", "only here");
  SetAllTimes(b2_);
  EXPECT_THAT(CompareBricks(bricks_), IsEmpty());
}

TEST_F(ConvergenceTest, ScanSeesEveryObjectWithoutFollowingSymlinks) {
  auto objects = ScanBrick(b1_);
  EXPECT_EQ(objects.count(".shoal"), 0u);
  ASSERT_EQ(objects.size(), 9u);  // ".", 2 directories, 4 files (one linked twice), symlink, fifo
  const BrickObject& root = objects.at(".");
  EXPECT_EQ(root.type, ObjectType::kDirectory);
  EXPECT_EQ(root.mtime_ns, kMtimeNs);
  const BrickObject& link = objects.at("latest.jpg");
  EXPECT_EQ(link.type, ObjectType::kSymlink);
  EXPECT_EQ(link.symlink_target, "wp-content/uploads/photo.jpg");
  EXPECT_EQ(link.content_hash, "");
  const BrickObject& config = objects.at("wp-config.php");
  EXPECT_EQ(config.mode, 0640u);
  EXPECT_EQ(config.uid, 33u);
  EXPECT_EQ(config.gid, 33u);
  EXPECT_EQ(objects.at("pipe").type, ObjectType::kFifo);
  const BrickObject& index = objects.at("index.php");
  EXPECT_EQ(index.nlink, 2u);
  EXPECT_EQ(index.content_hash, objects.at("index-link.php").content_hash);
  EXPECT_NE(index.content_hash, config.content_hash);
  EXPECT_EQ(index.xattrs.at("user.mime"), "text/x-php");
  uint64_t id = 0;
  ASSERT_EQ(index.xattrs.at("trusted.shoal.id").size(), sizeof id);
  EXPECT_EQ(objects.at("wp-content/uploads/photo.jpg").size, 100'000u);
}

TEST_F(ConvergenceTest, ContentOfTheSameSizeIsReported) {
  WriteFile(b2_ + "/wp-content/uploads/photo.jpg", std::string(99'999, 'j') + "J");
  SetAllTimes(b2_);
  auto differences = CompareTwo();
  ASSERT_THAT(differences, SizeIs(1));
  EXPECT_THAT(differences[0], AllOf(HasSubstr("path wp-content/uploads/photo.jpg: content xxh3-128:"),
                                    HasSubstr(" on " + b1_), HasSubstr(" on " + b2_)));
}

TEST_F(ConvergenceTest, ModeIsReported) {
  ASSERT_EQ(::chmod((b2_ + "/wp-config.php").c_str(), 0644), 0);
  EXPECT_THAT(CompareTwo(), ElementsAre("path wp-config.php: mode 0640 on " + b1_ + ", 0644 on " + b2_));
}

TEST_F(ConvergenceTest, OwnerIsReported) {
  ASSERT_EQ(::lchown((b2_ + "/wp-config.php").c_str(), 0, 33), 0);
  EXPECT_THAT(CompareTwo(), ElementsAre("path wp-config.php: uid 33 on " + b1_ + ", 0 on " + b2_));
}

TEST_F(ConvergenceTest, MtimeIsReportedInNanoseconds) {
  struct timespec times[2] = {{0, UTIME_OMIT}, {1'700'000'000, 123'456'790}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (b2_ + "/index.php").c_str(), times, 0), 0);
  auto differences = CompareTwo();
  // index-link.php is the same inode.
  EXPECT_THAT(differences, ElementsAre(
      "path index-link.php: mtime 1700000000123456789 on " + b1_ + ", 1700000000123456790 on " + b2_,
      "path index.php: mtime 1700000000123456789 on " + b1_ + ", 1700000000123456790 on " + b2_));
}

TEST_F(ConvergenceTest, RootDirectoryMtimeIsReported) {
  SetAllTimes(b2_);
  struct timespec times[2] = {{0, UTIME_OMIT}, {1'600'000'000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, b2_.c_str(), times, 0), 0);
  EXPECT_THAT(CompareTwo(), ElementsAre("path .: mtime 1700000000123456789 on " + b1_ + ", 1600000000000000000 on " + b2_));
}

TEST_F(ConvergenceTest, XattrValueAndAbsenceAreReported) {
  ASSERT_EQ(::setxattr((b2_ + "/index.php").c_str(), "user.mime", "text/plain", 10, 0), 0);
  ASSERT_EQ(::setxattr((b1_ + "/wp-config.php").c_str(), "user.secret", "\x01\x02", 2, 0), 0);
  EXPECT_THAT(CompareTwo(), ElementsAre(
      "path index-link.php: xattr user.mime \"text/x-php\" on " + b1_ + ", \"text/plain\" on " + b2_,
      "path index.php: xattr user.mime \"text/x-php\" on " + b1_ + ", \"text/plain\" on " + b2_,
      "path wp-config.php: xattr user.secret 0x0102 on " + b1_ + ", absent on " + b2_));
}

TEST_F(ConvergenceTest, NodeIdIsReported) {
  SetNodeId(b2_ + "/wp-content", 77);
  EXPECT_THAT(CompareTwo(), ElementsAre("path wp-content: xattr trusted.shoal.id node id 2 on " + b1_ +
                                        ", node id 77 on " + b2_));
}

TEST_F(ConvergenceTest, MissingFileIsReported) {
  ASSERT_EQ(::unlink((bricks_[2] + "/wp-content/uploads/photo.jpg").c_str()), 0);
  SetAllTimes(bricks_[2]);
  // (On tmpfs the directory's size differs too; on ext4 it does not shrink.)
  EXPECT_THAT(CompareBricks(bricks_), Contains("path wp-content/uploads/photo.jpg: missing on " + bricks_[2] +
                                               " (present on " + b1_ + ", " + b2_ + ")"));
}

TEST_F(ConvergenceTest, ExtraFileIsReported) {
  WriteFile(b1_ + "/wp-content/stray.txt", "only on b1");
  SetAllTimes(b1_);
  EXPECT_THAT(CompareTwo(), Contains("path wp-content/stray.txt: missing on " + b2_ + " (present on " + b1_ + ")"));
}

TEST_F(ConvergenceTest, SymlinkTargetIsReported) {
  ASSERT_EQ(::unlink((b2_ + "/latest.jpg").c_str()), 0);
  ASSERT_EQ(::symlink("wp-content/uploads/photo.jpe", (b2_ + "/latest.jpg").c_str()), 0);
  SetNodeId(b2_ + "/latest.jpg", 7);
  SetAllTimes(b2_);
  EXPECT_THAT(CompareTwo(), ElementsAre("path latest.jpg: symlink target \"wp-content/uploads/photo.jpg\" on " +
                                        b1_ + ", \"wp-content/uploads/photo.jpe\" on " + b2_));
}

TEST_F(ConvergenceTest, HardLinkHealedAsACopyIsReportedByNlink) {
  // Same paths, contents, xattrs and times, but two inodes on b2 where b1 has one.
  std::string link = b2_ + "/index-link.php";
  ASSERT_EQ(::unlink(link.c_str()), 0);
  WriteFile(link, "<?php require 'wp-blog-header.php';\n");
  ASSERT_EQ(::setxattr(link.c_str(), "user.mime", "text/x-php", 10, 0), 0);
  SetNodeId(link, 4);
  SetAllTimes(b2_);
  EXPECT_THAT(CompareTwo(), ElementsAre("path index-link.php: nlink 2 on " + b1_ + ", 1 on " + b2_,
                                        "path index.php: nlink 2 on " + b1_ + ", 1 on " + b2_));
}

TEST_F(ConvergenceTest, TypeIsReportedAloneWhenItDiffers) {
  ASSERT_EQ(::unlink((b2_ + "/pipe").c_str()), 0);
  WriteFile(b2_ + "/pipe", "");
  SetNodeId(b2_ + "/pipe", 8);
  SetAllTimes(b2_);
  EXPECT_THAT(CompareTwo(), ElementsAre("path pipe: type fifo on " + b1_ + ", regular on " + b2_));
}

TEST_F(ConvergenceTest, OddBrickOutOfThreeIsNamedWithEveryValue) {
  ASSERT_EQ(::chmod((bricks_[2] + "/index.php").c_str(), 0600), 0);
  EXPECT_THAT(CompareBricks(bricks_),
              Contains("path index.php: mode 0644 on " + b1_ + ", 0644 on " + b2_ + ", 0600 on " + bricks_[2]));
}

TEST_F(ConvergenceTest, BrickThatCannotBeScannedIsADifference) {
  std::string gone = dir_.path() + "/no-such-brick";
  EXPECT_THAT(CompareBricks({b1_, gone}),
              ElementsAre(AllOf(HasSubstr("brick " + gone + ": cannot scan: "), HasSubstr("lstat"))));
  EXPECT_THROW(ScanBrick(gone), std::system_error);
}

TEST_F(ConvergenceTest, DirectorySizesCanBeLeftOut) {
  // ext4 directories keep the size they grew to: what a heal by copying would not reproduce.
  std::string uploads = b2_ + "/wp-content/uploads";
  for (int i = 0; i < 300; ++i) WriteFile(uploads + "/tmp-" + std::to_string(i) + "-with-a-long-name", "");
  for (int i = 0; i < 300; ++i) ASSERT_EQ(::unlink((uploads + "/tmp-" + std::to_string(i) + "-with-a-long-name").c_str()), 0);
  SetAllTimes(b2_);
  struct stat before, after;
  ASSERT_EQ(::stat((b1_ + "/wp-content/uploads").c_str(), &before), 0);
  ASSERT_EQ(::stat(uploads.c_str(), &after), 0);
  if (before.st_size == after.st_size) GTEST_SKIP() << "this filesystem shrinks directories";
  EXPECT_THAT(CompareTwo(), ElementsAre(HasSubstr("path wp-content/uploads: size ")));
  EXPECT_THAT(CompareBricks({b1_, b2_}, {.compare_directory_sizes = false}), IsEmpty());
}

}  // namespace
}  // namespace shoal::test
