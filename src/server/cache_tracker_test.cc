#include "server/cache_tracker.h"

#include <future>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace shoal::server {
namespace {

using Clock = CacheTracker::Clock;
using ::testing::ElementsAre;

class FakeSink : public PushSink {
 public:
  void Push(uint64_t push_id, const Invalidation& invalidation) override {
    std::lock_guard lock(mutex);
    pushes.emplace_back(push_id, invalidation);
  }
  void Lost(const std::string& reason) override {
    std::lock_guard lock(mutex);
    lost.push_back(reason);
    if (on_lost) on_lost();
  }
  uint64_t last_push_id() {
    std::lock_guard lock(mutex);
    return pushes.empty() ? 0 : pushes.back().first;
  }
  std::mutex mutex;
  std::vector<std::pair<uint64_t, Invalidation>> pushes;
  std::vector<std::string> lost;
  std::function<void()> on_lost;
};

class CacheTrackerTest : public ::testing::Test {
 protected:
  CacheTracker::SessionId Add(std::shared_ptr<FakeSink> sink, std::string_view volume = "vol") {
    return tracker_.AddSession(volume, std::move(sink));
  }
  bool GrantNow(CacheTracker::SessionId session, std::vector<CacheItem> items) {
    return tracker_.Grant(session, items, tracker_.Sequence(), now_);
  }
  // Runs a change; returns a flag that turns true when its answer may go.
  std::shared_ptr<bool> Change(CacheTracker::SessionId changer, std::vector<CacheItem> items) {
    auto done = std::make_shared<bool>(false);
    tracker_.Change(changer, items, now_, [done] { *done = true; });
    return done;
  }

