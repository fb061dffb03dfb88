// The gateway's JSON, checked against answers recorded from etcd 3.4.23.
#include "coord/etcd_wire.h"

#include <gtest/gtest.h>

namespace shoal::coord::wire {
namespace {

TEST(PrefixEndTest, IncrementsTheLastByte) {
  EXPECT_EQ(PrefixEnd("foo/"), "foo0");
  EXPECT_EQ(PrefixEnd("a"), "b");
}

TEST(PrefixEndTest, DropsTrailingFfBytes) {
  EXPECT_EQ(PrefixEnd(std::string("a\xff\xff", 3)), "b");
}

TEST(PrefixEndTest, AllFfMeansNoEnd) {
  EXPECT_EQ(PrefixEnd(std::string("\xff\xff", 2)), std::string(1, '\0'));
}

TEST(WireEncodeTest, PutCarriesBase64AndLeaseAsString) {
  Json json = ToJson(PutRequest{.key = "k", .value = "v", .lease = 7587862068134985000});
  EXPECT_EQ(json["key"], "aw==");
  EXPECT_EQ(json["value"], "dg==");
  EXPECT_EQ(json["lease"], "7587862068134985000");
}

TEST(WireEncodeTest, PrefixRangeHasARangeEnd) {
  Json json = ToJson(RangeRequest{.key = "foo/", .prefix = true});
  EXPECT_EQ(json["key"], "Zm9vLw==");
  EXPECT_EQ(json["range_end"], "Zm9vMA==");  // "foo0"
}

TEST(WireEncodeTest, EmptyPrefixMeansEveryKey) {
  Json json = ToJson(DeleteRequest{.key = "", .prefix = true});
  EXPECT_EQ(json["key"], "AA==");
  EXPECT_EQ(json["range_end"], "AA==");
}

TEST(WireEncodeTest, SerializableRangeSaysSoAndLinearizableLeavesItOut) {
  EXPECT_EQ(ToJson(RangeRequest{.key = "k", .serializable = true}).at("serializable"), true);
  EXPECT_FALSE(ToJson(RangeRequest{.key = "k"}).contains("serializable"));
}

TEST(WireEncodeTest, CompareOnModRevision) {
  Json json = ToJson(Compare{.key = "k", .target = Compare::Target::kModRevision, .number = 42});
  EXPECT_EQ(json, Json::parse(R"({"key":"aw==","target":"MOD","result":"EQUAL","mod_revision":"42"})"));
}

TEST(WireEncodeTest, CompareOnValue) {
  Json json = ToJson(Compare{.key = "k", .target = Compare::Target::kValue, .op = Compare::Op::kNotEqual, .value = "v"});
  EXPECT_EQ(json, Json::parse(R"({"key":"aw==","target":"VALUE","result":"NOT_EQUAL","value":"dg=="})"));
}

TEST(WireEncodeTest, TxnNamesEachOperation) {
  Json json = ToJson(TxnRequest{.compare = {Compare{.key = "k", .target = Compare::Target::kVersion}},
                                .success = {PutRequest{.key = "k", .value = "v"}, DeleteRequest{.key = "d"}},
                                .failure = {RangeRequest{.key = "k"}}});
  ASSERT_EQ(json["success"].size(), 2u);
  EXPECT_TRUE(json["success"][0].contains("request_put"));
  EXPECT_TRUE(json["success"][1].contains("request_delete_range"));
  EXPECT_TRUE(json["failure"][0].contains("request_range"));
  EXPECT_EQ(json["compare"][0]["version"], "0");
}

TEST(WireDecodeTest, RangeWithKeys) {
  auto json = Json::parse(R"({"header":{"cluster_id":"1","member_id":"2","revision":"2","raft_term":"2"},
    "kvs":[{"key":"Zm9vL2E=","create_revision":"2","mod_revision":"2","version":"1","value":"YmFy"}],"count":"1"})");
  RangeResponse range = RangeFromJson(json);
  EXPECT_EQ(range.revision, 2);
  EXPECT_EQ(range.count, 1);
  ASSERT_EQ(range.kvs.size(), 1u);
  EXPECT_EQ(range.kvs[0].key, "foo/a");
  EXPECT_EQ(range.kvs[0].value, "bar");
  EXPECT_EQ(range.kvs[0].mod_revision, 2);
  EXPECT_EQ(range.kvs[0].version, 1);
  EXPECT_EQ(range.kvs[0].lease, 0);
}

TEST(WireDecodeTest, RangeWithNothingLeavesOutKvsAndCount) {
  RangeResponse range = RangeFromJson(Json::parse(R"({"header":{"revision":"2"}})"));
  EXPECT_TRUE(range.kvs.empty());
  EXPECT_EQ(range.count, 0);
}

TEST(WireDecodeTest, FailedTxnLeavesOutSucceeded) {
  auto json = Json::parse(R"({"header":{"revision":"2"},"responses":[{"response_range":{"header":{"revision":"2"},
    "kvs":[{"key":"Zm9vL2E=","create_revision":"2","mod_revision":"2","version":"1","value":"YmFy"}],"count":"1"}}]})");
  TxnResponse txn = TxnFromJson(json);
  EXPECT_FALSE(txn.succeeded);
  ASSERT_EQ(txn.responses.size(), 1u);
  ASSERT_TRUE(std::holds_alternative<RangeResponse>(txn.responses[0]));
  EXPECT_EQ(std::get<RangeResponse>(txn.responses[0]).kvs[0].value, "bar");
}

