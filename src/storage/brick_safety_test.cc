// Brick: no request reaches outside the brick. The decoy is a directory next to the brick
// (outside_) holding a file "passwd"; symlinks on the brick point at it, as a hostile or careless
// user could arrange, and every operation on such a symlink must act on the symlink itself or
// fail, never on what it points at.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "storage/brick.h"
#include "storage/brick_test_util.h"

namespace shoal::storage {
namespace {

using testing::BrickTest;
using testing::IdXattrOf;

class BrickSafetyTest : public BrickTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(BrickTest::SetUp());
    decoy_ = outside_ + "/passwd";
    ASSERT_NO_FATAL_FAILURE(WriteFile(decoy_, "root:x:0:0\n"));
    ASSERT_EQ(::stat(decoy_.c_str(), &decoy_before_), 0);
  }

  // A symlink made on the brick behind shoal's back, looked up through shoal.
  proto::Attr PlantSymlink(const std::string& name, const std::string& target) {
    EXPECT_EQ(::symlink(target.c_str(), OnBrick(name).c_str()), 0) << name;
    auto found = brick_->Lookup(kRootNode, name);
    EXPECT_TRUE(found.ok()) << found.status().ToString();
    if (!found.ok()) return {};
    EXPECT_TRUE(S_ISLNK(found->mode()));
    return *found;
  }

  void ExpectDecoyUntouched() {
    struct stat now;
    ASSERT_EQ(::stat(decoy_.c_str(), &now), 0);
    EXPECT_EQ(now.st_size, decoy_before_.st_size);
    EXPECT_EQ(now.st_mode, decoy_before_.st_mode);
    EXPECT_EQ(now.st_uid, decoy_before_.st_uid);
    EXPECT_EQ(now.st_nlink, decoy_before_.st_nlink);
    EXPECT_EQ(now.st_mtim.tv_sec, decoy_before_.st_mtim.tv_sec);
    EXPECT_EQ(now.st_mtim.tv_nsec, decoy_before_.st_mtim.tv_nsec);
    EXPECT_EQ(IdXattrOf(decoy_), 0u) << "shoal wrote its id onto a file outside the brick";
    EXPECT_EQ(IdXattrOf(outside_), 0u) << "shoal wrote its id onto a directory outside the brick";
  }

  std::string decoy_;
  struct stat decoy_before_;
};

// ---- lookups ----

TEST_F(BrickSafetyTest, LookupOfASymlinkGivesTheSymlink) {
  proto::Attr link = PlantSymlink("escape", outside_);
  EXPECT_TRUE(S_ISLNK(link.mode()));
  EXPECT_NE(IdXattrOf(OnBrick("escape")), 0u);
  ExpectDecoyUntouched();
}

TEST_F(BrickSafetyTest, LookupUnderASymlinkToADirectoryOutsideFails) {
  proto::Attr link = PlantSymlink("escape", outside_);
  auto found = brick_->Lookup(link.ino(), "passwd");
  ASSERT_FALSE(found.ok()) << "reached " << decoy_ << " through a symlink on the brick";
  EXPECT_EQ(found.status().code(), Code::kNotDirectory);
  ExpectDecoyUntouched();
}

TEST_F(BrickSafetyTest, LookupUnderASymlinkFailsWhenResolvedThroughTheIndex) {
  proto::Attr link = PlantSymlink("escape", outside_);
  ASSERT_NO_FATAL_FAILURE(Reopen(/*node_cache_entries_max=*/1));
  auto found = brick_->Lookup(link.ino(), "passwd");
  ASSERT_FALSE(found.ok()) << "reached " << decoy_ << " through a symlink on the brick";
  EXPECT_EQ(found.status().code(), Code::kNotDirectory);
  ExpectDecoyUntouched();
}

TEST_F(BrickSafetyTest, LookupUnderASymlinkMadeThroughShoalFails) {
  auto link = MakeSymlink(kRootNode, "escape", outside_);
  ASSERT_TRUE(link.ok()) << link.status().ToString();
  auto found = brick_->Lookup(link->ino(), "passwd");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), Code::kNotDirectory);
  ExpectDecoyUntouched();
}

