// Brick: namespace operations behave like the system calls they stand for.
#include <fcntl.h>
#include <stdio.h>  // RENAME_*
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "storage/brick.h"
#include "storage/brick_test_util.h"

namespace shoal::storage {
namespace {

using testing::BrickTest;
using testing::kCallerGid;
using testing::kCallerUid;
using testing::SetAttrOf;

using BrickNamespaceTest = BrickTest;

// ---- MakeNode ----

TEST_F(BrickNamespaceTest, MkdirMakesADirectoryWithTheCallersModeAndOwner) {
  proto::Attr dir = Mkdir(kRootNode, "d", 0750);
  EXPECT_TRUE(S_ISDIR(dir.mode()));
  EXPECT_EQ(dir.mode() & 07777, 0750u);
  EXPECT_EQ(dir.uid(), kCallerUid);
  EXPECT_EQ(dir.gid(), kCallerGid);
  EXPECT_EQ(dir.nlink(), 2u);
}

TEST_F(BrickNamespaceTest, MkdirRaisesTheParentsLinkCount) {
  proto::Attr parent = Mkdir(kRootNode, "p");
  Mkdir(parent.ino(), "child");
  auto attr = brick_->GetAttr(parent.ino());
  ASSERT_TRUE(attr.ok()) << attr.status().ToString();
  EXPECT_EQ(attr->nlink(), 3u);
}

TEST_F(BrickNamespaceTest, MknodMakesAFifo) {
  auto fifo = MakeNode(kRootNode, "fifo", S_IFIFO | 0600);
  ASSERT_TRUE(fifo.ok()) << fifo.status().ToString();
  EXPECT_TRUE(S_ISFIFO(fifo->mode()));
  EXPECT_EQ(fifo->mode() & 07777, 0600u);
}

TEST_F(BrickNamespaceTest, MknodMakesARegularFile) {
  auto file = MakeNode(kRootNode, "f", S_IFREG | 0640);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_TRUE(S_ISREG(file->mode()));
  EXPECT_EQ(file->size(), 0u);
}

TEST_F(BrickNamespaceTest, MknodMakesADeviceWithItsNumber) {
  auto dev = MakeNode(kRootNode, "null", S_IFCHR | 0666, makedev(1, 3));
  ASSERT_TRUE(dev.ok()) << dev.status().ToString();
  EXPECT_TRUE(S_ISCHR(dev->mode()));
  EXPECT_EQ(dev->rdev(), makedev(1, 3));
}

TEST_F(BrickNamespaceTest, NewNodeUnderASetgidDirectoryTakesTheDirectorysGroup) {
  proto::Attr dir = Mkdir(kRootNode, "shared", 0775);
  ASSERT_EQ(::chown(OnBrick("shared").c_str(), 0, 4242), 0);
  ASSERT_EQ(::chmod(OnBrick("shared").c_str(), 02775), 0);  // mkdir(2) drops S_ISGID from its mode
  proto::Attr file = MakeFile(dir.ino(), "f");
  EXPECT_EQ(file.uid(), kCallerUid);
  EXPECT_EQ(file.gid(), 4242u);
}

TEST_F(BrickNamespaceTest, NamesWithInvalidUtf8Work) {
  const std::string name = "caf\xe9-\xff\xfe";
  proto::Attr made = MakeFile(kRootNode, name);
  auto found = brick_->Lookup(kRootNode, name);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->ino(), made.ino());
  struct stat st;
  EXPECT_EQ(::stat(OnBrick(name).c_str(), &st), 0);
}

TEST_F(BrickNamespaceTest, NameOf255BytesWorks) {
  const std::string name(255, 'n');
  proto::Attr made = MakeFile(kRootNode, name);
  auto found = brick_->Lookup(kRootNode, name);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->ino(), made.ino());
}

// ---- Create ----

TEST_F(BrickNamespaceTest, CreateGivesAWritableDescriptor) {
  auto created = Create(kRootNode, "f", 0640, O_RDWR);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_TRUE(S_ISREG(created->attr.mode()));
  EXPECT_EQ(created->attr.mode() & 07777, 0640u);
  EXPECT_EQ(created->attr.uid(), kCallerUid);
  EXPECT_EQ(created->attr.gid(), kCallerGid);
  ASSERT_EQ(::write(created->fd.get(), "data", 4), 4);
  auto attr = brick_->GetAttr(created->attr.ino());
  ASSERT_TRUE(attr.ok()) << attr.status().ToString();
  EXPECT_EQ(attr->size(), 4u);
}

