#include "storage/node_cache.h"

#include <memory>

#include <gtest/gtest.h>

namespace shoal::storage {
namespace {

std::shared_ptr<NodeFd> Fd(ino_t ino) {
  auto fd = std::make_shared<NodeFd>();
  fd->brick_ino = ino;
  return fd;
}

TEST(NodeCacheTest, FindsWhatWasInsertedAndForgetsWhatWasErased) {
  NodeCache cache(4);
  cache.Insert(7, Fd(70));
  ASSERT_NE(cache.Find(7), nullptr);
  EXPECT_EQ(cache.Find(7)->brick_ino, 70u);
  cache.Insert(7, Fd(71));  // the node's descriptor replaced (a rename onto it, a reopen)
  EXPECT_EQ(cache.Find(7)->brick_ino, 71u);
  cache.Erase(7);
  EXPECT_EQ(cache.Find(7), nullptr);
  cache.Erase(7);  // nothing left to erase: no harm
  EXPECT_EQ(cache.Find(8), nullptr);
}

TEST(NodeCacheTest, WhenFullTheLeastRecentlyUsedGoes) {
  NodeCache cache(3);
  cache.Insert(1, Fd(1));
  cache.Insert(2, Fd(2));
  cache.Insert(3, Fd(3));
  ASSERT_NE(cache.Find(1), nullptr);  // 2 is now the least recently used
  cache.Insert(4, Fd(4));
  EXPECT_EQ(cache.Find(2), nullptr);
  EXPECT_NE(cache.Find(1), nullptr);
  EXPECT_NE(cache.Find(3), nullptr);
  EXPECT_NE(cache.Find(4), nullptr);
}

// The create pattern: a directory used once per new file stays, however many files pass through.
TEST(NodeCacheTest, ADirectoryUsedForEveryNewFileIsNeverDropped) {
  NodeCache cache(16);
  cache.Insert(1, Fd(1));
  for (uint64_t file = 100; file < 10'100; ++file) {
    ASSERT_NE(cache.Find(1), nullptr) << "the directory was dropped before file " << file;
    cache.Insert(file, Fd(file));
  }
  for (uint64_t file = 10'100 - 15; file < 10'100; ++file) EXPECT_NE(cache.Find(file), nullptr) << file;
  EXPECT_EQ(cache.Find(10'100 - 16), nullptr);  // 15 newest files and the directory fill it
}

TEST(NodeCacheTest, ADroppedDescriptorStaysValidForWhoeverHoldsIt) {
  NodeCache cache(1);
  cache.Insert(1, Fd(11));
  std::shared_ptr<NodeFd> held = cache.Find(1);
  cache.Insert(2, Fd(22));
  EXPECT_EQ(cache.Find(1), nullptr);
  EXPECT_EQ(held->brick_ino, 11u);
}

}  // namespace
}  // namespace shoal::storage