  CacheTracker tracker_{CacheTrackerOptions{.ack_timeout_ms = 1000,
                                            .tracked_items_per_session_max = 8,
                                            .recent_changes_max = 16,
                                            .hot_changes_max = 3,
                                            .hot_window_ms = 1000,
                                            .hot_cool_down_ms = 5000}};
  Clock::time_point now_ = Clock::now();
  std::shared_ptr<FakeSink> a_ = std::make_shared<FakeSink>(), b_ = std::make_shared<FakeSink>();
};

TEST_F(CacheTrackerTest, ChangeNobodyCachesCompletesAtOnce) {
  auto a = Add(a_), b = Add(b_);
  ASSERT_TRUE(GrantNow(b, {CacheItem::Attributes(7)}));
  EXPECT_TRUE(*Change(a, {CacheItem::Attributes(8)}));
  EXPECT_TRUE(b_->pushes.empty());
}

TEST_F(CacheTrackerTest, ChangeWaitsForTheOtherSessionsAcknowledgement) {
  auto a = Add(a_), b = Add(b_);
  ASSERT_TRUE(GrantNow(b, {CacheItem::Attributes(7), CacheItem::Entry(1, "x")}));
  auto done = Change(a, {CacheItem::Attributes(7), CacheItem::Entry(1, "x"), CacheItem::Listing(1)});
  EXPECT_FALSE(*done);
  ASSERT_EQ(b_->pushes.size(), 1u);
  EXPECT_THAT(b_->pushes[0].second.items, ElementsAre(CacheItem::Attributes(7), CacheItem::Entry(1, "x")));
  tracker_.Ack(b, b_->pushes[0].first);
  EXPECT_TRUE(*done);
}

TEST_F(CacheTrackerTest, ChangeWaitsForEverySessionCachingIt) {
  auto a = Add(a_), b = Add(b_);
  auto c_sink = std::make_shared<FakeSink>();
  auto c = Add(c_sink);
  ASSERT_TRUE(GrantNow(b, {CacheItem::Attributes(7)}));
  ASSERT_TRUE(GrantNow(c, {CacheItem::Attributes(7)}));
  auto done = Change(a, {CacheItem::Attributes(7)});
  tracker_.Ack(b, b_->last_push_id());
  EXPECT_FALSE(*done);
  tracker_.Ack(c, c_sink->last_push_id());
  EXPECT_TRUE(*done);
}

TEST_F(CacheTrackerTest, TheChangerIsNotPushed) {
  auto a = Add(a_);
  Add(b_);
  ASSERT_TRUE(GrantNow(a, {CacheItem::Attributes(7)}));
  EXPECT_TRUE(*Change(a, {CacheItem::Attributes(7)}));
  EXPECT_TRUE(a_->pushes.empty());
}

TEST_F(CacheTrackerTest, PushedItemIsNotPushedAgainUntilGrantedAgain) {
  auto a = Add(a_), b = Add(b_);
  ASSERT_TRUE(GrantNow(b, {CacheItem::Attributes(7)}));
  Change(a, {CacheItem::Attributes(7)});
  tracker_.Ack(b, b_->last_push_id());
  EXPECT_TRUE(*Change(a, {CacheItem::Attributes(7)}));
  EXPECT_EQ(b_->pushes.size(), 1u);
  ASSERT_TRUE(GrantNow(b, {CacheItem::Attributes(7)}));
  EXPECT_FALSE(*Change(a, {CacheItem::Attributes(7)}));
  EXPECT_EQ(b_->pushes.size(), 2u);
}

TEST_F(CacheTrackerTest, SessionsOfAnotherVolumeAreNotPushed) {
  auto a = Add(a_, "www");
  auto b = Add(b_, "media");
  ASSERT_TRUE(GrantNow(b, {CacheItem::Attributes(7)}));
  EXPECT_TRUE(*Change(a, {CacheItem::Attributes(7)}));
  EXPECT_TRUE(b_->pushes.empty());
  EXPECT_FALSE(tracker_.Shared(a));
}

TEST_F(CacheTrackerTest, SharedSaysWhetherAnotherSessionTakesPushes) {
  auto a = Add(a_);
  EXPECT_FALSE(tracker_.Shared(a));
  Add(nullptr);
  EXPECT_FALSE(tracker_.Shared(a));
  Add(b_);
  EXPECT_TRUE(tracker_.Shared(a));
}

// ---------------------------------------------------------------- races

TEST_F(CacheTrackerTest, AnswerReadBeforeAChangeIsNotGrantedAfterIt) {
  auto a = Add(a_), b = Add(b_);
  const uint64_t since = tracker_.Sequence();  // b's lookup starts, reads the old entry...
  Change(a, {CacheItem::Entry(1, "x"), CacheItem::Attributes(1)});  // ...a removes it...
  EXPECT_FALSE(tracker_.Grant(b, std::vector{CacheItem::Entry(1, "x")}, since, now_));  // ...b must not cache it
  EXPECT_EQ(tracker_.TrackedItems(b), 0u);
}

TEST_F(CacheTrackerTest, UnrelatedChangeDoesNotRefuseAGrant) {
  auto a = Add(a_), b = Add(b_);
  const uint64_t since = tracker_.Sequence();
  Change(a, {CacheItem::Attributes(9)});
  EXPECT_TRUE(tracker_.Grant(b, std::vector{CacheItem::Attributes(7)}, since, now_));
}

TEST_F(CacheTrackerTest, OwnChangeDoesNotRefuseTheChangersGrant) {
  auto a = Add(a_);
  Add(b_);
  const uint64_t since = tracker_.Sequence();
  Change(a, {CacheItem::Entry(1, "x")});
  EXPECT_TRUE(tracker_.Grant(a, std::vector{CacheItem::Entry(1, "x")}, since, now_));
}

TEST_F(CacheTrackerTest, GrantOlderThanTheRingOfRecentChangesIsRefused) {
  auto a = Add(a_), b = Add(b_);
  const uint64_t since = tracker_.Sequence();
  for (uint64_t node = 100; node < 120; ++node) Change(a, {CacheItem::Attributes(node)});  // more than 16
  EXPECT_FALSE(tracker_.Grant(b, std::vector{CacheItem::Attributes(7)}, since, now_));
  EXPECT_TRUE(GrantNow(b, {CacheItem::Attributes(7)}));
}

// ---------------------------------------------------------------- lost clients

TEST_F(CacheTrackerTest, SessionThatDoesNotAcknowledgeInTimeIsLostAndTheChangeGoesOn) {
  auto a = Add(a_), b = Add(b_);
  ASSERT_TRUE(GrantNow(b, {CacheItem::Attributes(7)}));
  auto done = Change(a, {CacheItem::Attributes(7)});
  tracker_.Expire(now_ + std::chrono::milliseconds(999));
  EXPECT_FALSE(*done);
  EXPECT_TRUE(b_->lost.empty());
  tracker_.Expire(now_ + std::chrono::milliseconds(1000));
  EXPECT_TRUE(*done);
  EXPECT_EQ(b_->lost.size(), 1u);
  EXPECT_FALSE(GrantNow(b, {CacheItem::Attributes(7)}));  // forgotten: nothing granted any more
}

TEST_F(CacheTrackerTest, ClosedSessionReleasesTheChangesWaitingForIt) {
  auto a = Add(a_), b = Add(b_);
  ASSERT_TRUE(GrantNow(b, {CacheItem::Attributes(7)}));
  auto done = Change(a, {CacheItem::Attributes(7)});
  tracker_.RemoveSession(b);
  EXPECT_TRUE(*done);
  EXPECT_TRUE(b_->lost.empty());
}

TEST_F(CacheTrackerTest, LateAcknowledgementIsIgnored) {
  auto a = Add(a_), b = Add(b_);
  ASSERT_TRUE(GrantNow(b, {CacheItem::Attributes(7)}));
  Change(a, {CacheItem::Attributes(7)});
  tracker_.Expire(now_ + std::chrono::seconds(2));
  tracker_.Ack(b, b_->last_push_id());
  tracker_.Ack(b, 12345);
  EXPECT_EQ(b_->lost.size(), 1u);
}

TEST_F(CacheTrackerTest, ExpireUntilDeclaresTheSilentSessionLost) {
  CacheTracker tracker(CacheTrackerOptions{.ack_timeout_ms = 20});
  auto a = tracker.AddSession("vol", a_), b = tracker.AddSession("vol", b_);
  std::promise<void> lost;
  b_->on_lost = [&lost] { lost.set_value(); };
  std::jthread expirer([&tracker](std::stop_token stop) { tracker.ExpireUntil(stop); });
  ASSERT_TRUE(tracker.Grant(b, std::vector{CacheItem::Attributes(7)}, tracker.Sequence(), Clock::now()));
  std::promise<void> done;
  tracker.Change(a, std::vector{CacheItem::Attributes(7)}, Clock::now(), [&done] { done.set_value(); });
  done.get_future().wait();
  lost.get_future().wait();
}

// ---------------------------------------------------------------- bounds

TEST_F(CacheTrackerTest, FullSessionIsToldToDropEverythingAndStartsAfresh) {
  auto a = Add(a_), b = Add(b_);
  for (uint64_t node = 1; node <= 8; ++node) ASSERT_TRUE(GrantNow(b, {CacheItem::Attributes(node)}));
  EXPECT_FALSE(GrantNow(b, {CacheItem::Attributes(9)}));
  ASSERT_EQ(b_->pushes.size(), 1u);
  EXPECT_TRUE(b_->pushes[0].second.all);
  EXPECT_FALSE(GrantNow(b, {CacheItem::Attributes(10)}));  // until it has dropped everything
  // Still tracked meanwhile: a change waits for it.
  auto done = Change(a, {CacheItem::Attributes(3)});
  EXPECT_FALSE(*done);
  tracker_.Ack(b, b_->pushes[1].first);
  EXPECT_TRUE(*done);
  tracker_.Ack(b, b_->pushes[0].first);
  EXPECT_EQ(tracker_.TrackedItems(b), 0u);
  EXPECT_TRUE(GrantNow(b, {CacheItem::Attributes(10)}));
}

TEST_F(CacheTrackerTest, ItemInvalidatedTooOftenIsNotGrantedForAWhile) {
  auto a = Add(a_), b = Add(b_);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(GrantNow(b, {CacheItem::Attributes(7)})) << i;
    Change(a, {CacheItem::Attributes(7)});
    tracker_.Ack(b, b_->last_push_id());
  }
  EXPECT_FALSE(GrantNow(b, {CacheItem::Attributes(7)}));
  EXPECT_TRUE(GrantNow(b, {CacheItem::Attributes(8)}));
  now_ += std::chrono::milliseconds(5001);
  EXPECT_TRUE(GrantNow(b, {CacheItem::Attributes(7)}));
}

TEST_F(CacheTrackerTest, SessionWithoutPushesIsNeverGrantedButItsChangesPushOthers) {
  auto old_client = Add(nullptr), b = Add(b_);
  EXPECT_FALSE(GrantNow(old_client, {CacheItem::Attributes(7)}));
  ASSERT_TRUE(GrantNow(b, {CacheItem::Attributes(7)}));
  EXPECT_FALSE(*Change(old_client, {CacheItem::Attributes(7)}));
  EXPECT_EQ(b_->pushes.size(), 1u);
}

}  // namespace
}  // namespace shoal::server
