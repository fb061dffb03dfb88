// Brick: the operations a heal uses — listing with node ids and xattrs, making an entry under a
// given node id (or moving or linking the node found elsewhere), removing a tree, block hashes.
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

using ::testing::ElementsAre;

class BrickHealTest : public testing::BrickTest {
 protected:
  static proto::HealEntry Entry(const std::string& name, NodeId id, uint32_t mode, uint32_t uid = 0, uint32_t gid = 0) {
    proto::HealEntry entry;
    entry.set_name(name);
    entry.mutable_attr()->set_ino(id);
    entry.mutable_attr()->set_mode(mode);
    entry.mutable_attr()->set_uid(uid);
    entry.mutable_attr()->set_gid(gid);
    return entry;
  }
  std::vector<std::string> Names(NodeId dir) {
    auto listed = brick_->HealList(dir);
    EXPECT_TRUE(listed.ok()) << listed.status().ToString();
    std::vector<std::string> names;
    if (listed.ok())
      for (const auto& entry : listed->entries()) names.push_back(entry.name());
    return names;
  }
};

// A dirty pass (server/tree_sync.h) finds the directory to compare for a changed node by its id.
TEST_F(BrickHealTest, ParentOfFindsTheDirectoryHoldingANode) {
  proto::Attr dir = Mkdir(kRootNode, "d");
  proto::Attr sub = Mkdir(dir.ino(), "sub");
  proto::Attr file = MakeFile(sub.ino(), "f");
  proto::Attr top = MakeFile(kRootNode, "top");
  EXPECT_EQ(*brick_->ParentOf(file.ino()), sub.ino());
  EXPECT_EQ(*brick_->ParentOf(sub.ino()), dir.ino());
  EXPECT_EQ(*brick_->ParentOf(dir.ino()), kRootNode);
  EXPECT_EQ(*brick_->ParentOf(top.ino()), kRootNode);
  EXPECT_EQ(brick_->ParentOf(kRootNode).status().code(), Code::kNotFound);

  auto open = brick_->OpenFile(file.ino(), O_RDONLY);  // the file stays, with no name
  ASSERT_TRUE(open.ok()) << open.status().ToString();
  ASSERT_TRUE(Remove(sub.ino(), "f").ok());
  EXPECT_FALSE(brick_->ParentOf(file.ino()).ok());
}

TEST_F(BrickHealTest, ListsEntriesInNameOrderWithIdsAndXattrsButNotTheStateDirectory) {
  const proto::Attr b = MakeFile(kRootNode, "b");
  const proto::Attr a = Mkdir(kRootNode, "a");
  ASSERT_EQ(::setxattr(OnBrick("b").c_str(), "user.tag", "v", 1, 0), 0);
  auto listed = brick_->HealList(kRootNode);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->entries_size(), 2);
  EXPECT_EQ(listed->entries(0).name(), "a");
  EXPECT_EQ(listed->entries(0).attr().ino(), a.ino());
  EXPECT_EQ(listed->entries(1).attr().ino(), b.ino());
  ASSERT_EQ(listed->entries(1).xattrs_size(), 1);  // trusted.shoal.id is the brick's own
  EXPECT_EQ(listed->entries(1).xattrs(0).name(), "user.tag");
  EXPECT_TRUE(listed->end());
  EXPECT_EQ(listed->self().attr().ino(), kRootNode);

  auto after = brick_->HealList(kRootNode, "a");
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->entries_size(), 1);
  EXPECT_EQ(after->entries(0).name(), "b");
}

