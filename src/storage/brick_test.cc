// Brick: opening, node ids (stable across rename, shared by hard links, kept across a restart),
// the index, Pin, and the names a brick accepts. Namespace operations are in
// brick_namespace_test.cc, escapes from the brick in brick_safety_test.cc, xattrs in
// brick_xattr_test.cc.
#include "storage/brick.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "storage/brick_test_util.h"

namespace shoal::storage {
namespace {

using ::testing::HasSubstr;
using testing::BrickTest;
using testing::IdXattrOf;

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::string CurrentBootId() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

void WriteRunningFile(const std::string& brick, const std::string& boot_id) {
  std::ofstream out(brick + "/.shoal/running", std::ios::trunc);
  out << boot_id << "\n";
  ASSERT_TRUE(out.good());
}

// ---- Open ----

TEST_F(BrickTest, OpenCreatesTheStateDirectory) {
  struct stat st;
  ASSERT_EQ(::stat(OnBrick(".shoal").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_TRUE(Exists(OnBrick(".shoal/index")));
}

TEST_F(BrickTest, OpenMarksTheBrickRunning) { EXPECT_TRUE(Exists(OnBrick(".shoal/running"))); }

TEST_F(BrickTest, CleanStopRemovesTheRunningMarker) {
  brick_.reset();
  EXPECT_FALSE(Exists(OnBrick(".shoal/running")));
}

TEST_F(BrickTest, RootIsNodeOne) {
  auto root = brick_->GetAttr(kRootNode);
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  EXPECT_EQ(root->ino(), 1u);
  EXPECT_TRUE(S_ISDIR(root->mode()));
  EXPECT_EQ(IdXattrOf(path_), 1u);
}

TEST_F(BrickTest, ReopenKeepsTheRoot) {
  ASSERT_NO_FATAL_FAILURE(Reopen());
  auto root = brick_->GetAttr(kRootNode);
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  EXPECT_EQ(root->ino(), 1u);
}

TEST_F(BrickTest, PathIsTheBrickDirectory) { EXPECT_EQ(brick_->path(), path_); }

TEST_F(BrickTest, StatFsReportsTheBrickFilesystem) {
  auto fs = brick_->StatFs();
  ASSERT_TRUE(fs.ok()) << fs.status().ToString();
  EXPECT_GT(fs->blocks(), 0u);
  EXPECT_GT(fs->block_size(), 0u);
  EXPECT_EQ(fs->name_max(), 255u);
}

// ---- Open errors ----

TEST_F(BrickTest, OpenOfAMissingDirectoryNamesIt) {
  const std::string missing = top_ + "/no-such-brick";
  auto opened = Brick::Open({.path = missing});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kNotFound);
  EXPECT_THAT(opened.status().message(), HasSubstr(missing));
}

TEST_F(BrickTest, OpenOfARegularFileNamesIt) {
  const std::string file = top_ + "/a-file";
  ASSERT_NO_FATAL_FAILURE(WriteFile(file, "x"));
  auto opened = Brick::Open({.path = file});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kNotDirectory);
  EXPECT_THAT(opened.status().message(), HasSubstr(file));
}

TEST_F(BrickTest, OpenOfADirectoryInsideABrickIsRefused) {
  proto::Attr dir = Mkdir(kRootNode, "sub");
  ASSERT_NE(dir.ino(), 0u);
  auto opened = Brick::Open({.path = OnBrick("sub")});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(opened.status().message(), HasSubstr("not the root of a brick"));
}

// ---- node ids ----

TEST_F(BrickTest, NewNodesGetDistinctIdsAboveTheRoot) {
  proto::Attr a = MakeFile(kRootNode, "a");
  proto::Attr b = Mkdir(kRootNode, "b");
  EXPECT_GT(a.ino(), kRootNode);
  EXPECT_GT(b.ino(), kRootNode);
  EXPECT_NE(a.ino(), b.ino());
}

TEST_F(BrickTest, IdIsRecordedOnTheObject) {
  proto::Attr a = MakeFile(kRootNode, "a");
  EXPECT_EQ(IdXattrOf(OnBrick("a")), a.ino());
}

TEST_F(BrickTest, LookupReturnsTheIdGivenAtCreation) {
  proto::Attr made = MakeFile(kRootNode, "a");
  auto found = brick_->Lookup(kRootNode, "a");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->ino(), made.ino());
}

TEST_F(BrickTest, AttrIsNeverTheBricksInode) {
  proto::Attr made = MakeFile(kRootNode, "a");
  struct stat st;
  ASSERT_EQ(::stat(OnBrick("a").c_str(), &st), 0);
  EXPECT_NE(made.ino(), st.st_ino);
}

TEST_F(BrickTest, IdIsStableAcrossRename) {
  proto::Attr made = MakeFile(kRootNode, "a");
  proto::Attr dir = Mkdir(kRootNode, "d");
  ASSERT_TRUE(Rename(kRootNode, "a", dir.ino(), "b").ok());
  auto found = brick_->Lookup(dir.ino(), "b");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->ino(), made.ino());
  auto by_id = brick_->GetAttr(made.ino());
  ASSERT_TRUE(by_id.ok()) << by_id.status().ToString();
}