TEST_F(BrickNamespaceTest, CreateWithoutExclOpensAnExistingFile) {
  proto::Attr first = MakeFile(kRootNode, "f");
  auto again = Create(kRootNode, "f", 0600, O_RDWR);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->attr.ino(), first.ino());
  EXPECT_EQ(again->attr.mode() & 07777, 0644u);  // the existing file's mode, as open(2) keeps it
}

TEST_F(BrickNamespaceTest, OpenFileGivesADescriptorOfTheNode) {
  proto::Attr made = MakeFile(kRootNode, "f");
  ASSERT_NO_FATAL_FAILURE(WriteFile(OnBrick("f"), "content"));
  auto opened = brick_->OpenFile(made.ino(), O_RDONLY);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->attr.ino(), made.ino());
  char buffer[16] = {};
  EXPECT_EQ(::read(opened->fd.get(), buffer, sizeof buffer), 7);
  EXPECT_STREQ(buffer, "content");
}

TEST_F(BrickNamespaceTest, OpenFileIgnoresCreationFlags) {
  proto::Attr made = MakeFile(kRootNode, "f");
  auto opened = brick_->OpenFile(made.ino(), O_RDWR | O_CREAT | O_EXCL);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
}

// ---- Symlink and ReadLink ----

TEST_F(BrickNamespaceTest, SymlinkRecordsItsTarget) {
  auto link = MakeSymlink(kRootNode, "l", "some/where");
  ASSERT_TRUE(link.ok()) << link.status().ToString();
  EXPECT_TRUE(S_ISLNK(link->mode()));
  EXPECT_EQ(link->uid(), kCallerUid);
  auto target = brick_->ReadLink(link->ino());
  ASSERT_TRUE(target.ok()) << target.status().ToString();
  EXPECT_EQ(*target, "some/where");
}

TEST_F(BrickNamespaceTest, SymlinkToADanglingTargetWorks) {
  auto link = MakeSymlink(kRootNode, "l", "/no/such/thing");
  ASSERT_TRUE(link.ok()) << link.status().ToString();
  auto found = brick_->Lookup(kRootNode, "l");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->ino(), link->ino());
}

// ---- Link ----

TEST_F(BrickNamespaceTest, LinkRaisesTheLinkCount) {
  proto::Attr made = MakeFile(kRootNode, "a");
  proto::Attr dir = Mkdir(kRootNode, "d");
  auto linked = Link(made.ino(), dir.ino(), "b");
  ASSERT_TRUE(linked.ok()) << linked.status().ToString();
  EXPECT_EQ(linked->nlink(), 2u);
  struct stat a, b;
  ASSERT_EQ(::stat(OnBrick("a").c_str(), &a), 0);
  ASSERT_EQ(::stat(OnBrick("d/b").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
}

TEST_F(BrickNamespaceTest, RemovingOneHardLinkKeepsTheOther) {
  proto::Attr made = MakeFile(kRootNode, "a");
  ASSERT_TRUE(Link(made.ino(), kRootNode, "b").ok());
  ASSERT_TRUE(Remove(kRootNode, "a").ok());
  auto attr = brick_->GetAttr(made.ino());
  ASSERT_TRUE(attr.ok()) << attr.status().ToString();
  EXPECT_EQ(attr->nlink(), 1u);
  auto found = brick_->Lookup(kRootNode, "b");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->ino(), made.ino());
}

TEST_F(BrickNamespaceTest, RemovingOneHardLinkKeepsTheOtherReachableAfterReopen) {
  proto::Attr made = MakeFile(kRootNode, "a");
  ASSERT_TRUE(Link(made.ino(), kRootNode, "b").ok());
  ASSERT_TRUE(Remove(kRootNode, "a").ok());
  ASSERT_NO_FATAL_FAILURE(Reopen());
  auto attr = brick_->GetAttr(made.ino());
  ASSERT_TRUE(attr.ok()) << attr.status().ToString();
  EXPECT_EQ(attr->nlink(), 1u);
}

// ---- Remove ----

TEST_F(BrickNamespaceTest, RemoveUnlinksAFile) {
  MakeFile(kRootNode, "a");
  ASSERT_TRUE(Remove(kRootNode, "a").ok());
  auto found = brick_->Lookup(kRootNode, "a");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), Code::kNotFound);
}

