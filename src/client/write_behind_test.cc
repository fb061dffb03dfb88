#include "client/write_behind.h"

#include <optional>

#include <gtest/gtest.h>

namespace shoal::client {
namespace {

// A server that answers only when the test says so, in whatever order it says.
class FakeServer {
 public:
  struct Sent {
    NodeId node;
    uint64_t offset;
    bool append;
    std::string data;
    Written done;
  };

  WriteSender Sender() {
    return [this](std::shared_ptr<OpenFile> file, uint64_t offset, bool append, net::Bulk data, Written done) {
      sent_.push_back({file->node, offset, append, std::string(net::View(data)), std::move(done)});
    };
  }
  const Sent& sent(size_t i) const { return sent_.at(i); }
  size_t count() const { return sent_.size(); }
  bool answered(size_t i) const { return !sent_.at(i).done; }
  // Answers request `i`: the whole size by default.
  void Answer(size_t i, std::optional<Result<uint32_t>> result = std::nullopt) {
    Written done = std::move(sent_.at(i).done);
    ASSERT_TRUE(done) << "request " << i << " answered twice";
    done(result ? std::move(*result) : Result<uint32_t>(static_cast<uint32_t>(sent_[i].data.size())));
  }
  void AnswerEverything() {
    for (size_t i = 0; i < sent_.size(); ++i)  // answers may send more
      if (sent_[i].done) Answer(i);
  }

 private:
  std::vector<Sent> sent_;
};

// What a write's caller was told, once it was told.
struct Told {
  bool yet = false;
  Result<uint32_t> result = Status(Code::kIoError, "not told");
  Written Callback() {
    return [this](Result<uint32_t> r) {
      EXPECT_FALSE(yet) << "told twice";
      yet = true;
      result = std::move(r);
    };
  }
};

std::string Data(size_t size, char c = 'x') { return std::string(size, c); }

std::shared_ptr<OpenFile> File(NodeId node) {
  auto file = std::make_shared<OpenFile>();
  file->node = node;
  return file;
}

class WriteBehindTest : public ::testing::Test {
 protected:
  void TearDown() override { server_.AnswerEverything(); }  // before ~WriteBehind, which waits

  WriteBehind& Make(WriteBehindOptions options = {}) {
    writes_ = std::make_unique<WriteBehind>(server_.Sender(), options);
    return *writes_;
  }