TEST_F(BrickTest, HardLinksShareAnId) {
  proto::Attr made = MakeFile(kRootNode, "a");
  auto linked = Link(made.ino(), kRootNode, "b");
  ASSERT_TRUE(linked.ok()) << linked.status().ToString();
  EXPECT_EQ(linked->ino(), made.ino());
  EXPECT_EQ(linked->nlink(), 2u);
  auto found = brick_->Lookup(kRootNode, "b");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->ino(), made.ino());
}

TEST_F(BrickTest, ObjectPutBehindShoalsBackGetsAnIdOnLookup) {
  ASSERT_NO_FATAL_FAILURE(WriteFile(OnBrick("dropped"), "hello"));
  auto first = brick_->Lookup(kRootNode, "dropped");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_GT(first->ino(), kRootNode);
  EXPECT_EQ(first->size(), 5u);
  EXPECT_EQ(IdXattrOf(OnBrick("dropped")), first->ino());
  auto second = brick_->Lookup(kRootNode, "dropped");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->ino(), first->ino());
}

// Two clients walking a tree copied onto the brick behind shoal's back (a migration, a restore)
// look the same new objects up at once: each object must still get exactly one id. A correct brick
// passes this every time; a racy one fails it almost every time, so it is not a flaky test.
TEST_F(BrickTest, ConcurrentLookupsOfAnObjectWithoutAnIdAgreeOnItsId) {
  constexpr int kObjects = 500;
  for (int i = 0; i < kObjects; ++i) ASSERT_NO_FATAL_FAILURE(WriteFile(OnBrick("f" + std::to_string(i)), ""));
  std::vector<uint64_t> seen[2] = {std::vector<uint64_t>(kObjects), std::vector<uint64_t>(kObjects)};
  std::latch start(2);
  auto walk = [&](std::vector<uint64_t>& ids) {
    start.arrive_and_wait();
    for (int i = 0; i < kObjects; ++i) {
      auto found = brick_->Lookup(kRootNode, "f" + std::to_string(i));
      ids[i] = found.ok() ? found->ino() : 0;
    }
  };
  std::thread first(walk, std::ref(seen[0]));
  std::thread second(walk, std::ref(seen[1]));
  first.join();
  second.join();
  int disagreements = 0;
  for (int i = 0; i < kObjects; ++i) {
    ASSERT_NE(seen[0][i], 0u) << "f" << i;
    if (seen[0][i] != seen[1][i]) ++disagreements;
  }
  EXPECT_EQ(disagreements, 0) << "objects given two ids";
}