TEST_F(BrickSafetyTest, LookupUnderASymlinkToTheRootFails) {
  proto::Attr link = PlantSymlink("slash", "/");
  auto found = brick_->Lookup(link.ino(), "etc");
  ASSERT_FALSE(found.ok()) << "reached /etc through a symlink on the brick";
  EXPECT_EQ(found.status().code(), Code::kNotDirectory);
}

TEST_F(BrickSafetyTest, LookupUnderASymlinkToEtcFails) {
  proto::Attr link = PlantSymlink("etc", "/etc");
  auto found = brick_->Lookup(link.ino(), "passwd");
  ASSERT_FALSE(found.ok()) << "reached /etc/passwd through a symlink on the brick";
  EXPECT_EQ(found.status().code(), Code::kNotDirectory);
  EXPECT_EQ(IdXattrOf("/etc"), 0u);
}

TEST_F(BrickSafetyTest, RelativeSymlinkUpwardsIsNotFollowed) {
  proto::Attr link = PlantSymlink("up", "../outside");
  auto found = brick_->Lookup(link.ino(), "passwd");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), Code::kNotDirectory);
  ExpectDecoyUntouched();
}

TEST_F(BrickSafetyTest, ReadLinkGivesTheTargetVerbatim) {
  proto::Attr link = PlantSymlink("escape", outside_);
  auto target = brick_->ReadLink(link.ino());
  ASSERT_TRUE(target.ok()) << target.status().ToString();
  EXPECT_EQ(*target, outside_);
}

// ---- operations on a symlink to a file outside ----

TEST_F(BrickSafetyTest, GetAttrOfASymlinkIsTheSymlinks) {
  proto::Attr link = PlantSymlink("passwd", decoy_);
  auto attr = brick_->GetAttr(link.ino());
  ASSERT_TRUE(attr.ok()) << attr.status().ToString();
  EXPECT_TRUE(S_ISLNK(attr->mode()));
  EXPECT_EQ(attr->size(), decoy_.size());
}

TEST_F(BrickSafetyTest, OpenFileOfASymlinkDoesNotOpenItsTarget) {
  proto::Attr link = PlantSymlink("passwd", decoy_);
  auto opened = brick_->OpenFile(link.ino(), O_RDWR);
  EXPECT_FALSE(opened.ok()) << "opened " << decoy_ << " through a symlink on the brick";
  ExpectDecoyUntouched();
}

TEST_F(BrickSafetyTest, CreateOverASymlinkDoesNotOpenItsTarget) {
  ASSERT_EQ(::symlink(decoy_.c_str(), OnBrick("passwd").c_str()), 0);
  auto created = Create(kRootNode, "passwd", 0644, O_RDWR | O_TRUNC);
  EXPECT_FALSE(created.ok()) << "opened " << decoy_ << " through a symlink on the brick";
  ExpectDecoyUntouched();
}

TEST_F(BrickSafetyTest, TruncateOfASymlinkDoesNotTruncateItsTarget) {
  proto::Attr link = PlantSymlink("passwd", decoy_);
  proto::SetAttrRequest request;
  request.set_node(link.ino());
  request.set_fields(proto::SET_ATTR_SIZE);
  request.set_size(0);
  (void)brick_->SetAttr(request, -1);
  ExpectDecoyUntouched();
}

TEST_F(BrickSafetyTest, ChmodOfASymlinkDoesNotChangeItsTarget) {
  proto::Attr link = PlantSymlink("passwd", decoy_);
  proto::SetAttrRequest request;
  request.set_node(link.ino());
  request.set_fields(proto::SET_ATTR_MODE);
  request.set_mode(0777);
  (void)brick_->SetAttr(request, -1);
  ExpectDecoyUntouched();
}

TEST_F(BrickSafetyTest, ChownOfASymlinkDoesNotChangeItsTarget) {
  proto::Attr link = PlantSymlink("passwd", decoy_);
  proto::SetAttrRequest request;
  request.set_node(link.ino());
  request.set_fields(proto::SET_ATTR_UID);
  request.set_uid(4242);
  (void)brick_->SetAttr(request, -1);
  ExpectDecoyUntouched();
}

