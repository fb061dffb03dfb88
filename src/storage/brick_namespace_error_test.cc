// Brick: namespace operations fail as the system calls they stand for do.
#include <fcntl.h>
#include <stdio.h>  // RENAME_*
#include <sys/stat.h>

#include <string>

#include <gtest/gtest.h>

#include "storage/brick.h"
#include "storage/brick_test_util.h"

namespace shoal::storage {
namespace {

using testing::SetAttrOf;

using BrickNamespaceErrorTest = testing::BrickTest;

TEST_F(BrickNamespaceErrorTest, MkdirOfAnExistingNameIsExists) {
  Mkdir(kRootNode, "d");
  auto again = MakeNode(kRootNode, "d", S_IFDIR | 0755);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Code::kExists);
}

TEST_F(BrickNamespaceErrorTest, MkdirInAStaleParentIsStale) {
  auto made = MakeNode(987654321, "d", S_IFDIR | 0755);
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().code(), Code::kStale);
}

TEST_F(BrickNamespaceErrorTest, MkdirInAFileIsNotDirectory) {
  proto::Attr file = MakeFile(kRootNode, "f");
  auto made = MakeNode(file.ino(), "d", S_IFDIR | 0755);
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().code(), Code::kNotDirectory);
}

TEST_F(BrickNamespaceErrorTest, MkdirOfTheStateDirectoryIsNotPermitted) {
  auto made = MakeNode(kRootNode, ".shoal", S_IFDIR | 0755);
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().code(), Code::kNotPermitted);
}

TEST_F(BrickNamespaceErrorTest, MkdirOfDotDotIsInvalid) {
  auto made = MakeNode(kRootNode, "..", S_IFDIR | 0755);
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().code(), Code::kInvalidArgument);
}

TEST_F(BrickNamespaceErrorTest, MkdirOfA256ByteNameIsNameTooLong) {
  auto made = MakeNode(kRootNode, std::string(256, 'n'), S_IFDIR | 0755);
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().code(), Code::kNameTooLong);
}

TEST_F(BrickNamespaceErrorTest, LookupOfA256ByteNameIsNameTooLong) {
  auto found = brick_->Lookup(kRootNode, std::string(256, 'n'));
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), Code::kNameTooLong);
}

TEST_F(BrickNamespaceErrorTest, LookupInAFileIsNotDirectory) {
  proto::Attr file = MakeFile(kRootNode, "f");
  auto found = brick_->Lookup(file.ino(), "x");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), Code::kNotDirectory);
}

TEST_F(BrickNamespaceErrorTest, LookupOfAMissingNameIsNotFound) {
  auto found = brick_->Lookup(kRootNode, "missing");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), Code::kNotFound);
}

TEST_F(BrickNamespaceErrorTest, CreateWithExclOfAnExistingNameIsExists) {
  MakeFile(kRootNode, "f");
  auto again = Create(kRootNode, "f", 0644, O_RDWR | O_EXCL);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Code::kExists);
}

TEST_F(BrickNamespaceErrorTest, SymlinkWithAnEmptyTargetIsInvalid) {
  auto link = MakeSymlink(kRootNode, "l", "");
  ASSERT_FALSE(link.ok());
  EXPECT_EQ(link.status().code(), Code::kInvalidArgument);
}

TEST_F(BrickNamespaceErrorTest, SymlinkWithANulInTheTargetIsInvalid) {
  auto link = MakeSymlink(kRootNode, "l", std::string("a\0b", 3));
  ASSERT_FALSE(link.ok());
  EXPECT_EQ(link.status().code(), Code::kInvalidArgument);
}

TEST_F(BrickNamespaceErrorTest, SymlinkOverAnExistingNameIsExists) {
  MakeFile(kRootNode, "f");
  auto link = MakeSymlink(kRootNode, "f", "x");
  ASSERT_FALSE(link.ok());
  EXPECT_EQ(link.status().code(), Code::kExists);
}

TEST_F(BrickNamespaceErrorTest, ReadLinkOfAFileIsInvalid) {
  proto::Attr file = MakeFile(kRootNode, "f");
  auto target = brick_->ReadLink(file.ino());
  ASSERT_FALSE(target.ok());
  EXPECT_EQ(target.status().code(), Code::kInvalidArgument);
}

