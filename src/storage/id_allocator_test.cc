#include "storage/id_allocator.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace shoal::storage {
namespace {

using ::testing::HasSubstr;

class IdAllocatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/shoal-ids-test-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/next-id";
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::unique_ptr<IdAllocator> Open() {
    auto opened = IdAllocator::Open(path_);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    return opened.ok() ? std::move(opened).value() : nullptr;
  }

  uint64_t Next(IdAllocator& ids) {
    auto id = ids.Next();
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : 0;
  }

  void WriteReservation(const std::string& text) {
    std::ofstream out(path_, std::ios::trunc);
    out << text;
    ASSERT_TRUE(out.good());
  }

  std::string dir_;
  std::string path_;
};

TEST_F(IdAllocatorTest, FirstIdFollowsTheRoot) {
  auto ids = Open();
  ASSERT_NE(ids, nullptr);
  EXPECT_EQ(Next(*ids), IdAllocator::kRootId + 1);
}

TEST_F(IdAllocatorTest, IdsIncrease) {
  auto ids = Open();
  ASSERT_NE(ids, nullptr);
  uint64_t previous = Next(*ids);
  for (int i = 0; i < 100; ++i) {
    uint64_t id = Next(*ids);
    EXPECT_GT(id, previous);
    previous = id;
  }
}

TEST_F(IdAllocatorTest, ReservationIsWrittenBeforeAnIdIsHandedOut) {
  auto ids = Open();
  ASSERT_NE(ids, nullptr);
  uint64_t id = Next(*ids);
  std::ifstream in(path_);
  uint64_t reserved = 0;
  ASSERT_TRUE(in >> reserved);
  EXPECT_GT(reserved, id);
}

TEST_F(IdAllocatorTest, NoIdIsHandedOutTwiceAcrossAReopen) {
  std::set<uint64_t> seen;
  for (int run = 0; run < 3; ++run) {
    auto ids = Open();
    ASSERT_NE(ids, nullptr);
    for (int i = 0; i < 10; ++i) EXPECT_TRUE(seen.insert(Next(*ids)).second) << "run " << run;
  }
}

// A crash is a reopen without any clean shutdown: the allocator has no destructor work to lose.
TEST_F(IdAllocatorTest, ReopenResumesPastEveryIdOfTheLastBlock) {
  uint64_t last = 0;
  {
    auto ids = Open();
    ASSERT_NE(ids, nullptr);
    last = Next(*ids);
  }
  auto ids = Open();
  ASSERT_NE(ids, nullptr);
  EXPECT_GE(Next(*ids), last + IdAllocator::kBlockIds - 1);
}

TEST_F(IdAllocatorTest, NoIdIsHandedOutTwiceAcrossABlockBoundaryAndAReopen) {
  uint64_t last = 0;
  {
    auto ids = Open();
    ASSERT_NE(ids, nullptr);
    for (uint64_t i = 0; i < IdAllocator::kBlockIds + 2; ++i) {
      uint64_t id = Next(*ids);
      ASSERT_GT(id, last);
      last = id;
    }
  }
  auto ids = Open();
  ASSERT_NE(ids, nullptr);
  EXPECT_GT(Next(*ids), last);
}

TEST_F(IdAllocatorTest, ReopenWithoutHandingOutAnIdKeepsTheReservation) {
  uint64_t first = 0;
  {
    auto ids = Open();
    ASSERT_NE(ids, nullptr);
    first = Next(*ids);
  }
  { ASSERT_NE(Open(), nullptr); }
  auto ids = Open();
  ASSERT_NE(ids, nullptr);
  EXPECT_GT(Next(*ids), first);
}

TEST_F(IdAllocatorTest, ConcurrentCallersNeverShareAnId) {
  auto ids = Open();
  ASSERT_NE(ids, nullptr);
  constexpr int kThreads = 4, kIdsEach = 2000;
  std::vector<std::vector<uint64_t>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIdsEach; ++i) {
        auto id = ids->Next();
        got[t].push_back(id.ok() ? *id : 0);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<uint64_t> all;
  for (const auto& list : got)
    for (uint64_t id : list) {
      EXPECT_GT(id, IdAllocator::kRootId);
      EXPECT_TRUE(all.insert(id).second) << "id " << id << " handed out twice";
    }
  EXPECT_EQ(all.size(), size_t{kThreads * kIdsEach});
}

// ---- errors ----

TEST_F(IdAllocatorTest, CorruptReservationIsRefused) {
  ASSERT_NO_FATAL_FAILURE(WriteReservation("garbage"));
  auto opened = IdAllocator::Open(path_);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kIoError);
  EXPECT_THAT(opened.status().message(), HasSubstr(path_));
}

TEST_F(IdAllocatorTest, EmptyReservationIsRefused) {
  ASSERT_NO_FATAL_FAILURE(WriteReservation(""));
  EXPECT_FALSE(IdAllocator::Open(path_).ok());
}

TEST_F(IdAllocatorTest, ReservationAtTheRootIsRefused) {
  ASSERT_NO_FATAL_FAILURE(WriteReservation("1"));
  EXPECT_FALSE(IdAllocator::Open(path_).ok());
}

TEST_F(IdAllocatorTest, ReservationFileInAMissingDirectoryFailsAtFirstId) {
  auto opened = IdAllocator::Open(dir_ + "/missing/next-id");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto id = (*opened)->Next();
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace shoal::storage
