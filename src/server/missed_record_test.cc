#include "server/missed_record.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace shoal::server {
namespace {

using ::testing::UnorderedElementsAre;

// A write through an open file of node `node` (its times set too, as a primary forwards it).
proto::ReplicateRequest WriteTo(uint64_t node) {
  proto::ReplicateRequest forward;
  forward.mutable_request()->mutable_write()->set_handle(9);
  forward.set_node(node);
  forward.add_times()->set_node(node);
  return forward;
}

// A create of node `node` in directory `parent`.
proto::ReplicateRequest Create(uint64_t parent, uint64_t node) {
  proto::ReplicateRequest forward;
  forward.mutable_request()->mutable_create()->set_parent(parent);
  forward.mutable_request()->mutable_create()->set_name("f");
  forward.set_node_id(node);
  forward.add_times()->set_node(node);
  forward.add_times()->set_node(parent);
  return forward;
}

proto::ReplicateRequest Rename(uint64_t from, uint64_t to) {
  proto::ReplicateRequest forward;
  forward.mutable_request()->mutable_rename()->set_parent(from);
  forward.mutable_request()->mutable_rename()->set_new_parent(to);
  return forward;
}

TEST(MissedRecordTest, TouchedNodesAreThoseNamedCreatedAndTimed) {
  std::unordered_set<uint64_t> nodes;
  AddTouched(Create(1, 40), nodes);
  AddTouched(Rename(5, 6), nodes);
  AddTouched(WriteTo(41), nodes);
  EXPECT_THAT(nodes, UnorderedElementsAre(1, 40, 5, 6, 41));
}

TEST(MissedRecordTest, ABrickMissesEverythingFromItsFirstUnconfirmedChangeOn) {
  MissedRecord record;
  record.Note(1, WriteTo(10));
  record.Note(2, WriteTo(20));  // in flight when the brick left: not confirmed
  record.Note(3, WriteTo(30));
  record.Depart(2, "s2:/b", 2);
  record.Note(4, Create(1, 40));
  auto missed = record.Missed(2, "s2:/b");
  ASSERT_TRUE(missed.has_value());
  EXPECT_THAT(*missed, UnorderedElementsAre(20, 30, 1, 40));
  EXPECT_FALSE(record.Missed(1, "s1:/b").has_value());  // never left: nothing known
}

TEST(MissedRecordTest, ABrickThatConfirmedEverythingMissesOnlyWhatComesAfter) {
  MissedRecord record;
  record.Note(1, WriteTo(10));
  record.Depart(0, "s1:/b", 2);
  EXPECT_THAT(*record.Missed(0, "s1:/b"), ::testing::IsEmpty());
  record.Note(2, WriteTo(20));
  EXPECT_THAT(*record.Missed(0, "s1:/b"), UnorderedElementsAre(20));
}

TEST(MissedRecordTest, NothingIsKnownWhenTheRecordDoesNotReachBackFarEnough) {
  MissedRecord record;
  for (uint64_t lsn = 1; lsn <= MissedRecord::kRecentMax + 10; ++lsn) record.Note(lsn, WriteTo(lsn));
  record.Depart(1, "s2:/b", 5);  // change 5 is long forgotten
  EXPECT_FALSE(record.Missed(1, "s2:/b").has_value());
  record.Depart(1, "s2:/b", MissedRecord::kRecentMax + 5);
  EXPECT_EQ(record.Missed(1, "s2:/b")->size(), 6u);
}

TEST(MissedRecordTest, ABrickMovedElsewhereOrForgottenHasNoRecord) {
  MissedRecord record;
  record.Depart(1, "s2:/b", 1);
  record.Note(1, WriteTo(10));
  EXPECT_FALSE(record.Missed(1, "s9:/new").has_value());  // replace-brick
  EXPECT_TRUE(record.Missed(1, "s2:/b").has_value());
  record.Forget(1);
  EXPECT_FALSE(record.Missed(1, "s2:/b").has_value());
}

}  // namespace
}  // namespace shoal::server
