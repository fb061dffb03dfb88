#include "fuse/kernel_grants.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace shoal::fuse {
namespace {

using ::testing::ElementsAre;
using Entry = KernelGrants::Entry;
using Node = KernelGrants::Node;

TEST(KernelGrantsTest, TakeAllReturnsEverythingOldestFirstAndEmpties) {
  KernelGrants grants(8, 8);
  EXPECT_FALSE(grants.NoteEntry(1, "a"));
  EXPECT_FALSE(grants.NoteEntry(1, "b"));
  EXPECT_FALSE(grants.NoteNode(5, false));
  EXPECT_FALSE(grants.NoteNode(1, true));
  auto all = grants.TakeAll();
  EXPECT_THAT(all.entries, ElementsAre(Entry{1, "a"}, Entry{1, "b"}));
  EXPECT_THAT(all.nodes, ElementsAre(Node{5, false}, Node{1, true}));
  EXPECT_EQ(grants.size(), 0u);
  EXPECT_TRUE(grants.TakeAll().entries.empty());
}

TEST(KernelGrantsTest, NotingOneMoreThanTheMaximumEvictsTheOldest) {
  KernelGrants grants(2, 2);
  EXPECT_FALSE(grants.NoteEntry(1, "a"));
  EXPECT_FALSE(grants.NoteEntry(1, "b"));
  EXPECT_EQ(grants.NoteEntry(2, "c"), (Entry{1, "a"}));
  EXPECT_FALSE(grants.NoteNode(7, false));
  EXPECT_FALSE(grants.NoteNode(8, true));
  EXPECT_EQ(grants.NoteNode(9, false), (Node{7, false}));
  EXPECT_EQ(grants.size(), 4u);
}

TEST(KernelGrantsTest, NotingAgainMakesItTheNewest) {
  KernelGrants grants(2, 2);
  grants.NoteEntry(1, "a");
  grants.NoteEntry(1, "b");
  EXPECT_FALSE(grants.NoteEntry(1, "a"));
  EXPECT_EQ(grants.NoteEntry(1, "c"), (Entry{1, "b"}));
}

TEST(KernelGrantsTest, ForgottenIsNotTakenOrEvicted) {
  KernelGrants grants(2, 2);
  grants.NoteEntry(1, "a");
  grants.NoteEntry(1, "b");
  grants.ForgetEntry(1, "a");
  EXPECT_FALSE(grants.NoteEntry(1, "c"));
  grants.NoteNode(7, false);
  grants.ForgetNode(7);
  auto all = grants.TakeAll();
  EXPECT_THAT(all.entries, ElementsAre(Entry{1, "b"}, Entry{1, "c"}));
  EXPECT_TRUE(all.nodes.empty());
}

TEST(KernelGrantsTest, NamesAreBytesAndParentsKeepThemApart) {
  KernelGrants grants(8, 8);
  grants.NoteEntry(1, std::string("a\0b", 3));
  grants.NoteEntry(2, std::string("a\0b", 3));
  grants.NoteEntry(1, "a");
  EXPECT_EQ(grants.TakeAll().entries.size(), 3u);
}

}  // namespace
}  // namespace shoal::fuse
