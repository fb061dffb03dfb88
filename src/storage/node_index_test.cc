#include "storage/node_index.h"

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace shoal::storage {
namespace {

class NodeIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/shoal-index-test-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    ASSERT_NO_FATAL_FAILURE(Reopen());
  }
  void TearDown() override {
    index_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  void Reopen() {
    index_.reset();
    auto opened = NodeIndex::Open(dir_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    index_ = std::move(opened).value();
  }

  std::optional<std::string> Get(uint64_t node) {
    auto got = index_->Get(node);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    return got.ok() ? *got : std::nullopt;
  }

  std::string dir_;
  std::unique_ptr<NodeIndex> index_;
};

TEST_F(NodeIndexTest, UnknownNodeIsAbsent) { EXPECT_EQ(Get(7), std::nullopt); }

TEST_F(NodeIndexTest, PutThenGet) {
  ASSERT_TRUE(index_->Put(7, std::string("handle\0bytes", 12)).ok());
  EXPECT_EQ(Get(7), std::string("handle\0bytes", 12));
}

TEST_F(NodeIndexTest, PutReplaces) {
  ASSERT_TRUE(index_->Put(7, "old").ok());
  ASSERT_TRUE(index_->Put(7, "new").ok());
  EXPECT_EQ(Get(7), "new");
}

TEST_F(NodeIndexTest, DeleteRemoves) {
  ASSERT_TRUE(index_->Put(7, "h").ok());
  ASSERT_TRUE(index_->Delete(7).ok());
  EXPECT_EQ(Get(7), std::nullopt);
}

TEST_F(NodeIndexTest, DeleteOfAnUnknownNodeIsOk) { EXPECT_TRUE(index_->Delete(7).ok()); }

TEST_F(NodeIndexTest, KeysDoNotCollide) {
  ASSERT_TRUE(index_->Put(1, "one").ok());
  ASSERT_TRUE(index_->Put(uint64_t{1} << 32, "big").ok());
  EXPECT_EQ(Get(1), "one");
  EXPECT_EQ(Get(uint64_t{1} << 32), "big");
}

TEST_F(NodeIndexTest, EntriesSurviveAReopen) {
  ASSERT_TRUE(index_->Put(7, "h").ok());
  ASSERT_TRUE(index_->Sync().ok());
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(Get(7), "h");
}

TEST_F(NodeIndexTest, OpenOfAMissingDirectoryFails) {
  auto opened = NodeIndex::Open(dir_ + "/missing");
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace shoal::storage
