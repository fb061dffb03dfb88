#include "storage/directory_reader.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "storage/brick_test_util.h"

namespace shoal::storage {
namespace {

using ::testing::Contains;
using ::testing::IsSupersetOf;
using ::testing::Not;
using ::testing::UnorderedElementsAre;
using ::testing::UnorderedElementsAreArray;

class DirectoryReaderTest : public testing::BrickTest {
 protected:
  std::unique_ptr<DirectoryReader> OpenReader(NodeId node) {
    auto reader = DirectoryReader::Open(*brick_, node);
    EXPECT_TRUE(reader.ok()) << reader.status().ToString();
    return reader.ok() ? std::move(reader).value() : nullptr;
  }

  // Every entry of `node`, read `batch` at a time, by name.
  std::map<std::string, proto::DirEntry> ReadAll(NodeId node, uint32_t batch = 1000, bool plus = false) {
    std::map<std::string, proto::DirEntry> out;
    auto reader = OpenReader(node);
    if (!reader) return out;
    uint64_t cookie = 0;
    for (int reads = 0; reads < 1000; ++reads) {
      auto read = reader->Read(cookie, batch, plus);
      EXPECT_TRUE(read.ok()) << read.status().ToString();
      if (!read.ok()) break;
      for (const auto& entry : read->entries()) {
        EXPECT_FALSE(out.contains(entry.name())) << "listed twice: " << entry.name();
        out[entry.name()] = entry;
        cookie = entry.cookie();
      }
      if (read->end()) break;
    }
    return out;
  }