TEST_F(BrickNamespaceTest, RemoveDirectoryRemovesAnEmptyDirectory) {
  proto::Attr dir = Mkdir(kRootNode, "d");
  ASSERT_TRUE(Remove(kRootNode, "d", /*directory=*/true).ok());
  auto gone = brick_->GetAttr(dir.ino());
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), Code::kStale);
}

// ---- Rename ----

TEST_F(BrickNamespaceTest, RenameMovesTheName) {
  MakeFile(kRootNode, "a");
  ASSERT_TRUE(Rename(kRootNode, "a", kRootNode, "b").ok());
  EXPECT_EQ(brick_->Lookup(kRootNode, "a").status().code(), Code::kNotFound);
  EXPECT_TRUE(brick_->Lookup(kRootNode, "b").ok());
}

TEST_F(BrickNamespaceTest, RenameOfADirectoryKeepsItsChildrensIds) {
  proto::Attr dir = Mkdir(kRootNode, "d");
  proto::Attr file = MakeFile(dir.ino(), "f");
  proto::Attr other = Mkdir(kRootNode, "other");
  ASSERT_TRUE(Rename(kRootNode, "d", other.ino(), "moved").ok());
  auto found = brick_->Lookup(dir.ino(), "f");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->ino(), file.ino());
}

TEST_F(BrickNamespaceTest, RenameOverAFileReplacesIt) {
  proto::Attr a = MakeFile(kRootNode, "a");
  proto::Attr b = MakeFile(kRootNode, "b");
  ASSERT_TRUE(Rename(kRootNode, "a", kRootNode, "b").ok());
  auto found = brick_->Lookup(kRootNode, "b");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->ino(), a.ino());
  auto replaced = brick_->GetAttr(b.ino());
  ASSERT_FALSE(replaced.ok());
  EXPECT_EQ(replaced.status().code(), Code::kStale);
}

TEST_F(BrickNamespaceTest, RenameOverAnEmptyDirectoryReplacesIt) {
  proto::Attr a = Mkdir(kRootNode, "a");
  proto::Attr b = Mkdir(kRootNode, "b");
  ASSERT_TRUE(Rename(kRootNode, "a", kRootNode, "b").ok());
  auto found = brick_->Lookup(kRootNode, "b");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->ino(), a.ino());
  auto replaced = brick_->GetAttr(b.ino());
  ASSERT_FALSE(replaced.ok());
  EXPECT_EQ(replaced.status().code(), Code::kStale);
}

TEST_F(BrickNamespaceTest, RenameOverAHardLinkKeepsTheReplacedNode) {
  proto::Attr a = MakeFile(kRootNode, "a");
  proto::Attr b = MakeFile(kRootNode, "b");
  ASSERT_TRUE(Link(b.ino(), kRootNode, "b2").ok());
  ASSERT_TRUE(Rename(kRootNode, "a", kRootNode, "b").ok());
  auto replaced = brick_->GetAttr(b.ino());
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  EXPECT_EQ(replaced->nlink(), 1u);
}

TEST_F(BrickNamespaceTest, RenameExchangeSwapsAndKeepsBothIds) {
  proto::Attr a = MakeFile(kRootNode, "a");
  proto::Attr b = Mkdir(kRootNode, "b");
  ASSERT_TRUE(Rename(kRootNode, "a", kRootNode, "b", RENAME_EXCHANGE).ok());
  auto now_a = brick_->Lookup(kRootNode, "a");
  auto now_b = brick_->Lookup(kRootNode, "b");
  ASSERT_TRUE(now_a.ok() && now_b.ok());
  EXPECT_EQ(now_a->ino(), b.ino());
  EXPECT_EQ(now_b->ino(), a.ino());
  EXPECT_TRUE(brick_->GetAttr(a.ino()).ok());
  EXPECT_TRUE(brick_->GetAttr(b.ino()).ok());
}

TEST_F(BrickNamespaceTest, RenameNoreplaceToAFreeName) {
  proto::Attr a = MakeFile(kRootNode, "a");
  ASSERT_TRUE(Rename(kRootNode, "a", kRootNode, "b", RENAME_NOREPLACE).ok());
  auto found = brick_->Lookup(kRootNode, "b");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->ino(), a.ino());
}