TEST_F(BrickHealTest, PutMakesTheEntryUnderItsNodeIdWithOwnerModeAndXattrs) {
  proto::HealEntry entry = Entry("made", 4242, S_IFREG | 0640, 1234, 5678);
  proto::Xattr* xattr = entry.add_xattrs();
  xattr->set_name("user.colour");
  xattr->set_value("blue");
  ASSERT_TRUE(brick_->HealPut(kRootNode, entry).ok());
  struct stat st;
  ASSERT_EQ(::lstat(OnBrick("made").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode, S_IFREG | 0640u);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(testing::IdXattrOf(OnBrick("made")), 4242u);
  char value[16] = {};
  EXPECT_EQ(::getxattr(OnBrick("made").c_str(), "user.colour", value, sizeof value), 4);
  auto attr = brick_->GetAttr(4242);
  ASSERT_TRUE(attr.ok()) << attr.status().ToString();

  // Put again without the xattr and another mode: the same object, changed.
  entry.clear_xattrs();
  entry.mutable_attr()->set_mode(S_IFREG | 0600);
  ASSERT_TRUE(brick_->HealPut(kRootNode, entry).ok());
  ASSERT_EQ(::lstat(OnBrick("made").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode, S_IFREG | 0600u);
  EXPECT_LT(::getxattr(OnBrick("made").c_str(), "user.colour", value, sizeof value), 0);
}

TEST_F(BrickHealTest, PutReplacesAnotherNodeUnderTheName) {
  Mkdir(kRootNode, "name");
  ASSERT_TRUE(brick_->HealPut(kRootNode, Entry("name", 777, S_IFREG | 0644)).ok());
  struct stat st;
  ASSERT_EQ(::lstat(OnBrick("name").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(testing::IdXattrOf(OnBrick("name")), 777u);
}

TEST_F(BrickHealTest, PutMovesADirectoryFoundElsewhereAndLinksAFile) {
  const proto::Attr old_dir = Mkdir(kRootNode, "old");
  const proto::Attr moving = Mkdir(old_dir.ino(), "moving");
  MakeFile(moving.ino(), "content");
  const proto::Attr file = MakeFile(kRootNode, "file");
  const proto::Attr target = Mkdir(kRootNode, "target");

  ASSERT_TRUE(brick_->HealPut(target.ino(), Entry("moved", moving.ino(), S_IFDIR | 0755)).ok());
  EXPECT_THAT(Names(old_dir.ino()), ElementsAre());
  EXPECT_THAT(Names(moving.ino()), ElementsAre("content"));  // moved with what it holds
  EXPECT_EQ(testing::IdXattrOf(OnBrick("target/moved")), moving.ino());

  ASSERT_TRUE(brick_->HealPut(target.ino(), Entry("second-name", file.ino(), S_IFREG | 0644)).ok());
  struct stat st;
  ASSERT_EQ(::lstat(OnBrick("file").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);
}

TEST_F(BrickHealTest, RemoveTakesAWholeTreeAndForgetsItsNodes) {
  const proto::Attr top = Mkdir(kRootNode, "top");
  const proto::Attr deep = Mkdir(Mkdir(top.ino(), "a").ino(), "b");
  const proto::Attr file = MakeFile(deep.ino(), "f");
  ASSERT_TRUE(brick_->HealRemove(kRootNode, "top").ok());
  struct stat st;
  EXPECT_NE(::lstat(OnBrick("top").c_str(), &st), 0);
  EXPECT_FALSE(brick_->GetAttr(file.ino()).ok());
  EXPECT_FALSE(brick_->GetAttr(deep.ino()).ok());
  EXPECT_TRUE(brick_->HealRemove(kRootNode, "top").ok());  // already gone: nothing to do
  EXPECT_FALSE(brick_->HealRemove(kRootNode, ".shoal").ok());  // never the brick's own state
  EXPECT_EQ(::lstat((path_ + "/.shoal").c_str(), &st), 0);
}

TEST_F(BrickHealTest, WriteSetsContentAndSizeAndHashesFollowTheBlocks) {
  const proto::Attr file = MakeFile(kRootNode, "data");
  const std::string block(4096, 'x');
  ASSERT_TRUE(brick_->HealWrite(file.ino(), 0, block + block, 8192).ok());
  auto hashes = brick_->HealHashes(file.ino(), 4096);
  ASSERT_TRUE(hashes.ok()) << hashes.status().ToString();
  EXPECT_EQ(hashes->size(), 8192u);
  ASSERT_EQ(hashes->hashes_size(), 2);
  EXPECT_EQ(hashes->hashes(0), hashes->hashes(1));
  ASSERT_TRUE(brick_->HealWrite(file.ino(), 4096, std::string(4096, 'y'), 6000).ok());
  hashes = brick_->HealHashes(file.ino(), 4096);
  ASSERT_TRUE(hashes.ok());
  EXPECT_EQ(hashes->size(), 6000u);
  ASSERT_EQ(hashes->hashes_size(), 2);
  EXPECT_NE(hashes->hashes(0), hashes->hashes(1));
  auto second = brick_->HealHashes(file.ino(), 4096, /*first_block=*/1, /*blocks_max=*/1);  // a part of the file
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->hashes_size(), 1);
  EXPECT_EQ(second->hashes(0), hashes->hashes(1));
}

TEST_F(BrickHealTest, ScrubRebuildsTheIndexAndReportsWhatItCannotRepair) {
  const proto::Attr a = MakeFile(kRootNode, "a");
  const proto::Attr d = Mkdir(kRootNode, "d");
  const proto::Attr c = MakeFile(d.ino(), "c");
  const proto::Attr gone = MakeFile(kRootNode, "gone");
  // The index lost (as after a machine crash), a file removed and one added behind shoal's
  // back, and a copy that kept its original's node id (cp -a on the brick).
  brick_.reset();
  ASSERT_EQ(::unlink((path_ + "/.shoal/index/data.mdb").c_str()), 0);
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ASSERT_TRUE(brick_->GetAttr(gone.ino()).ok() == false);  // not indexed, so not found by id
  ASSERT_EQ(::unlink(OnBrick("gone").c_str()), 0);
  WriteFile(OnBrick("stray"), "behind shoal's back");
  WriteFile(OnBrick("copy"), "copied");
  const uint64_t id = a.ino();
  ASSERT_EQ(::setxattr(OnBrick("copy").c_str(), kIdXattr, &id, sizeof id, 0), 0);
  EXPECT_FALSE(brick_->GetAttr(c.ino()).ok());

  auto report = brick_->Scrub();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->objects(), 5u);      // a, copy, d, d/c, stray
  EXPECT_EQ(report->index_added(), 3u);  // a, d, d/c
  EXPECT_EQ(report->without_id(), 1u);
  EXPECT_EQ(report->duplicate_ids(), 1u);
  EXPECT_THAT(std::vector<std::string>(report->examples().begin(), report->examples().end()),
              ::testing::UnorderedElementsAre(::testing::HasSubstr("stray"), ::testing::HasSubstr("copy")));
  EXPECT_TRUE(brick_->GetAttr(c.ino()).ok());  // found by id again

  // Scrubbed, the index is whole: a second scrub finds nothing to add.
  report = brick_->Scrub();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->index_added(), 0u);
  EXPECT_EQ(report->index_removed(), 0u);
}

TEST_F(BrickHealTest, ScrubDropsEntriesWhoseObjectIsGone) {
  const proto::Attr gone = MakeFile(kRootNode, "gone");
  ASSERT_TRUE(brick_->GetAttr(gone.ino()).ok());
  brick_.reset();  // closes the descriptors that would keep it reachable
  ASSERT_EQ(::unlink(OnBrick("gone").c_str()), 0);
  ASSERT_NO_FATAL_FAILURE(Reopen());
  auto report = brick_->Scrub();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->index_removed(), 1u);
  EXPECT_EQ(report->objects(), 0u);
}

}  // namespace
}  // namespace shoal::storage