  static std::vector<std::string> NamesOf(const std::map<std::string, proto::DirEntry>& entries) {
    std::vector<std::string> names;
    for (const auto& [name, entry] : entries) names.push_back(name);
    return names;
  }
};

// ---- listing ----

TEST_F(DirectoryReaderTest, ListsEveryEntryWithItsId) {
  proto::Attr a = MakeFile(kRootNode, "a");
  proto::Attr d = Mkdir(kRootNode, "d");
  auto entries = ReadAll(kRootNode);
  EXPECT_THAT(NamesOf(entries), UnorderedElementsAre(".", "..", "a", "d"));
  EXPECT_EQ(entries["a"].attr().ino(), a.ino());
  EXPECT_EQ(entries["d"].attr().ino(), d.ino());
}

TEST_F(DirectoryReaderTest, ListsTypes) {
  MakeFile(kRootNode, "a");
  Mkdir(kRootNode, "d");
  ASSERT_TRUE(MakeSymlink(kRootNode, "l", "a").ok());
  auto entries = ReadAll(kRootNode);
  EXPECT_EQ(entries["a"].type(), DT_REG);
  EXPECT_EQ(entries["d"].type(), DT_DIR);
  EXPECT_EQ(entries["l"].type(), DT_LNK);
}

TEST_F(DirectoryReaderTest, HidesTheStateDirectoryAtTheRoot) {
  MakeFile(kRootNode, "a");
  EXPECT_THAT(NamesOf(ReadAll(kRootNode)), Not(Contains(".shoal")));
}

TEST_F(DirectoryReaderTest, ListsAStateDirectoryNameBelowTheRoot) {
  proto::Attr d = Mkdir(kRootNode, "d");
  Mkdir(d.ino(), ".shoal");
  EXPECT_THAT(NamesOf(ReadAll(d.ino())), Contains(".shoal"));
}

TEST_F(DirectoryReaderTest, DotAndDotDotOfTheRootAreTheRoot) {
  auto entries = ReadAll(kRootNode);
  EXPECT_EQ(entries["."].attr().ino(), kRootNode);
  EXPECT_EQ(entries[".."].attr().ino(), kRootNode);
}

TEST_F(DirectoryReaderTest, DotAndDotDotOfASubdirectory) {
  proto::Attr parent = Mkdir(kRootNode, "p");
  proto::Attr child = Mkdir(parent.ino(), "c");
  auto entries = ReadAll(child.ino());
  EXPECT_THAT(NamesOf(entries), UnorderedElementsAre(".", ".."));
  EXPECT_EQ(entries["."].attr().ino(), child.ino());
  EXPECT_EQ(entries[".."].attr().ino(), parent.ino());
}

TEST_F(DirectoryReaderTest, ListsInvalidUtf8NamesByteForByte) {
  const std::string name = "\xff\xfe-caf\xe9";
  proto::Attr made = MakeFile(kRootNode, name);
  auto entries = ReadAll(kRootNode);
  ASSERT_THAT(NamesOf(entries), Contains(name));
  EXPECT_EQ(entries[name].attr().ino(), made.ino());
}

TEST_F(DirectoryReaderTest, EntryPutBehindShoalsBackGetsAnIdThatLookupAgreesWith) {
  ASSERT_NO_FATAL_FAILURE(WriteFile(OnBrick("dropped"), "x"));
  auto entries = ReadAll(kRootNode);
  ASSERT_THAT(NamesOf(entries), Contains("dropped"));
  uint64_t listed = entries["dropped"].attr().ino();
  EXPECT_GT(listed, kRootNode);
  auto found = brick_->Lookup(kRootNode, "dropped");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->ino(), listed);
}

// cp -a on the brick copies trusted.shoal.id; readdir must give the copy the id lookup gives it.
TEST_F(DirectoryReaderTest, CopyCarryingAnotherNodesIdIsListedWithItsOwnId) {
  proto::Attr original = MakeFile(kRootNode, "a");
  ASSERT_NO_FATAL_FAILURE(WriteFile(OnBrick("copy"), ""));
  const uint64_t id = original.ino();
  ASSERT_EQ(::setxattr(OnBrick("copy").c_str(), kIdXattr, &id, sizeof id, 0), 0);
  auto entries = ReadAll(kRootNode);
  EXPECT_EQ(entries["a"].attr().ino(), original.ino());
  EXPECT_NE(entries["copy"].attr().ino(), original.ino());
  auto found = brick_->Lookup(kRootNode, "copy");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(entries["copy"].attr().ino(), found->ino());
}

TEST_F(DirectoryReaderTest, CopyOfTheRootIsNotListedAsTheRoot) {
  ASSERT_EQ(::mkdir(OnBrick("backup").c_str(), 0755), 0);
  const uint64_t root_id = kRootNode;
  ASSERT_EQ(::setxattr(OnBrick("backup").c_str(), kIdXattr, &root_id, sizeof root_id, 0), 0);
  auto entries = ReadAll(kRootNode);
  EXPECT_NE(entries["backup"].attr().ino(), kRootNode);
}

TEST_F(DirectoryReaderTest, WithoutPlusOnlyTheIdIsSet) {
  MakeFile(kRootNode, "a");
  auto entries = ReadAll(kRootNode, 1000, /*plus=*/false);
  EXPECT_NE(entries["a"].attr().ino(), 0u);
  EXPECT_EQ(entries["a"].attr().mode(), 0u);
}

TEST_F(DirectoryReaderTest, PlusGivesAttributes) {
  proto::Attr a = MakeFile(kRootNode, "a", 0640);
  ASSERT_NO_FATAL_FAILURE(WriteFile(OnBrick("a"), "12345"));
  proto::Attr d = Mkdir(kRootNode, "d", 0700);
  auto entries = ReadAll(kRootNode, 1000, /*plus=*/true);
  EXPECT_EQ(entries["a"].attr().ino(), a.ino());
  EXPECT_EQ(entries["a"].attr().mode(), S_IFREG | 0640u);
  EXPECT_EQ(entries["a"].attr().size(), 5u);
  EXPECT_EQ(entries["a"].attr().uid(), testing::kCallerUid);
  EXPECT_EQ(entries["d"].attr().ino(), d.ino());
  EXPECT_EQ(entries["d"].attr().mode(), S_IFDIR | 0700u);
}

TEST_F(DirectoryReaderTest, PlusOfASymlinkIsTheSymlinksAttributes) {
  auto link = MakeSymlink(kRootNode, "l", "/etc");
  ASSERT_TRUE(link.ok()) << link.status().ToString();
  auto entries = ReadAll(kRootNode, 1000, /*plus=*/true);
  EXPECT_TRUE(S_ISLNK(entries["l"].attr().mode()));
  EXPECT_EQ(entries["l"].attr().ino(), link->ino());
}

// ---- batches and cookies ----

TEST_F(DirectoryReaderTest, BatchesTogetherListEverythingOnce) {
  std::vector<std::string> expected = {".", ".."};
  for (int i = 0; i < 25; ++i) {
    expected.push_back("f" + std::to_string(i));
    MakeFile(kRootNode, expected.back());
  }
  EXPECT_THAT(NamesOf(ReadAll(kRootNode, /*batch=*/3)), UnorderedElementsAreArray(expected));
}

TEST_F(DirectoryReaderTest, ABatchHoldsAtMostEntriesMax) {
  for (int i = 0; i < 10; ++i) MakeFile(kRootNode, "f" + std::to_string(i));
  auto reader = OpenReader(kRootNode);
  ASSERT_NE(reader, nullptr);
  auto read = reader->Read(0, 4, false);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->entries_size(), 4);
  EXPECT_FALSE(read->end());
}