// rename(2) of a name onto itself succeeds and changes nothing.
TEST_F(BrickNamespaceTest, RenameOfAFileOntoItselfKeepsIt) {
  proto::Attr a = MakeFile(kRootNode, "a");
  ASSERT_TRUE(Rename(kRootNode, "a", kRootNode, "a").ok());
  auto attr = brick_->GetAttr(a.ino());
  ASSERT_TRUE(attr.ok()) << attr.status().ToString();
  EXPECT_EQ(attr->nlink(), 1u);
}

TEST_F(BrickNamespaceTest, RenameOfADirectoryOntoItselfKeepsIt) {
  proto::Attr d = Mkdir(kRootNode, "d");
  ASSERT_TRUE(Rename(kRootNode, "d", kRootNode, "d").ok());
  auto attr = brick_->GetAttr(d.ino());
  ASSERT_TRUE(attr.ok()) << attr.status().ToString();
  EXPECT_TRUE(S_ISDIR(attr->mode()));
}

TEST_F(BrickNamespaceTest, RenameOverOneOfItsOwnHardLinksKeepsTheNode) {
  proto::Attr a = MakeFile(kRootNode, "a");
  ASSERT_TRUE(Link(a.ino(), kRootNode, "b").ok());
  ASSERT_TRUE(Rename(kRootNode, "a", kRootNode, "b").ok());
  auto attr = brick_->GetAttr(a.ino());
  ASSERT_TRUE(attr.ok()) << attr.status().ToString();
  EXPECT_EQ(attr->nlink(), 2u);  // rename(2) of two links to one file does nothing
}

TEST_F(BrickNamespaceTest, PinnedNodeOutlivesBeingReplacedByRename) {
  proto::Attr victim = MakeFile(kRootNode, "victim");
  MakeFile(kRootNode, "a");
  auto pin = brick_->Pin(victim.ino());
  ASSERT_TRUE(pin.ok()) << pin.status().ToString();
  ASSERT_TRUE(Rename(kRootNode, "a", kRootNode, "victim").ok());
  auto attr = brick_->GetAttr(victim.ino());
  ASSERT_TRUE(attr.ok()) << attr.status().ToString();
  EXPECT_EQ(attr->nlink(), 0u);
}

TEST_F(BrickNamespaceTest, PinnedDirectoryOutlivesRmdir) {
  proto::Attr d = Mkdir(kRootNode, "d");
  auto pin = brick_->Pin(d.ino());
  ASSERT_TRUE(pin.ok()) << pin.status().ToString();
  ASSERT_TRUE(Remove(kRootNode, "d", /*directory=*/true).ok());
  auto attr = brick_->GetAttr(d.ino());
  ASSERT_TRUE(attr.ok()) << attr.status().ToString();
  EXPECT_TRUE(S_ISDIR(attr->mode()));
}

// ---- SetAttr ----

TEST_F(BrickNamespaceTest, SetAttrChangesTheMode) {
  proto::Attr made = MakeFile(kRootNode, "f");
  proto::SetAttrRequest request = SetAttrOf(made.ino(), proto::SET_ATTR_MODE);
  request.set_mode(S_IFREG | 04711);
  auto attr = brick_->SetAttr(request, -1);
  ASSERT_TRUE(attr.ok()) << attr.status().ToString();
  EXPECT_EQ(attr->mode(), S_IFREG | 04711u);
}

TEST_F(BrickNamespaceTest, SetAttrChangesTheOwner) {
  proto::Attr made = MakeFile(kRootNode, "f");
  proto::SetAttrRequest request = SetAttrOf(made.ino(), proto::SET_ATTR_UID | proto::SET_ATTR_GID);
  request.set_uid(33);
  request.set_gid(34);
  auto attr = brick_->SetAttr(request, -1);
  ASSERT_TRUE(attr.ok()) << attr.status().ToString();
  EXPECT_EQ(attr->uid(), 33u);
  EXPECT_EQ(attr->gid(), 34u);
}

