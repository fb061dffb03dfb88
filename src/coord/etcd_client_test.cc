// EtcdClient against a real single-member etcd on 127.0.0.1, started once for the suite. Each test
// works under its own key prefix (the test's name), so tests do not see each other's keys.
#include "coord/etcd_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/unique_fd.h"
#include "coord/etcd_member.h"
#include "coord/etcd_test_util.h"
#include "net/http_test_server.h"

namespace shoal::coord {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

class EtcdClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    member_ = new EtcdMember(testing::TestMemberOptions("m1", "127.0.0.1", dir_->path()));
    Status started = member_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
  }
  static void TearDownTestSuite() {
    delete member_;  // stops it
    delete dir_;
  }
  void SetUp() override {
    ASSERT_TRUE(member_->running());
    prefix_ = std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "/";
  }

  EtcdClient client_{testing::ClientOptions({member_})};
  std::string prefix_;
  static TempDir* dir_;
  static EtcdMember* member_;
};

TempDir* EtcdClientTest::dir_ = nullptr;
EtcdMember* EtcdClientTest::member_ = nullptr;

TEST_F(EtcdClientTest, PutThenGet) {
  auto put = client_.Put({.key = prefix_ + "a", .value = "one"});
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  auto got = client_.Get(prefix_ + "a");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->value, "one");
  EXPECT_EQ((*got)->mod_revision, put->revision);
  EXPECT_EQ((*got)->version, 1);
}

TEST_F(EtcdClientTest, GetOfAnAbsentKeyIsEmpty) {
  auto got = client_.Get(prefix_ + "absent");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_FALSE(got->has_value());
}

TEST_F(EtcdClientTest, KeysAndValuesAreBytes) {
  const std::string key = prefix_ + std::string("\0\xff\n", 3);
  const std::string value("\0\x01\xfe\xff", 4);
  ASSERT_TRUE(client_.Put({.key = key, .value = value}).ok());
  auto got = client_.Get(key);
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status().ToString();
  EXPECT_EQ((*got)->key, key);
  EXPECT_EQ((*got)->value, value);
}

TEST_F(EtcdClientTest, RangeOfAPrefixIsInKeyOrder) {
  for (const char* name : {"b", "a", "c"}) ASSERT_TRUE(client_.Put({.key = prefix_ + "dir/" + name, .value = name}).ok());
  ASSERT_TRUE(client_.Put({.key = prefix_ + "dir0", .value = "outside"}).ok());  // just past the prefix
  auto range = client_.Range({.key = prefix_ + "dir/", .prefix = true});
  ASSERT_TRUE(range.ok()) << range.status().ToString();
  ASSERT_EQ(range->kvs.size(), 3u);
  EXPECT_EQ(range->kvs[0].value, "a");
  EXPECT_EQ(range->kvs[2].value, "c");
  EXPECT_EQ(range->count, 3);
  EXPECT_FALSE(range->more);
}

TEST_F(EtcdClientTest, RangeWithALimitSaysThereIsMore) {
  for (const char* name : {"a", "b", "c"}) ASSERT_TRUE(client_.Put({.key = prefix_ + name, .value = name}).ok());
  auto range = client_.Range({.key = prefix_, .prefix = true, .limit = 2});
  ASSERT_TRUE(range.ok()) << range.status().ToString();
  EXPECT_EQ(range->kvs.size(), 2u);
  EXPECT_EQ(range->count, 3);
  EXPECT_TRUE(range->more);
}

TEST_F(EtcdClientTest, DeleteOneKeyAndAPrefix) {
  for (const char* name : {"x/1", "x/2", "y"}) ASSERT_TRUE(client_.Put({.key = prefix_ + name, .value = "v"}).ok());
  auto one = client_.Delete({.key = prefix_ + "y"});
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(one->deleted, 1);
  auto prefix = client_.Delete({.key = prefix_ + "x/", .prefix = true});
  ASSERT_TRUE(prefix.ok()) << prefix.status().ToString();
  EXPECT_EQ(prefix->deleted, 2);
  auto left = client_.Range({.key = prefix_, .prefix = true});
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->kvs.empty());
}