TEST_F(DirectoryReaderTest, EndIsSetAfterTheLastEntry) {
  auto reader = OpenReader(kRootNode);
  ASSERT_NE(reader, nullptr);
  auto read = reader->Read(0, 1000, false);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_TRUE(read->end());
  auto after = reader->Read(read->entries(read->entries_size() - 1).cookie(), 1000, false);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->entries_size(), 0);
  EXPECT_TRUE(after->end());
}

TEST_F(DirectoryReaderTest, ResumesFromACookie) {
  for (int i = 0; i < 10; ++i) MakeFile(kRootNode, "f" + std::to_string(i));
  auto reader = OpenReader(kRootNode);
  ASSERT_NE(reader, nullptr);
  auto all = reader->Read(0, 1000, false);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_GT(all->entries_size(), 6);
  // Resume after the fifth entry, out of order: the reader seeks.
  auto rest = reader->Read(all->entries(4).cookie(), 1000, false);
  ASSERT_TRUE(rest.ok()) << rest.status().ToString();
  ASSERT_EQ(rest->entries_size(), all->entries_size() - 5);
  for (int i = 0; i < rest->entries_size(); ++i)
    EXPECT_EQ(rest->entries(i).name(), all->entries(i + 5).name());
}

TEST_F(DirectoryReaderTest, CookieZeroStartsOver) {
  MakeFile(kRootNode, "a");
  auto reader = OpenReader(kRootNode);
  ASSERT_NE(reader, nullptr);
  auto first = reader->Read(0, 1000, false);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto again = reader->Read(0, 1000, false);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  ASSERT_EQ(again->entries_size(), first->entries_size());
  for (int i = 0; i < first->entries_size(); ++i) EXPECT_EQ(again->entries(i).name(), first->entries(i).name());
}

TEST_F(DirectoryReaderTest, ACookieWorksInAnotherReaderOfTheSameDirectory) {
  for (int i = 0; i < 10; ++i) MakeFile(kRootNode, "f" + std::to_string(i));
  auto first = OpenReader(kRootNode);
  ASSERT_NE(first, nullptr);
  auto head = first->Read(0, 4, false);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  auto all = first->Read(0, 1000, false);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  auto second = OpenReader(kRootNode);
  ASSERT_NE(second, nullptr);
  auto tail = second->Read(head->entries(3).cookie(), 1000, false);
  ASSERT_TRUE(tail.ok()) << tail.status().ToString();
  ASSERT_EQ(tail->entries_size(), all->entries_size() - 4);
  EXPECT_EQ(tail->entries(0).name(), all->entries(4).name());
}