TEST(WireDecodeTest, SucceededTxnWithPut) {
  TxnResponse txn = TxnFromJson(Json::parse(R"({"header":{"revision":"9"},"succeeded":true,
    "responses":[{"response_put":{"header":{"revision":"9"}}}]})"));
  EXPECT_TRUE(txn.succeeded);
  EXPECT_EQ(txn.revision, 9);
  EXPECT_TRUE(std::holds_alternative<PutResponse>(txn.responses.at(0)));
}

TEST(WireDecodeTest, MembersWithOneNotYetStarted) {
  auto json = Json::parse(R"({"header":{},"members":[
    {"ID":"13668033151171901709","name":"m1","peerURLs":["http://127.0.0.1:23801"],"clientURLs":["http://127.0.0.1:23791"]},
    {"ID":"17857206514942180994","peerURLs":["http://127.0.0.2:23802"]}]})");
  std::vector<Member> members = MembersFromJson(json);
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[0].id, 13668033151171901709u);  // above INT64_MAX
  EXPECT_EQ(members[0].name, "m1");
  EXPECT_EQ(members[0].client_urls.at(0), "http://127.0.0.1:23791");
  EXPECT_EQ(members[1].name, "");
  EXPECT_TRUE(members[1].client_urls.empty());
}

TEST(WireDecodeTest, StatusUsesCamelCaseFields) {
  auto json = Json::parse(R"({"header":{"member_id":"13668033151171901709","revision":"1"},"version":"3.4.23",
    "dbSize":"20480","leader":"13668033151171901709","raftIndex":"4","raftTerm":"2"})");
  EtcdStatus status = StatusFromJson(json);
  EXPECT_EQ(status.version, "3.4.23");
  EXPECT_EQ(status.member_id, 13668033151171901709u);
  EXPECT_EQ(status.leader, status.member_id);
  EXPECT_EQ(status.db_size_bytes, 20480);
  EXPECT_EQ(status.raft_index, 4u);
}

TEST(WireDecodeTest, NumbersMayAlsoComeAsNumbers) {
  EXPECT_EQ(Int64Field(Json::parse(R"({"n":5})"), "n"), 5);
  EXPECT_EQ(Int64Field(Json::parse(R"({"n":"-1"})"), "n"), -1);
  EXPECT_EQ(Int64Field(Json::parse(R"({})"), "n"), 0);
}

// ---- malformed answers ----

TEST(WireDecodeTest, NonNumericStringThrows) {
  EXPECT_THROW(Int64Field(Json::parse(R"({"n":"5x"})"), "n"), WireError);
}

TEST(WireDecodeTest, BadBase64Throws) {
  EXPECT_THROW(KeyValueFromJson(Json::parse(R"({"key":"!!!!"})")), WireError);
}

TEST(WireDecodeTest, WrongTypeThrows) {
  EXPECT_THROW(RangeFromJson(Json::parse(R"({"kvs":[{"key":5}]})")), Json::exception);
}

TEST(WireDecodeTest, LeaseGrantErrorThrows) {
  EXPECT_THROW(LeaseFromJson(Json::parse(R"({"ID":"0","error":"lease already exists"})")), WireError);
}

}  // namespace
}  // namespace shoal::coord::wire
