#include "server/reply_cache.h"

#include <future>

#include <gtest/gtest.h>

#include "proto/messages.h"

namespace shoal::server {
namespace {

proto::Response Written(uint32_t n) {
  proto::Response response;
  response.mutable_write()->set_written(n);
  return response;
}

TEST(ReplyCacheTest, FindsWhatWasInsertedByClientAndRequest) {
  ReplyCache cache;
  cache.Insert("client-a", 7, Written(1));
  cache.Insert("client-b", 7, Written(2));
  ASSERT_TRUE(cache.Find("client-a", 7));
  EXPECT_EQ(cache.Find("client-a", 7)->write().written(), 1u);
  EXPECT_EQ(cache.Find("client-b", 7)->write().written(), 2u);
  EXPECT_FALSE(cache.Find("client-a", 8));
  EXPECT_FALSE(cache.Find("client-c", 7));
}

TEST(ReplyCacheTest, KeepsNothingForRequestsWithoutIdentity) {
  ReplyCache cache;
  cache.Insert("", 7, Written(1));
  cache.Insert("client", 0, Written(1));
  EXPECT_FALSE(cache.Find("", 7));
  EXPECT_FALSE(cache.Find("client", 0));
}

TEST(ReplyCacheTest, ForgetsTheOldestBeyondItsCapacity) {
  ReplyCache cache(3);
  for (uint64_t id = 1; id <= 5; ++id) cache.Insert("c", id, Written(static_cast<uint32_t>(id)));
  EXPECT_FALSE(cache.Find("c", 1));
  EXPECT_FALSE(cache.Find("c", 2));
  for (uint64_t id = 3; id <= 5; ++id) EXPECT_EQ(cache.Find("c", id)->write().written(), id);
}

TEST(ReplyCacheTest, ALaterAnswerForTheSameRequestReplacesTheFirst) {
  ReplyCache cache(2);
  cache.Insert("c", 1, Written(1));
  cache.Insert("c", 1, Written(9));
  cache.Insert("c", 2, Written(2));
  EXPECT_EQ(cache.Find("c", 1)->write().written(), 9u);
  EXPECT_EQ(cache.Find("c", 2)->write().written(), 2u);
}

// The primary's answer before the backups confirmed the change is not given to a resend: it may
// still become an error.
TEST(ReplyCacheTest, AnUnsettledAnswerIsNotGivenOut) {
  ReplyCache cache;
  cache.Insert("c", 1, Written(4), /*settled=*/false);
  EXPECT_TRUE(cache.Contains("c", 1));
  auto found = cache.Find("c", 1, std::chrono::milliseconds(0));
  ASSERT_TRUE(found);
  EXPECT_EQ(proto::StatusOf(*found).code(), Code::kBusy);
}

TEST(ReplyCacheTest, AResendWaitsForTheFirstCopysOutcome) {
  ReplyCache cache;
  cache.Insert("c", 1, Written(4), /*settled=*/false);
  auto resend = std::async(std::launch::async, [&] { return cache.Find("c", 1); });
  cache.Settle("c", 1, proto::ErrorResponse(Status(Code::kUnavailable, "fewer than min-in-sync")));
  auto found = resend.get();
  ASSERT_TRUE(found);
  EXPECT_EQ(proto::StatusOf(*found).code(), Code::kUnavailable);
  cache.Insert("c", 2, Written(5), /*settled=*/false);
  cache.Settle("c", 2, Written(5));
  EXPECT_EQ(cache.Find("c", 2)->write().written(), 5u);
}

}  // namespace
}  // namespace shoal::server