// cp -a on the brick copies trusted.shoal.id: the copy must not take over the original's id.
TEST_F(BrickTest, CopyWithTheIdXattrGetsANewId) {
  proto::Attr original = MakeFile(kRootNode, "a");
  ASSERT_NO_FATAL_FAILURE(WriteFile(OnBrick("copy"), ""));
  uint64_t id = original.ino();
  ASSERT_EQ(::setxattr(OnBrick("copy").c_str(), kIdXattr, &id, sizeof id, 0), 0);
  auto copy = brick_->Lookup(kRootNode, "copy");
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  EXPECT_NE(copy->ino(), original.ino());
  auto again = brick_->Lookup(kRootNode, "a");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->ino(), original.ino());
}

TEST_F(BrickTest, RemovedNodeIsStale) {
  proto::Attr made = MakeFile(kRootNode, "a");
  ASSERT_TRUE(Remove(kRootNode, "a").ok());
  auto gone = brick_->GetAttr(made.ino());
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), Code::kStale);
}

TEST_F(BrickTest, UnknownIdIsStale) {
  auto unknown = brick_->GetAttr(987654321);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), Code::kStale);
}

// ---- Pin ----

TEST_F(BrickTest, PinnedNodeOutlivesItsLastName) {
  proto::Attr made = MakeFile(kRootNode, "a");
  auto pin = brick_->Pin(made.ino());
  ASSERT_TRUE(pin.ok()) << pin.status().ToString();
  ASSERT_TRUE(Remove(kRootNode, "a").ok());
  auto attr = brick_->GetAttr(made.ino());
  ASSERT_TRUE(attr.ok()) << attr.status().ToString();
  EXPECT_EQ(attr->ino(), made.ino());
  EXPECT_EQ(attr->nlink(), 0u);
}

TEST_F(BrickTest, NodeIsStaleOnceItsPinIsDropped) {
  proto::Attr made = MakeFile(kRootNode, "a");
  {
    auto pin = brick_->Pin(made.ino());
    ASSERT_TRUE(pin.ok()) << pin.status().ToString();
    ASSERT_TRUE(Remove(kRootNode, "a").ok());
  }
  auto attr = brick_->GetAttr(made.ino());
  ASSERT_FALSE(attr.ok());
  EXPECT_EQ(attr.status().code(), Code::kStale);
}

TEST_F(BrickTest, PinOfAnUnknownNodeIsStale) {
  auto pin = brick_->Pin(987654321);
  ASSERT_FALSE(pin.ok());
  EXPECT_EQ(pin.status().code(), Code::kStale);
}

// ---- restart ----

TEST_F(BrickTest, NodesAreFoundByIdAfterReopen) {
  proto::Attr dir = Mkdir(kRootNode, "d");
  proto::Attr file = MakeFile(dir.ino(), "f");
  ASSERT_NO_FATAL_FAILURE(Reopen());
  auto found_dir = brick_->GetAttr(dir.ino());
  ASSERT_TRUE(found_dir.ok()) << found_dir.status().ToString();
  EXPECT_TRUE(S_ISDIR(found_dir->mode()));
  auto found_file = brick_->GetAttr(file.ino());
  ASSERT_TRUE(found_file.ok()) << found_file.status().ToString();
  EXPECT_TRUE(S_ISREG(found_file->mode()));
}

TEST_F(BrickTest, NodesAreFoundByIdThroughTheIndexWhenTheCacheIsTiny) {
  proto::Attr a = MakeFile(kRootNode, "a");
  proto::Attr b = MakeFile(kRootNode, "b");
  ASSERT_NO_FATAL_FAILURE(Reopen(/*node_cache_entries_max=*/1));
  for (int round = 0; round < 3; ++round) {
    auto found_a = brick_->GetAttr(a.ino());
    ASSERT_TRUE(found_a.ok()) << found_a.status().ToString();
    EXPECT_EQ(found_a->ino(), a.ino());
    auto found_b = brick_->GetAttr(b.ino());
    ASSERT_TRUE(found_b.ok()) << found_b.status().ToString();
    EXPECT_EQ(found_b->ino(), b.ino());
  }
}