// The replica-set record's update: a compare-and-swap on the revision it was read at.
TEST_F(EtcdClientTest, TxnSwapsWhenTheRevisionStillMatches) {
  const std::string key = prefix_ + "record";
  auto created = client_.Put({.key = key, .value = "epoch 1"});
  ASSERT_TRUE(created.ok());
  auto txn = client_.Txn({.compare = {{.key = key, .target = Compare::Target::kModRevision, .number = created->revision}},
                          .success = {PutRequest{.key = key, .value = "epoch 2"}},
                          .failure = {RangeRequest{.key = key}}});
  ASSERT_TRUE(txn.ok()) << txn.status().ToString();
  EXPECT_TRUE(txn->succeeded);
  EXPECT_GT(txn->revision, created->revision);
  auto got = client_.Get(key);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->value, "epoch 2");
  EXPECT_EQ((*got)->mod_revision, txn->revision);
}

TEST_F(EtcdClientTest, TxnFailsWhenSomeoneChangedTheRecordAndReturnsTheCurrentOne) {
  const std::string key = prefix_ + "record";
  auto read = client_.Put({.key = key, .value = "epoch 1"});
  ASSERT_TRUE(read.ok());
  auto other = client_.Put({.key = key, .value = "epoch 2 by another primary"});
  ASSERT_TRUE(other.ok());
  auto txn = client_.Txn({.compare = {{.key = key, .target = Compare::Target::kModRevision, .number = read->revision}},
                          .success = {PutRequest{.key = key, .value = "epoch 2"}},
                          .failure = {RangeRequest{.key = key}}});
  ASSERT_TRUE(txn.ok()) << txn.status().ToString();
  EXPECT_FALSE(txn->succeeded);
  ASSERT_EQ(txn->responses.size(), 1u);
  const auto& current = std::get<RangeResponse>(txn->responses[0]);
  ASSERT_EQ(current.kvs.size(), 1u);
  EXPECT_EQ(current.kvs[0].value, "epoch 2 by another primary");
  EXPECT_EQ(current.kvs[0].mod_revision, other->revision);
}

TEST_F(EtcdClientTest, TxnCreatesOnlyIfAbsent) {
  const std::string key = prefix_ + "volume";
  TxnRequest create{.compare = {{.key = key, .target = Compare::Target::kVersion, .number = 0}},
                    .success = {PutRequest{.key = key, .value = "definition"}}};
  auto first = client_.Txn(create);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->succeeded);
  auto second = client_.Txn(create);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_FALSE(second->succeeded);
}

TEST_F(EtcdClientTest, TxnComparesValues) {
  const std::string key = prefix_ + "k";
  ASSERT_TRUE(client_.Put({.key = key, .value = "a"}).ok());
  auto txn = client_.Txn({.compare = {{.key = key, .target = Compare::Target::kValue, .value = "a"}},
                          .success = {DeleteRequest{.key = key}}});
  ASSERT_TRUE(txn.ok()) << txn.status().ToString();
  EXPECT_TRUE(txn->succeeded);
  EXPECT_EQ(std::get<DeleteResponse>(txn->responses.at(0)).deleted, 1);
}

// The primary's lease: 1 s, as heartbeat 50 ms / election 500 ms allow.
TEST_F(EtcdClientTest, LeaseOfOneSecondIsGranted) {
  auto lease = client_.GrantLease(1);
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  EXPECT_NE(lease->id, 0);
  EXPECT_EQ(lease->ttl_s, 1);
  auto renewed = client_.KeepAlive(lease->id);
  ASSERT_TRUE(renewed.ok()) << renewed.status().ToString();
  EXPECT_EQ(renewed->ttl_s, 1);
  EXPECT_TRUE(client_.RevokeLease(lease->id).ok());
}

TEST_F(EtcdClientTest, RevokingALeaseDeletesItsKeys) {
  auto lease = client_.GrantLease(30);
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  ASSERT_TRUE(client_.Put({.key = prefix_ + "primary", .value = "s1", .lease = lease->id}).ok());
  auto got = client_.Get(prefix_ + "primary");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->lease, lease->id);

  Status revoked = client_.RevokeLease(lease->id);
  ASSERT_TRUE(revoked.ok()) << revoked.ToString();
  got = client_.Get(prefix_ + "primary");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
}