TEST_F(BrickNamespaceErrorTest, LinkOfADirectoryIsNotPermitted) {
  proto::Attr dir = Mkdir(kRootNode, "d");
  auto linked = Link(dir.ino(), kRootNode, "d2");
  ASSERT_FALSE(linked.ok());
  EXPECT_EQ(linked.status().code(), Code::kNotPermitted);
}

TEST_F(BrickNamespaceErrorTest, LinkOverAnExistingNameIsExists) {
  proto::Attr a = MakeFile(kRootNode, "a");
  MakeFile(kRootNode, "b");
  auto linked = Link(a.ino(), kRootNode, "b");
  ASSERT_FALSE(linked.ok());
  EXPECT_EQ(linked.status().code(), Code::kExists);
}

TEST_F(BrickNamespaceErrorTest, RemoveOfAMissingNameIsNotFound) {
  EXPECT_EQ(Remove(kRootNode, "missing").code(), Code::kNotFound);
}

TEST_F(BrickNamespaceErrorTest, UnlinkOfADirectoryIsIsDirectory) {
  Mkdir(kRootNode, "d");
  EXPECT_EQ(Remove(kRootNode, "d", /*directory=*/false).code(), Code::kIsDirectory);
}

TEST_F(BrickNamespaceErrorTest, RmdirOfAFileIsNotDirectory) {
  MakeFile(kRootNode, "f");
  EXPECT_EQ(Remove(kRootNode, "f", /*directory=*/true).code(), Code::kNotDirectory);
}

TEST_F(BrickNamespaceErrorTest, RmdirOfANonEmptyDirectoryIsNotEmpty) {
  proto::Attr dir = Mkdir(kRootNode, "d");
  MakeFile(dir.ino(), "f");
  EXPECT_EQ(Remove(kRootNode, "d", /*directory=*/true).code(), Code::kNotEmpty);
  EXPECT_TRUE(brick_->GetAttr(dir.ino()).ok());
}

TEST_F(BrickNamespaceErrorTest, RenameOfAMissingNameIsNotFound) {
  EXPECT_EQ(Rename(kRootNode, "missing", kRootNode, "b").code(), Code::kNotFound);
}

TEST_F(BrickNamespaceErrorTest, RenameNoreplaceOverAnExistingNameIsExists) {
  proto::Attr b = MakeFile(kRootNode, "b");
  MakeFile(kRootNode, "a");
  EXPECT_EQ(Rename(kRootNode, "a", kRootNode, "b", RENAME_NOREPLACE).code(), Code::kExists);
  auto found = brick_->Lookup(kRootNode, "b");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->ino(), b.ino());
}

TEST_F(BrickNamespaceErrorTest, RenameWithUnknownFlagsIsInvalid) {
  MakeFile(kRootNode, "a");
  EXPECT_EQ(Rename(kRootNode, "a", kRootNode, "b", RENAME_WHITEOUT).code(), Code::kInvalidArgument);
}

TEST_F(BrickNamespaceErrorTest, RenameOverANonEmptyDirectoryIsNotEmpty) {
  Mkdir(kRootNode, "a");
  proto::Attr b = Mkdir(kRootNode, "b");
  MakeFile(b.ino(), "f");
  EXPECT_EQ(Rename(kRootNode, "a", kRootNode, "b").code(), Code::kNotEmpty);
  EXPECT_TRUE(brick_->GetAttr(b.ino()).ok());
}

TEST_F(BrickNamespaceErrorTest, RenameOfADirectoryIntoItselfIsInvalid) {
  proto::Attr dir = Mkdir(kRootNode, "d");
  EXPECT_EQ(Rename(kRootNode, "d", dir.ino(), "inside").code(), Code::kInvalidArgument);
}

TEST_F(BrickNamespaceErrorTest, SetAttrOfAStaleNodeIsStale) {
  auto attr = brick_->SetAttr(SetAttrOf(987654321, proto::SET_ATTR_MODE), -1);
  ASSERT_FALSE(attr.ok());
  EXPECT_EQ(attr.status().code(), Code::kStale);
}

TEST_F(BrickNamespaceErrorTest, TruncateOfADirectoryIsIsDirectory) {
  proto::Attr dir = Mkdir(kRootNode, "d");
  proto::SetAttrRequest request = SetAttrOf(dir.ino(), proto::SET_ATTR_SIZE);
  auto attr = brick_->SetAttr(request, -1);
  ASSERT_FALSE(attr.ok());
  EXPECT_EQ(attr.status().code(), Code::kIsDirectory);
}

}  // namespace
}  // namespace shoal::storage
