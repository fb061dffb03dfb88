// Brick: extended attributes pass through, except the brick's own trusted.shoal.*.
#include <linux/limits.h>  // XATTR_SIZE_MAX
#include <sys/xattr.h>

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "storage/brick.h"
#include "storage/brick_test_util.h"

namespace shoal::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

class BrickXattrTest : public testing::BrickTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(BrickTest::SetUp());
    node_ = MakeFile(kRootNode, "f").ino();
    ASSERT_NE(node_, 0u);
  }

  Status Set(const std::string& name, const std::string& value, uint32_t flags = 0) {
    proto::SetXattrRequest request;
    request.set_node(node_);
    request.set_name(name);
    request.set_value(value);
    request.set_flags(flags);
    return brick_->SetXattr(request);
  }

  Result<proto::GetXattrResponse> Get(const std::string& name, uint32_t size = 1024) {
    proto::GetXattrRequest request;
    request.set_node(node_);
    request.set_name(name);
    request.set_size(size);
    return brick_->GetXattr(request);
  }

  Result<proto::ListXattrResponse> List(uint32_t size = 4096) {
    proto::ListXattrRequest request;
    request.set_node(node_);
    request.set_size(size);
    return brick_->ListXattr(request);
  }

  Status RemoveXattr(const std::string& name) {
    proto::RemoveXattrRequest request;
    request.set_node(node_);
    request.set_name(name);
    return brick_->RemoveXattr(request);
  }

  // The names in a listxattr(2)-style buffer.
  static std::vector<std::string> Names(const std::string& buffer) {
    std::vector<std::string> names;
    for (size_t at = 0; at < buffer.size();) {
      size_t end = buffer.find('\0', at);
      names.push_back(buffer.substr(at, end - at));
      at = end + 1;
    }
    return names;
  }

  NodeId node_ = 0;
};

// ---- pass-through ----

TEST_F(BrickXattrTest, SetThenGet) {
  ASSERT_TRUE(Set("user.color", "blue").ok());
  auto got = Get("user.color");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->value(), "blue");
  EXPECT_EQ(got->size(), 4u);
}

TEST_F(BrickXattrTest, ValuesAreBinary) {
  const std::string value("\0\xff\x01", 3);
  ASSERT_TRUE(Set("user.bin", value).ok());
  auto got = Get("user.bin");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->value(), value);
}

TEST_F(BrickXattrTest, EmptyValue) {
  ASSERT_TRUE(Set("user.empty", "").ok());
  auto got = Get("user.empty");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->value(), "");
  EXPECT_EQ(got->size(), 0u);
}

TEST_F(BrickXattrTest, GetWithSizeZeroGivesTheSizeOnly) {
  ASSERT_TRUE(Set("user.color", "blue").ok());
  auto got = Get("user.color", 0);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->value(), "");
  EXPECT_EQ(got->size(), 4u);
}

TEST_F(BrickXattrTest, OtherTrustedNamesPassThrough) {
  ASSERT_TRUE(Set("trusted.app", "v").ok());
  auto got = Get("trusted.app");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->value(), "v");
  char value[8];
  EXPECT_EQ(::getxattr(OnBrick("f").c_str(), "trusted.app", value, sizeof value), 1);
}

TEST_F(BrickXattrTest, ReplaceChangesTheValue) {
  ASSERT_TRUE(Set("user.color", "blue").ok());
  ASSERT_TRUE(Set("user.color", "red", XATTR_REPLACE).ok());
  auto got = Get("user.color");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->value(), "red");
}

TEST_F(BrickXattrTest, RemoveThenGetIsNoData) {
  ASSERT_TRUE(Set("user.color", "blue").ok());
  ASSERT_TRUE(RemoveXattr("user.color").ok());
  auto got = Get("user.color");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kNoData);
}

TEST_F(BrickXattrTest, XattrsOfTheRoot) {
  node_ = kRootNode;
  ASSERT_TRUE(Set("user.volume", "www").ok());
  auto got = Get("user.volume");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->value(), "www");
}

// ---- listing ----

TEST_F(BrickXattrTest, ListShowsTheClientsNames) {
  ASSERT_TRUE(Set("user.a", "1").ok());
  ASSERT_TRUE(Set("trusted.b", "2").ok());
  auto listed = List();
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_THAT(Names(listed->names()), UnorderedElementsAre("user.a", "trusted.b"));
  EXPECT_EQ(listed->size(), listed->names().size());
}

TEST_F(BrickXattrTest, ListHidesTheNodeId) {
  ASSERT_GT(::getxattr(OnBrick("f").c_str(), kIdXattr, nullptr, 0), 0) << "the id is on the file";
  auto listed = List();
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_THAT(Names(listed->names()), IsEmpty());
  EXPECT_EQ(listed->size(), 0u);
}