// The node cache is sized from the open-file limit: a brick with more nodes than the limit allows
// descriptors still opens and creates (it once failed with EMFILE past ~20,000 files).
TEST_F(BrickTest, NodeCacheStaysWithinTheOpenFileLimit) {
  struct Restore {
    struct rlimit saved;
    ~Restore() { ::setrlimit(RLIMIT_NOFILE, &saved); }
  } restore;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &restore.saved), 0);
  struct rlimit low = restore.saved;
  low.rlim_cur = 256;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  EXPECT_EQ(NodeCacheEntriesForLimit(), 64u);
  ASSERT_NO_FATAL_FAILURE(Reopen(0));  // 0: from the limit
  std::vector<uint64_t> nodes;
  for (int i = 0; i < 600 && !HasFailure(); ++i) nodes.push_back(MakeFile(kRootNode, "f" + std::to_string(i)).ino());
  for (uint64_t node : nodes) {
    auto attr = brick_->GetAttr(node);
    ASSERT_TRUE(attr.ok()) << attr.status().ToString();
  }
}

TEST_F(BrickTest, IdsAreNotReusedAfterReopen) {
  proto::Attr before = MakeFile(kRootNode, "a");
  ASSERT_NO_FATAL_FAILURE(Reopen());
  proto::Attr after = MakeFile(kRootNode, "b");
  EXPECT_GT(after.ino(), before.ino());
}

TEST_F(BrickTest, IndexIsKeptAfterAProcessCrash) {
  proto::Attr made = MakeFile(kRootNode, "a");
  brick_.reset();
  ASSERT_NO_FATAL_FAILURE(WriteRunningFile(path_, CurrentBootId()));  // same machine boot
  ASSERT_NO_FATAL_FAILURE(Reopen());
  auto found = brick_->GetAttr(made.ino());
  ASSERT_TRUE(found.ok()) << found.status().ToString();
}

TEST_F(BrickTest, IndexIsDiscardedAfterAMachineCrash) {
  proto::Attr made = MakeFile(kRootNode, "a");
  brick_.reset();
  ASSERT_NO_FATAL_FAILURE(WriteRunningFile(path_, "00000000-0000-0000-0000-000000000000"));
  ASSERT_NO_FATAL_FAILURE(Reopen());
  auto by_id = brick_->GetAttr(made.ino());
  ASSERT_FALSE(by_id.ok()) << "the index of an earlier boot was trusted";
  EXPECT_EQ(by_id.status().code(), Code::kStale);
}

// What a brick applied survives its server's crash, but not its machine's: then it may have lost
// changes, and says so (a heal compares everything) until a heal clears it, across restarts.
TEST_F(BrickTest, UnsyncedLossIsReportedAfterAMachineCrashUntilCleared) {
  EXPECT_FALSE(brick_->unsynced_loss());
  brick_.reset();
  ASSERT_NO_FATAL_FAILURE(WriteRunningFile(path_, CurrentBootId()));  // the server crashed
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_FALSE(brick_->unsynced_loss());
  brick_.reset();
  ASSERT_NO_FATAL_FAILURE(WriteRunningFile(path_, "00000000-0000-0000-0000-000000000000"));  // the machine
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_TRUE(brick_->unsynced_loss());
  brick_.reset();
  ASSERT_NO_FATAL_FAILURE(WriteRunningFile(path_, CurrentBootId()));  // then the server, before a heal
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_TRUE(brick_->unsynced_loss());
  ASSERT_TRUE(brick_->ClearUnsyncedLoss().ok());
  EXPECT_FALSE(brick_->unsynced_loss());
}