TEST_F(BrickSafetyTest, UtimesOfASymlinkDoesNotChangeItsTarget) {
  proto::Attr link = PlantSymlink("passwd", decoy_);
  proto::SetAttrRequest request;
  request.set_node(link.ino());
  request.set_fields(proto::SET_ATTR_MTIME);
  request.set_mtime_ns(1'000'000'000);
  (void)brick_->SetAttr(request, -1);
  ExpectDecoyUntouched();
}

TEST_F(BrickSafetyTest, SetXattrOnASymlinkDoesNotReachItsTarget) {
  proto::Attr link = PlantSymlink("passwd", decoy_);
  proto::SetXattrRequest request;
  request.set_node(link.ino());
  request.set_name("trusted.planted");
  request.set_value("x");
  (void)brick_->SetXattr(request);
  EXPECT_LT(::getxattr(decoy_.c_str(), "trusted.planted", nullptr, 0), 0);
  ExpectDecoyUntouched();
}

TEST_F(BrickSafetyTest, LinkOfASymlinkLinksTheSymlink) {
  proto::Attr link = PlantSymlink("passwd", decoy_);
  auto linked = Link(link.ino(), kRootNode, "second");
  ASSERT_TRUE(linked.ok()) << linked.status().ToString();
  EXPECT_TRUE(S_ISLNK(linked->mode()));
  struct stat st;
  ASSERT_EQ(::lstat(OnBrick("second").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ExpectDecoyUntouched();
}

TEST_F(BrickSafetyTest, RemoveOfASymlinkRemovesTheSymlink) {
  PlantSymlink("passwd", decoy_);
  ASSERT_TRUE(Remove(kRootNode, "passwd").ok());
  struct stat st;
  EXPECT_NE(::lstat(OnBrick("passwd").c_str(), &st), 0);
  ExpectDecoyUntouched();
}

// ---- a symlink used as a parent directory ----

TEST_F(BrickSafetyTest, RemoveUnderASymlinkFails) {
  proto::Attr link = PlantSymlink("etc", outside_);
  Status removed = Remove(link.ino(), "passwd");
  EXPECT_EQ(removed.code(), Code::kNotDirectory);
  ExpectDecoyUntouched();
}

TEST_F(BrickSafetyTest, CreateUnderASymlinkFails) {
  proto::Attr link = PlantSymlink("etc", outside_);
  auto created = Create(link.ino(), "planted", 0644, O_RDWR);
  EXPECT_FALSE(created.ok());
  struct stat st;
  EXPECT_NE(::lstat((outside_ + "/planted").c_str(), &st), 0) << "created a file outside the brick";
}

TEST_F(BrickSafetyTest, MkdirUnderASymlinkFails) {
  proto::Attr link = PlantSymlink("etc", outside_);
  EXPECT_FALSE(MakeNode(link.ino(), "planted", S_IFDIR | 0755).ok());
  struct stat st;
  EXPECT_NE(::lstat((outside_ + "/planted").c_str(), &st), 0) << "made a directory outside the brick";
}

TEST_F(BrickSafetyTest, RenameIntoASymlinkFails) {
  proto::Attr link = PlantSymlink("etc", outside_);
  MakeFile(kRootNode, "a");
  EXPECT_EQ(Rename(kRootNode, "a", link.ino(), "passwd").code(), Code::kNotDirectory);
  ExpectDecoyUntouched();
}

TEST_F(BrickSafetyTest, RenameOutOfASymlinkFails) {
  proto::Attr link = PlantSymlink("etc", outside_);
  EXPECT_EQ(Rename(link.ino(), "passwd", kRootNode, "stolen").code(), Code::kNotDirectory);
  ExpectDecoyUntouched();
}

TEST_F(BrickSafetyTest, LinkIntoASymlinkFails) {
  proto::Attr link = PlantSymlink("etc", outside_);
  proto::Attr a = MakeFile(kRootNode, "a");
  auto linked = Link(a.ino(), link.ino(), "planted");
  EXPECT_FALSE(linked.ok());
  struct stat st;
  EXPECT_NE(::lstat((outside_ + "/planted").c_str(), &st), 0) << "linked a file outside the brick";
}

TEST_F(BrickSafetyTest, XattrsOfASymlinkAreNotItsTargets) {
  ASSERT_EQ(::setxattr(decoy_.c_str(), "trusted.secret", "s", 1, 0), 0);
  proto::Attr link = PlantSymlink("passwd", decoy_);
  proto::GetXattrRequest get;
  get.set_node(link.ino());
  get.set_name("trusted.secret");
  get.set_size(64);
  EXPECT_FALSE(brick_->GetXattr(get).ok()) << "read an xattr of a file outside the brick";
  proto::ListXattrRequest list;
  list.set_node(link.ino());
  list.set_size(4096);
  auto listed = brick_->ListXattr(list);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(listed->names().find("trusted.secret"), std::string::npos);
}

// ---- ids carried by objects on the brick ----

// A copy of the brick's root kept inside the brick (cp -a brick brick/backup, or a restored backup)
// carries trusted.shoal.id = 1: it must not become the root.
TEST_F(BrickSafetyTest, DirectoryCarryingTheRootIdDoesNotBecomeTheRoot) {
  MakeFile(kRootNode, "index.php");
  ASSERT_EQ(::mkdir(OnBrick("backup").c_str(), 0755), 0);
  const uint64_t root_id = kRootNode;
  ASSERT_EQ(::setxattr(OnBrick("backup").c_str(), kIdXattr, &root_id, sizeof root_id, 0), 0);
  auto backup = brick_->Lookup(kRootNode, "backup");
  ASSERT_TRUE(backup.ok()) << backup.status().ToString();
  EXPECT_NE(backup->ino(), kRootNode);
  auto still_there = brick_->Lookup(kRootNode, "index.php");
  EXPECT_TRUE(still_there.ok()) << "the root now resolves elsewhere: " << still_there.status().ToString();
}

// ---- the state directory ----

TEST_F(BrickSafetyTest, StateDirectoryCannotBeLookedUp) {
  auto found = brick_->Lookup(kRootNode, ".shoal");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), Code::kNotFound);
}

TEST_F(BrickSafetyTest, StateDirectoryCannotBeRemoved) {
  EXPECT_FALSE(Remove(kRootNode, ".shoal", /*directory=*/true).ok());
  struct stat st;
  EXPECT_EQ(::stat(OnBrick(".shoal").c_str(), &st), 0);
}

TEST_F(BrickSafetyTest, StateDirectoryCannotBeRenamedAway) {
  EXPECT_FALSE(Rename(kRootNode, ".shoal", kRootNode, "stolen").ok());
  struct stat st;
  EXPECT_EQ(::stat(OnBrick(".shoal").c_str(), &st), 0);
}

TEST_F(BrickSafetyTest, NothingCanBeRenamedOntoTheStateDirectory) {
  MakeFile(kRootNode, "a");
  Status renamed = Rename(kRootNode, "a", kRootNode, ".shoal");
  EXPECT_EQ(renamed.code(), Code::kNotPermitted);
  struct stat st;
  ASSERT_EQ(::stat(OnBrick(".shoal").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST_F(BrickSafetyTest, NothingCanBeLinkedAsTheStateDirectory) {
  proto::Attr a = MakeFile(kRootNode, "a");
  auto linked = Link(a.ino(), kRootNode, ".shoal");
  ASSERT_FALSE(linked.ok());
  EXPECT_EQ(linked.status().code(), Code::kNotPermitted);
}

TEST_F(BrickSafetyTest, StateDirectoryNameIsFreeBelowTheRoot) {
  proto::Attr dir = Mkdir(kRootNode, "d");
  proto::Attr inner = Mkdir(dir.ino(), ".shoal");
  auto found = brick_->Lookup(dir.ino(), ".shoal");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->ino(), inner.ino());
}

TEST_F(BrickSafetyTest, DotDotOfTheRootIsRefused) {
  auto found = brick_->Lookup(kRootNode, "..");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), Code::kInvalidArgument);
}

TEST_F(BrickSafetyTest, APathIsRefused) {
  auto found = brick_->Lookup(kRootNode, "../outside");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace shoal::storage