TEST_F(BrickXattrTest, ListHidesEveryShoalName) {
  ASSERT_EQ(::setxattr(OnBrick("f").c_str(), "trusted.shoal.version", "7", 1, 0), 0);
  ASSERT_TRUE(Set("user.a", "1").ok());
  auto listed = List();
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_THAT(Names(listed->names()), ElementsAre("user.a"));
}

TEST_F(BrickXattrTest, ListWithSizeZeroGivesTheSizeOnly) {
  ASSERT_TRUE(Set("user.a", "1").ok());
  auto listed = List(0);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(listed->names(), "");
  EXPECT_EQ(listed->size(), sizeof "user.a");
}

// ---- trusted.shoal.* is the brick's ----

TEST_F(BrickXattrTest, GetOfTheNodeIdIsNoData) {
  auto got = Get(kIdXattr);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kNoData);
}

TEST_F(BrickXattrTest, SetOfTheNodeIdIsNotPermitted) {
  const uint64_t forged = 1;
  Status set = Set(kIdXattr, std::string(reinterpret_cast<const char*>(&forged), sizeof forged));
  EXPECT_EQ(set.code(), Code::kNotPermitted);
  EXPECT_NE(testing::IdXattrOf(OnBrick("f")), 1u);
}

TEST_F(BrickXattrTest, RemoveOfTheNodeIdIsNotPermitted) {
  EXPECT_EQ(RemoveXattr(kIdXattr).code(), Code::kNotPermitted);
  EXPECT_EQ(testing::IdXattrOf(OnBrick("f")), node_);
}

TEST_F(BrickXattrTest, SetOfAnyShoalNameIsNotPermitted) {
  EXPECT_EQ(Set("trusted.shoal.anything", "x").code(), Code::kNotPermitted);
}

TEST_F(BrickXattrTest, GetOfAnyShoalNameIsNoData) {
  ASSERT_EQ(::setxattr(OnBrick("f").c_str(), "trusted.shoal.version", "7", 1, 0), 0);
  auto got = Get("trusted.shoal.version");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kNoData);
}

// ---- errors ----

TEST_F(BrickXattrTest, GetOfAMissingNameIsNoData) {
  auto got = Get("user.missing");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kNoData);
}

TEST_F(BrickXattrTest, GetIntoATooSmallBufferIsRange) {
  ASSERT_TRUE(Set("user.color", "blue").ok());
  auto got = Get("user.color", 2);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kRange);
}

TEST_F(BrickXattrTest, ListIntoATooSmallBufferIsRange) {
  ASSERT_TRUE(Set("user.a", "1").ok());
  auto listed = List(3);
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.status().code(), Code::kRange);
}

TEST_F(BrickXattrTest, CreateOfAnExistingNameIsExists) {
  ASSERT_TRUE(Set("user.color", "blue").ok());
  EXPECT_EQ(Set("user.color", "red", XATTR_CREATE).code(), Code::kExists);
}

TEST_F(BrickXattrTest, ReplaceOfAMissingNameIsNoData) {
  EXPECT_EQ(Set("user.missing", "x", XATTR_REPLACE).code(), Code::kNoData);
}

TEST_F(BrickXattrTest, RemoveOfAMissingNameIsNoData) {
  EXPECT_EQ(RemoveXattr("user.missing").code(), Code::kNoData);
}

TEST_F(BrickXattrTest, EmptyNameIsRange) { EXPECT_EQ(Set("", "x").code(), Code::kRange); }

TEST_F(BrickXattrTest, NameLongerThan255IsRange) {
  EXPECT_EQ(Set("user." + std::string(251, 'n'), "x").code(), Code::kRange);
}

TEST_F(BrickXattrTest, NameWithANulIsInvalid) {
  EXPECT_EQ(Set(std::string("user.a\0b", 8), "x").code(), Code::kInvalidArgument);
}

TEST_F(BrickXattrTest, ValueLargerThan64KiBIsTooBig) {
  EXPECT_EQ(Set("user.big", std::string(XATTR_SIZE_MAX + 1, 'v')).code(), Code::kTooBig);
}

TEST_F(BrickXattrTest, NamespaceTheKernelDoesNotKnowIsNotSupported) {
  EXPECT_EQ(Set("bogus.name", "x").code(), Code::kNotSupported);
}

TEST_F(BrickXattrTest, XattrOfAStaleNodeIsStale) {
  node_ = 987654321;
  EXPECT_EQ(Set("user.a", "1").code(), Code::kStale);
}

}  // namespace
}  // namespace shoal::storage