TEST_F(EtcdClientTest, ALeaseNotKeptAliveExpiresWithItsKeys) {
  auto lease = client_.GrantLease(1);
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  ASSERT_TRUE(client_.Put({.key = prefix_ + "primary", .value = "s1", .lease = lease->id}).ok());
  // Wait for the key to go, up to a generous deadline: etcd expires leases on its own clock.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool gone = false;
  while (!gone && std::chrono::steady_clock::now() < deadline) {
    auto got = client_.Get(prefix_ + "primary");
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    gone = !got->has_value();
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(50));  // poll interval, not a sync point
  }
  EXPECT_TRUE(gone);
  EXPECT_EQ(client_.KeepAlive(lease->id).status().code(), Code::kNotFound);
}

TEST_F(EtcdClientTest, MemberListHasTheOneMember) {
  auto members = client_.MemberList();
  ASSERT_TRUE(members.ok()) << members.status().ToString();
  ASSERT_EQ(members->size(), 1u);
  EXPECT_EQ(members->front().name, "m1");
  EXPECT_THAT(members->front().client_urls, ::testing::ElementsAre(member_->client_url()));
  EXPECT_THAT(members->front().peer_urls, ::testing::ElementsAre(member_->peer_url()));
}

TEST_F(EtcdClientTest, StatusNamesTheLeader) {
  auto status = client_.MemberStatus();
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_THAT(status->version, ::testing::StartsWith("3.4."));
  EXPECT_EQ(status->leader, status->member_id);
  EXPECT_NE(status->leader, 0u);
}

TEST_F(EtcdClientTest, TriesTheNextEndpointWhenOneRefuses) {
  EtcdOptions options = testing::ClientOptions({member_});
  uint16_t nobody = testing::FreePorts("127.0.0.1", 1)[0];
  options.endpoints.insert(options.endpoints.begin(), HostPort{.host = "127.0.0.1", .port = nobody});
  EtcdClient client(options);
  EXPECT_TRUE(client.Put({.key = prefix_ + "k", .value = "v"}).ok());
  EXPECT_TRUE(client.Get(prefix_ + "k").ok());
}

// An etcd endpoint that answers each connection with the next of `answers` (HTTP status, JSON
// body), and counts the requests it got.
class ScriptedEndpoint {
 public:
  explicit ScriptedEndpoint(std::vector<std::pair<int, std::string>> answers) {
    fd_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_.get(), 16), 0);
    socklen_t length = sizeof addr;
    ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&addr), &length);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, answers = std::move(answers)] {
      for (const auto& [status, body] : answers) {
        UniqueFd connection(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!connection.valid()) return;
        std::string request;
        char buffer[4096];
        // The request's headers and body (small: one read after the headers is enough here).
        while (request.find("\r\n\r\n") == std::string::npos) {
          ssize_t n = ::read(connection.get(), buffer, sizeof buffer);
          if (n <= 0) break;
          request.append(buffer, n);
        }
        ++requests_;
        const std::string answer = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\n" +
                                   "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        [[maybe_unused]] ssize_t n = ::write(connection.get(), answer.data(), answer.size());
      }
    });
  }
  ~ScriptedEndpoint() {
    ::shutdown(fd_.get(), SHUT_RDWR);  // ends an accept still waiting
    if (thread_.joinable()) thread_.join();
  }
  HostPort address() const { return {.host = "127.0.0.1", .port = port_}; }
  int requests() const { return requests_; }

 private:
  UniqueFd fd_;
  uint16_t port_ = 0;
  std::atomic<int> requests_{0};
  std::thread thread_;
};

const char* const kDropped = R"({"error":"raft proposal dropped","code":2,"message":"raft proposal dropped"})";
const char* const kPutAnswer = R"({"header":{"cluster_id":"1","member_id":"2","revision":"7","raft_term":"3"}})";