  FakeServer server_;
  std::unique_ptr<WriteBehind> writes_;
};

TEST_F(WriteBehindTest, SequentialWritesAreAcceptedAtOnceAndAllInFlight) {
  WriteBehind& writes = Make();
  auto file = File(7);
  Told told[4];
  for (int i = 0; i < 4; ++i) writes.Write(file, i * 1024, Data(1024), false, told[i].Callback());
  for (auto& t : told) {
    ASSERT_TRUE(t.yet);
    EXPECT_EQ(*t.result, 1024u);
  }
  ASSERT_EQ(server_.count(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(server_.sent(i).offset, i * 1024);
}

// The caller's next write can then start while this one's bytes are copied and sent.
TEST_F(WriteBehindTest, WriteIsAnsweredBeforeItIsSent) {
  WriteBehind& writes = Make();
  size_t sent_when_answered = 99;
  writes.Write(File(7), 0, Data(10), false, [&](Result<uint32_t>) { sent_when_answered = server_.count(); });
  EXPECT_EQ(sent_when_answered, 0u);
  EXPECT_EQ(server_.count(), 1u);
  EXPECT_EQ(server_.sent(0).data, Data(10));
}

TEST_F(WriteBehindTest, OverlappingWriteIsSentOnlyAfterTheEarlierOneIsAnswered) {
  WriteBehind& writes = Make();
  auto file = File(7);
  Told first, second, elsewhere;
  writes.Write(file, 0, Data(10, 'a'), false, first.Callback());
  writes.Write(file, 5, Data(10, 'b'), false, second.Callback());
  writes.Write(file, 100, Data(10, 'c'), false, elsewhere.Callback());
  EXPECT_TRUE(first.yet && second.yet && elsewhere.yet);  // all accepted
  ASSERT_EQ(server_.count(), 2u);                          // the overlapping one held back
  EXPECT_EQ(server_.sent(1).data, std::string(10, 'c'));
  server_.Answer(1);
  EXPECT_EQ(server_.count(), 2u);
  server_.Answer(0);
  ASSERT_EQ(server_.count(), 3u);
  EXPECT_EQ(server_.sent(2).offset, 5u);
  EXPECT_EQ(server_.sent(2).data, std::string(10, 'b'));
}

TEST_F(WriteBehindTest, WritesToOtherNodesDoNotWaitForEachOther) {
  WriteBehind& writes = Make();
  Told a, b;
  writes.Write(File(1), 0, Data(10), false, a.Callback());
  writes.Write(File(2), 0, Data(10), false, b.Callback());
  EXPECT_EQ(server_.count(), 2u);
}

TEST_F(WriteBehindTest, AppendWaitsForEarlierWritesIsAnsweredByTheServerAndHoldsBackLaterOnes) {
  WriteBehind& writes = Make();
  auto file = File(7);
  Told before, append, after;
  writes.Write(file, 1000, Data(10), false, before.Callback());
  writes.Write(file, 0, Data(3, 'A'), true, append.Callback());
  writes.Write(file, 5000, Data(10), false, after.Callback());
  EXPECT_TRUE(before.yet);
  EXPECT_FALSE(append.yet);
  EXPECT_TRUE(after.yet);
  ASSERT_EQ(server_.count(), 1u);
  server_.Answer(0);
  ASSERT_EQ(server_.count(), 2u);
  EXPECT_TRUE(server_.sent(1).append);
  EXPECT_FALSE(append.yet);
  server_.Answer(1, Result<uint32_t>(3u));
  ASSERT_TRUE(append.yet);
  EXPECT_EQ(*append.result, 3u);
  ASSERT_EQ(server_.count(), 3u);
  EXPECT_EQ(server_.sent(2).offset, 5000u);
}

TEST_F(WriteBehindTest, BudgetHoldsBackTheAnswerUntilAnEarlierWriteIsAnswered) {
  WriteBehind& writes = Make({.in_flight_bytes_max = 2048});
  Told told[3];
  for (int i = 0; i < 3; ++i) writes.Write(File(i + 1), 0, Data(1024), false, told[i].Callback());
  EXPECT_TRUE(told[0].yet && told[1].yet);
  EXPECT_FALSE(told[2].yet);
  EXPECT_EQ(server_.count(), 2u);
  server_.Answer(1);
  EXPECT_TRUE(told[2].yet);
  EXPECT_EQ(server_.count(), 3u);
}

TEST_F(WriteBehindTest, BudgetCountsWritesToo) {
  WriteBehind& writes = Make({.in_flight_writes_max = 2});
  Told told[3];
  for (int i = 0; i < 3; ++i) writes.Write(File(1), i * 10, Data(10), false, told[i].Callback());
  EXPECT_FALSE(told[2].yet);
  server_.Answer(0);
  EXPECT_TRUE(told[2].yet);
}

TEST_F(WriteBehindTest, WriteLargerThanTheWholeBudgetStillGoesAlone) {
  WriteBehind& writes = Make({.in_flight_bytes_max = 100});
  Told big, next;
  writes.Write(File(1), 0, Data(1000), false, big.Callback());
  writes.Write(File(1), 1000, Data(10), false, next.Callback());
  EXPECT_TRUE(big.yet);
  EXPECT_FALSE(next.yet);
  server_.Answer(0);
  EXPECT_TRUE(next.yet);
}

TEST_F(WriteBehindTest, BarrierWithNothingPendingRunsAtOnce) {
  WriteBehind& writes = Make();
  bool ran = false;
  writes.AfterWrites(7, [&] { ran = true; });
  EXPECT_TRUE(ran);
}

TEST_F(WriteBehindTest, BarrierWaitsForEarlierWritesOfItsNodeOnly) {
  WriteBehind& writes = Make();
  auto file = File(7);
  Told a, b, other;
  writes.Write(file, 0, Data(10), false, a.Callback());
  writes.Write(File(8), 0, Data(10), false, other.Callback());
  bool ran = false;
  writes.AfterWrites(7, [&] { ran = true; });
  writes.Write(file, 10, Data(10), false, b.Callback());  // after the barrier: not waited for
  EXPECT_FALSE(ran);
  EXPECT_TRUE(writes.MayBeStale(7, writes.Since()));
  server_.Answer(0);
  EXPECT_TRUE(ran);
  EXPECT_FALSE(server_.answered(2));
}

TEST_F(WriteBehindTest, BarrierWaitsForWritesStillWaitingForTheBudget) {
  WriteBehind& writes = Make({.in_flight_bytes_max = 10});
  Told a, b;
  writes.Write(File(1), 0, Data(10), false, a.Callback());
  writes.Write(File(2), 0, Data(10), false, b.Callback());
  bool ran = false;
  writes.AfterWrites(2, [&] { ran = true; });
  server_.Answer(0);  // admits and sends the write to node 2
  EXPECT_FALSE(ran);
  server_.Answer(1);
  EXPECT_TRUE(ran);
}

TEST_F(WriteBehindTest, ShortWriteIsContinuedWithTheRest) {
  WriteBehind& writes = Make();
  Told told;
  writes.Write(File(1), 100, "0123456789", false, told.Callback());
  server_.Answer(0, Result<uint32_t>(4u));
  ASSERT_EQ(server_.count(), 2u);
  EXPECT_EQ(server_.sent(1).offset, 104u);
  EXPECT_EQ(server_.sent(1).data, "456789");
}

TEST_F(WriteBehindTest, WriteEndingPastTheLimitWaitsForTheServerAndGetsItsOwnError) {
  WriteBehind& writes = Make({.behind_end_bytes_max = 1000});
  auto file = File(1);
  Told told;
  writes.Write(file, 995, Data(10), false, told.Callback());
  EXPECT_FALSE(told.yet);
  server_.Answer(0, Status(Code::kFileTooBig, "too big"));
  ASSERT_TRUE(told.yet);
  EXPECT_EQ(told.result.status().code(), Code::kFileTooBig);
  EXPECT_TRUE(WriteBehind::TakeError(*file).ok());  // told already: not kept for later
}

TEST_F(WriteBehindTest, MayBeStaleWhileAWriteOfTheNodeIsPendingOrWasAnsweredSince) {
  WriteBehind& writes = Make();
  const uint64_t before = writes.Since();
  Told told;
  writes.Write(File(7), 0, Data(10), false, told.Callback());
  EXPECT_TRUE(writes.MayBeStale(7, before));
  EXPECT_FALSE(writes.MayBeStale(8, before));
  server_.Answer(0);
  EXPECT_TRUE(writes.MayBeStale(7, before));  // answered after the request went
  EXPECT_FALSE(writes.MayBeStale(7, writes.Since()));
}

// ---------------------------------------------------------------- errors

TEST_F(WriteBehindTest, FailedWriteIsReturnedByTheNextWriteWhichIsNotMade) {
  WriteBehind& writes = Make();
  auto file = File(1);
  Told first, second, third;
  writes.Write(file, 0, Data(10), false, first.Callback());
  ASSERT_TRUE(first.yet && first.result.ok());
  server_.Answer(0, Status(Code::kNoSpace, "brick full"));
  writes.Write(file, 10, Data(10), false, second.Callback());
  ASSERT_TRUE(second.yet);
  EXPECT_EQ(second.result.status().code(), Code::kNoSpace);
  EXPECT_EQ(server_.count(), 1u);
  writes.Write(file, 10, Data(10), false, third.Callback());  // reported once
  EXPECT_TRUE(third.result.ok());
}

TEST_F(WriteBehindTest, FailedWriteIsKeptForWhatComesAfterTheBarrier) {
  WriteBehind& writes = Make();
  auto file = File(1);
  Told told;
  writes.Write(file, 0, Data(10), false, told.Callback());
  Status found;
  writes.AfterWrites(1, [&] { found = WriteBehind::TakeError(*file); });
  server_.Answer(0, Status(Code::kIoError, "disk gone"));
  EXPECT_EQ(found.code(), Code::kIoError);
  EXPECT_TRUE(WriteBehind::TakeError(*file).ok());
}

// A flush comes from any close(2) of the open file, another process's too (a forked child that
// inherited the descriptor): it reports the error but leaves it for the writer's fsync.
TEST_F(WriteBehindTest, FailedWriteReportedByAFlushIsStillReturnedByFsync) {
  WriteBehind& writes = Make();
  auto file = File(1);
  Told told;
  writes.Write(file, 0, Data(10), false, told.Callback());
  server_.Answer(0, Status(Code::kUnavailable, "no server reachable"));
  EXPECT_TRUE(WriteBehind::ErrorUntold(*file));
  EXPECT_FALSE(WriteBehind::ErrorOf(*file).ok());  // the child's close
  EXPECT_FALSE(WriteBehind::ErrorUntold(*file));
  EXPECT_EQ(WriteBehind::ErrorOf(*file).code(), Code::kUnavailable);  // the writer's own close
  EXPECT_EQ(WriteBehind::TakeError(*file).code(), Code::kUnavailable);  // the writer's fsync
  EXPECT_TRUE(WriteBehind::ErrorOf(*file).ok());
}

TEST_F(WriteBehindTest, FailedWriteNobodyWasToldOfIsUntold) {
  WriteBehind& writes = Make();
  auto file = File(1);
  Told told;
  writes.Write(file, 0, Data(10), false, told.Callback());
  EXPECT_FALSE(WriteBehind::ErrorUntold(*file));
  server_.Answer(0, Status(Code::kNoSpace, "brick full"));
  EXPECT_TRUE(WriteBehind::ErrorUntold(*file));  // release logs it
}

TEST_F(WriteBehindTest, FailedWriteStaysWithItsOwnFile) {
  WriteBehind& writes = Make();
  auto failing = File(1), other = File(1);
  Told a, b;
  writes.Write(failing, 0, Data(10), false, a.Callback());
  server_.Answer(0, Status(Code::kNoSpace, "brick full"));
  writes.Write(other, 0, Data(10), false, b.Callback());
  EXPECT_TRUE(b.result.ok());
  EXPECT_EQ(WriteBehind::TakeError(*failing).code(), Code::kNoSpace);
}

}  // namespace
}  // namespace shoal::client