TEST_F(BrickNamespaceTest, SetAttrChangesOnlyTheGroup) {
  proto::Attr made = MakeFile(kRootNode, "f");
  proto::SetAttrRequest request = SetAttrOf(made.ino(), proto::SET_ATTR_GID);
  request.set_uid(99);  // not in fields: ignored
  request.set_gid(34);
  auto attr = brick_->SetAttr(request, -1);
  ASSERT_TRUE(attr.ok()) << attr.status().ToString();
  EXPECT_EQ(attr->uid(), kCallerUid);
  EXPECT_EQ(attr->gid(), 34u);
}

TEST_F(BrickNamespaceTest, SetAttrTruncatesByNode) {
  proto::Attr made = MakeFile(kRootNode, "f");
  ASSERT_NO_FATAL_FAILURE(WriteFile(OnBrick("f"), "0123456789"));
  proto::SetAttrRequest request = SetAttrOf(made.ino(), proto::SET_ATTR_SIZE);
  request.set_size(3);
  auto attr = brick_->SetAttr(request, -1);
  ASSERT_TRUE(attr.ok()) << attr.status().ToString();
  EXPECT_EQ(attr->size(), 3u);
}

TEST_F(BrickNamespaceTest, SetAttrExtendsThroughAnOpenHandle) {
  auto created = Create(kRootNode, "f", 0644, O_RDWR);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  proto::SetAttrRequest request = SetAttrOf(created->attr.ino(), proto::SET_ATTR_SIZE);
  request.set_size(1 << 20);
  auto attr = brick_->SetAttr(request, created->fd.get());
  ASSERT_TRUE(attr.ok()) << attr.status().ToString();
  EXPECT_EQ(attr->size(), 1u << 20);
}

TEST_F(BrickNamespaceTest, SetAttrSetsExactTimes) {
  proto::Attr made = MakeFile(kRootNode, "f");
  proto::SetAttrRequest request = SetAttrOf(made.ino(), proto::SET_ATTR_ATIME | proto::SET_ATTR_MTIME);
  request.set_atime_ns(1'600'000'000'123'456'789);
  request.set_mtime_ns(1'500'000'000'000'000'001);
  auto attr = brick_->SetAttr(request, -1);
  ASSERT_TRUE(attr.ok()) << attr.status().ToString();
  EXPECT_EQ(attr->atime_ns(), 1'600'000'000'123'456'789);
  EXPECT_EQ(attr->mtime_ns(), 1'500'000'000'000'000'001);
}

TEST_F(BrickNamespaceTest, SetAttrLeavesTheOtherTimeAlone) {
  proto::Attr made = MakeFile(kRootNode, "f");
  proto::SetAttrRequest request = SetAttrOf(made.ino(), proto::SET_ATTR_MTIME);
  request.set_mtime_ns(1'000'000'000);
  request.set_atime_ns(5);  // not in fields: ignored
  auto attr = brick_->SetAttr(request, -1);
  ASSERT_TRUE(attr.ok()) << attr.status().ToString();
  EXPECT_EQ(attr->mtime_ns(), 1'000'000'000);
  EXPECT_EQ(attr->atime_ns(), made.atime_ns());
}

TEST_F(BrickNamespaceTest, SetAttrSetsTimesToNow) {
  proto::Attr made = MakeFile(kRootNode, "f");
  proto::SetAttrRequest old = SetAttrOf(made.ino(), proto::SET_ATTR_MTIME);
  old.set_mtime_ns(1'000'000'000);
  ASSERT_TRUE(brick_->SetAttr(old, -1).ok());
  auto attr = brick_->SetAttr(SetAttrOf(made.ino(), proto::SET_ATTR_MTIME_NOW), -1);
  ASSERT_TRUE(attr.ok()) << attr.status().ToString();
  EXPECT_GE(attr->mtime_ns(), made.mtime_ns());  // a file system clock, not a duration
}

// A file dated before 1970 (tar archives carry such times; touch -d 1969-12-31 makes one).
TEST_F(BrickNamespaceTest, SetAttrSetsATimeBeforeTheEpoch) {
  proto::Attr made = MakeFile(kRootNode, "f");
  proto::SetAttrRequest request = SetAttrOf(made.ino(), proto::SET_ATTR_MTIME);
  request.set_mtime_ns(-1'500'000'000);  // 1969-12-31T23:59:58.5Z
  auto attr = brick_->SetAttr(request, -1);
  ASSERT_TRUE(attr.ok()) << attr.status().ToString();
  EXPECT_EQ(attr->mtime_ns(), -1'500'000'000);
}

}  // namespace
}  // namespace shoal::storage