TEST_F(BrickTest, LookupsByNameWorkAfterTheIndexIsDiscarded) {
  proto::Attr dir = Mkdir(kRootNode, "d");
  proto::Attr file = MakeFile(dir.ino(), "f");
  brick_.reset();
  ASSERT_NO_FATAL_FAILURE(WriteRunningFile(path_, "00000000-0000-0000-0000-000000000000"));
  ASSERT_NO_FATAL_FAILURE(Reopen());
  auto found_dir = brick_->Lookup(kRootNode, "d");
  ASSERT_TRUE(found_dir.ok()) << found_dir.status().ToString();
  EXPECT_EQ(found_dir->ino(), dir.ino());
  auto found_file = brick_->Lookup(dir.ino(), "f");
  ASSERT_TRUE(found_file.ok()) << found_file.status().ToString();
  EXPECT_EQ(found_file->ino(), file.ino());
  auto by_id = brick_->GetAttr(file.ino());  // re-indexed by the lookup
  ASSERT_TRUE(by_id.ok()) << by_id.status().ToString();
}

TEST_F(BrickTest, IdsAreNotReusedAfterTheIndexIsDiscarded) {
  proto::Attr before = MakeFile(kRootNode, "a");
  brick_.reset();
  ASSERT_NO_FATAL_FAILURE(WriteRunningFile(path_, "00000000-0000-0000-0000-000000000000"));
  ASSERT_NO_FATAL_FAILURE(Reopen());
  proto::Attr after = MakeFile(kRootNode, "b");
  EXPECT_GT(after.ino(), before.ino());
}

// ---- names ----

TEST(CheckNameTest, AcceptsAnOrdinaryName) { EXPECT_TRUE(CheckName(kRootNode, "index.php").ok()); }

TEST(CheckNameTest, AcceptsAName255BytesLong) { EXPECT_TRUE(CheckName(kRootNode, std::string(255, 'n')).ok()); }

TEST(CheckNameTest, AcceptsInvalidUtf8) { EXPECT_TRUE(CheckName(kRootNode, "\xff\xfe\xc3").ok()); }

TEST(CheckNameTest, AcceptsTheStateDirectoryNameBelowTheRoot) { EXPECT_TRUE(CheckName(5, ".shoal").ok()); }

TEST(CheckNameTest, AcceptsNamesThatOnlyStartWithDots) {
  EXPECT_TRUE(CheckName(kRootNode, "...").ok());
  EXPECT_TRUE(CheckName(kRootNode, ".shoal2").ok());
  EXPECT_TRUE(CheckName(kRootNode, ".htaccess").ok());
}

TEST(CheckNameErrorTest, RejectsEmpty) { EXPECT_EQ(CheckName(kRootNode, "").code(), Code::kInvalidArgument); }

TEST(CheckNameErrorTest, RejectsDot) { EXPECT_EQ(CheckName(kRootNode, ".").code(), Code::kInvalidArgument); }

TEST(CheckNameErrorTest, RejectsDotDot) { EXPECT_EQ(CheckName(kRootNode, "..").code(), Code::kInvalidArgument); }

TEST(CheckNameErrorTest, RejectsASlash) {
  EXPECT_EQ(CheckName(kRootNode, "a/b").code(), Code::kInvalidArgument);
  EXPECT_EQ(CheckName(kRootNode, "/").code(), Code::kInvalidArgument);
  EXPECT_EQ(CheckName(kRootNode, "a/").code(), Code::kInvalidArgument);
}

TEST(CheckNameErrorTest, RejectsANulByte) {
  EXPECT_EQ(CheckName(kRootNode, std::string("a\0b", 3)).code(), Code::kInvalidArgument);
}

TEST(CheckNameErrorTest, RejectsAName256BytesLong) {
  Status checked = CheckName(kRootNode, std::string(256, 'n'));
  EXPECT_EQ(checked.code(), Code::kNameTooLong);
  EXPECT_EQ(ErrnoFromCode(checked.code()), ENAMETOOLONG);
}

TEST(CheckNameErrorTest, HidesTheStateDirectoryAtTheRoot) {
  EXPECT_EQ(CheckName(kRootNode, ".shoal").code(), Code::kNotFound);
}

}  // namespace
}  // namespace shoal::storage