// Every brick gives an entry the same cookie and lists in the same order, however the
// directory came to be: a cookie is the hash of the name, not the filesystem's offset.
TEST_F(DirectoryReaderTest, CookiesAndOrderDependOnNamesAlone) {
  proto::Attr forward = Mkdir(kRootNode, "forward");
  proto::Attr backward = Mkdir(kRootNode, "backward");
  for (int i = 0; i < 50; ++i) MakeFile(forward.ino(), "f" + std::to_string(i));
  for (int i = 49; i >= 0; --i) MakeFile(backward.ino(), "f" + std::to_string(i));
  auto one = OpenReader(forward.ino());
  auto other = OpenReader(backward.ino());
  ASSERT_TRUE(one && other);
  auto a = one->Read(0, 1000, false);
  auto b = other->Read(0, 1000, false);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->entries_size(), 52);
  ASSERT_EQ(b->entries_size(), 52);
  EXPECT_EQ(a->entries(0).name(), ".");
  EXPECT_EQ(a->entries(0).cookie(), 1u);
  EXPECT_EQ(a->entries(1).name(), "..");
  EXPECT_EQ(a->entries(1).cookie(), 2u);
  for (int i = 0; i < 52; ++i) {
    EXPECT_EQ(a->entries(i).name(), b->entries(i).name()) << i;
    EXPECT_EQ(a->entries(i).cookie(), b->entries(i).cookie()) << i;
    if (i >= 2) {
      EXPECT_EQ(a->entries(i).cookie(), DirectoryCookie(a->entries(i).name()));
      EXPECT_GT(a->entries(i).cookie(), a->entries(i - 1).cookie());
      EXPECT_LT(a->entries(i).cookie(), uint64_t{1} << 63);  // a FUSE offset is signed
    }
  }
}

// A listing begun on one brick goes on from its cookie on another (after a failover): the rest,
// nothing twice, nothing skipped.
TEST_F(DirectoryReaderTest, AListingResumesOnAnotherBrickFromItsCookie) {
  proto::Attr here = Mkdir(kRootNode, "here");
  proto::Attr there = Mkdir(kRootNode, "there");
  for (int i = 0; i < 30; ++i) MakeFile(here.ino(), "f" + std::to_string(i));
  for (int i = 29; i >= 0; --i) MakeFile(there.ino(), "f" + std::to_string(i));
  auto first = OpenReader(here.ino());
  ASSERT_NE(first, nullptr);
  auto head = first->Read(0, 10, false);
  ASSERT_TRUE(head.ok());
  ASSERT_EQ(head->entries_size(), 10);
  auto second = OpenReader(there.ino());
  ASSERT_NE(second, nullptr);
  auto tail = second->Read(head->entries(9).cookie(), 1000, false);
  ASSERT_TRUE(tail.ok());
  EXPECT_TRUE(tail->end());
  std::vector<std::string> names;
  for (const auto& entry : head->entries()) names.push_back(entry.name());
  for (const auto& entry : tail->entries()) names.push_back(entry.name());
  std::vector<std::string> expected = {".", ".."};
  for (int i = 0; i < 30; ++i) expected.push_back("f" + std::to_string(i));
  EXPECT_THAT(names, UnorderedElementsAreArray(expected));
  EXPECT_EQ(names.size(), expected.size());
}

TEST_F(DirectoryReaderTest, EntryRemovedBeforeItIsReadIsNotListed) {
  MakeFile(kRootNode, "a");
  MakeFile(kRootNode, "b");
  auto reader = OpenReader(kRootNode);
  ASSERT_NE(reader, nullptr);
  ASSERT_TRUE(Remove(kRootNode, "b").ok());
  std::set<std::string> names;
  auto read = reader->Read(0, 1000, true);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  for (const auto& entry : read->entries()) names.insert(entry.name());
  EXPECT_THAT(names, IsSupersetOf({".", "..", "a"}));
  EXPECT_THAT(names, Not(Contains("b")));
}

// ---- errors ----

TEST_F(DirectoryReaderTest, OpenOfAFileIsNotDirectory) {
  proto::Attr a = MakeFile(kRootNode, "a");
  auto reader = DirectoryReader::Open(*brick_, a.ino());
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), Code::kNotDirectory);
}

TEST_F(DirectoryReaderTest, OpenOfAStaleNodeIsStale) {
  auto reader = DirectoryReader::Open(*brick_, 987654321);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), Code::kStale);
}

}  // namespace
}  // namespace shoal::storage