// A change etcd dropped during a leadership transfer was never committed: it is sent again, and
// the caller sees only the answer to that.
TEST(EtcdClientScriptedTest, ADroppedProposalIsSentAgain) {
  ScriptedEndpoint endpoint({{500, kDropped}, {500, kDropped}, {200, kPutAnswer}});
  EtcdClient client({.endpoints = {endpoint.address()}, .request_timeout_ms = 1000});
  auto put = client.Put({.key = "k", .value = "v"});
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->revision, 7);
  EXPECT_EQ(endpoint.requests(), 3);
}

// Any other refusal of a change is the caller's to handle: it is not sent again.
TEST(EtcdClientScriptedTest, OtherRefusalsOfAChangeAreNotSentAgain) {
  ScriptedEndpoint endpoint({{400, R"({"error":"bad","code":3,"message":"etcdserver: bad request"})"}, {200, kPutAnswer}});
  EtcdClient client({.endpoints = {endpoint.address()}, .request_timeout_ms = 1000});
  auto put = client.Put({.key = "k", .value = "v"});
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(endpoint.requests(), 1);
}

// Reads and renewals go on one kept-alive connection; every change on a connection of its own,
// so that one that failed can tell "not sent" from "sent and lost".
TEST(EtcdClientScriptedTest, ReadsShareAConnectionChangesDoNot) {
  const std::string body = R"({"header":{"revision":"7"},"kvs":[],"count":"0"})";
  net::testing::KeepAliveServer endpoint("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                                         std::to_string(body.size()) + "\r\n\r\n" + body);
  EtcdClient client({.endpoints = {endpoint.address()}, .request_timeout_ms = 1000});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client.Range({.key = "k"}).ok()) << i;
  ASSERT_TRUE(client.Txn({.success = {RangeRequest{.key = "a"}, RangeRequest{.key = "b"}}}).ok());
  EXPECT_EQ(endpoint.connections(), 1);
  ASSERT_TRUE(client.Put({.key = "k", .value = "v"}).ok());
  ASSERT_TRUE(client.Txn({.success = {PutRequest{.key = "k", .value = "w"}}}).ok());
  EXPECT_EQ(endpoint.connections(), 3);
  EXPECT_EQ(endpoint.requests(), 8);
}

// ---- errors ----

TEST_F(EtcdClientTest, NoEndpointAnsweringIsUnavailableAndNamesEach) {
  std::vector<uint16_t> ports = testing::FreePorts("127.0.0.1", 2);
  EtcdClient client({.endpoints = {{.host = "127.0.0.1", .port = ports[0]}, {.host = "127.0.0.1", .port = ports[1]}}});
  auto put = client.Put({.key = prefix_ + "k", .value = "v"});
  EXPECT_EQ(put.status().code(), Code::kUnavailable);
  EXPECT_THAT(put.status().message(), HasSubstr("127.0.0.1:" + std::to_string(ports[0]) + "/v3/kv/put"));
  EXPECT_THAT(put.status().message(), HasSubstr("127.0.0.1:" + std::to_string(ports[1]) + "/v3/kv/put"));
}

TEST_F(EtcdClientTest, NoEndpointsIsInvalidArgument) {
  EtcdClient client({});
  EXPECT_EQ(client.Get("k").status().code(), Code::kInvalidArgument);
}

TEST_F(EtcdClientTest, EtcdsRefusalCarriesItsMessage) {
  auto put = client_.Put({.key = "", .value = "v"});
  EXPECT_EQ(put.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(put.status().message(), HasSubstr("key is not provided"));
}

TEST_F(EtcdClientTest, RevokingAnUnknownLeaseIsNotFound) {
  auto lease = client_.GrantLease(30);
  ASSERT_TRUE(lease.ok());
  ASSERT_TRUE(client_.RevokeLease(lease->id).ok());
  Status again = client_.RevokeLease(lease->id);
  EXPECT_EQ(again.code(), Code::kNotFound);
  EXPECT_THAT(again.message(), HasSubstr("lease not found"));
  EXPECT_EQ(client_.KeepAlive(lease->id).status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace shoal::coord
