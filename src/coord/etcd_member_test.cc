// EtcdMember with real etcd processes: one member, its failures, and a three-member pool grown one
// member at a time on 127.0.0.1, 127.0.0.2 and 127.0.0.3 the way `shoal peer probe` will grow it.
#include "coord/etcd_member.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/unique_fd.h"
#include "coord/etcd_client.h"
#include "coord/etcd_test_util.h"

namespace shoal::coord {
namespace {

using ::testing::HasSubstr;
using testing::ClientOptions;
using testing::TempDir;
using testing::TestMemberOptions;

// Whether every thread of process `pid` is stopped (state T in /proc/PID/task/*/stat).
bool AllThreadsStopped(pid_t pid) {
  std::error_code error;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", error)) {
    std::ifstream stat(task.path() / "stat");
    std::string line;
    std::getline(stat, line);
    const size_t comm_end = line.rfind(')');  // the state follows the command name in parentheses
    if (comm_end == std::string::npos || comm_end + 2 >= line.size() || line[comm_end + 2] != 'T') return false;
  }
  return !error;
}

// Waits, at most 10 s, until SIGSTOP has stopped every thread of `pid`: the signal takes effect
// only as each thread is scheduled, and until then the process may still answer.
bool WaitUntilStopped(pid_t pid) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!AllThreadsStopped(pid)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

TEST(EtcdMemberTest, StartsServesAndStops) {
  TempDir dir;
  EtcdMember member(TestMemberOptions("m1", "127.0.0.1", dir.path()));
  Status started = member.Start();
  ASSERT_TRUE(started.ok()) << started.ToString();
  EXPECT_TRUE(member.running());

  EtcdClient client(ClientOptions({&member}));
  auto status = client.MemberStatus();
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_NE(status->leader, 0u);

  member.Stop();
  EXPECT_FALSE(member.running());
  EXPECT_EQ(client.MemberStatus().status().code(), Code::kUnavailable);  // refused: nothing listens
}

TEST(EtcdMemberTest, RestartKeepsTheData) {
  TempDir dir;
  MemberOptions options = TestMemberOptions("m1", "127.0.0.1", dir.path());
  {
    EtcdMember member(options);
    ASSERT_TRUE(member.Start().ok());
    EtcdClient client(ClientOptions({&member}));
    ASSERT_TRUE(client.Put({.key = "pool/id", .value = "p1"}).ok());
  }  // stopped here
  EtcdMember member(options);
  Status started = member.Start();
  ASSERT_TRUE(started.ok()) << started.ToString();
  EtcdClient client(ClientOptions({&member}));
  auto got = client.Get("pool/id");
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status().ToString();
  EXPECT_EQ((*got)->value, "p1");
}

// A three-member pool: m1 starts alone; m2 and then m3 are each added by a member of the pool
// and started to join it. Then any member serves what was written through any other, and the pool
// keeps a quorum when one member stops.
TEST(EtcdMemberTest, ThreeMembersJoinOneAtATime) {
  TempDir dir;
  std::vector<std::unique_ptr<EtcdMember>> members;
  members.push_back(std::make_unique<EtcdMember>(TestMemberOptions("m1", "127.0.0.1", dir.path())));
  Status started = members[0]->Start();
  ASSERT_TRUE(started.ok()) << started.ToString();

  for (const auto& [name, address] : {std::pair{"m2", "127.0.0.2"}, std::pair{"m3", "127.0.0.3"}}) {
    MemberOptions options = TestMemberOptions(name, address, dir.path());
    std::string peer_url = "http://" + options.peer.ToString();
    EtcdClient pool(ClientOptions({members.back().get()}));
    auto added = pool.AddMember({peer_url});
    ASSERT_TRUE(added.ok()) << added.status().ToString();
    EXPECT_EQ(added->members.size(), members.size() + 1);
    options.join_existing = true;
    for (const Member& member : added->members) {
      // The added member has no name until it starts: it is the one with our peer URL.
      options.initial_cluster.push_back({.name = member.id == added->added.id ? name : member.name,
                                         .peer_url = member.peer_urls.at(0)});
    }
    members.push_back(std::make_unique<EtcdMember>(options));
    started = members.back()->Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
  }

  EtcdClient via_m1(ClientOptions({members[0].get()}));
  auto list = via_m1.MemberList();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 3u);
  for (const Member& member : *list) {
    EXPECT_FALSE(member.name.empty()) << "member " << member.id << " has not started";
    EXPECT_EQ(member.client_urls.size(), 1u);
  }

  ASSERT_TRUE(via_m1.Put({.key = "volumes/www", .value = "replica 3"}).ok());
  EtcdClient via_m3(ClientOptions({members[2].get()}));
  auto got = via_m3.Get("volumes/www");
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status().ToString();
  EXPECT_EQ((*got)->value, "replica 3");

  members[1]->Stop();  // two of three remain: still a quorum
  ASSERT_TRUE(via_m3.Put({.key = "volumes/www", .value = "started"}).ok());
  got = via_m1.Get("volumes/www");
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status().ToString();
  EXPECT_EQ((*got)->value, "started");
}

TEST(EtcdMemberTest, ClientsFailOverToAnotherMember) {
  TempDir dir;
  EtcdMember m1(TestMemberOptions("m1", "127.0.0.1", dir.path()));
  ASSERT_TRUE(m1.Start().ok());
  MemberOptions options = TestMemberOptions("m2", "127.0.0.2", dir.path());
  EtcdClient pool(ClientOptions({&m1}));
  auto added = pool.AddMember({"http://" + options.peer.ToString()});
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  options.join_existing = true;
  options.initial_cluster = {{.name = "m1", .peer_url = m1.peer_url()}, {.name = "m2", .peer_url = "http://" + options.peer.ToString()}};
  EtcdMember m2(options);
  Status started = m2.Start();
  ASSERT_TRUE(started.ok()) << started.ToString();

  EtcdClient both(ClientOptions({&m1, &m2}));
  ASSERT_TRUE(both.Put({.key = "k", .value = "v"}).ok());
  m1.Signal(SIGSTOP);  // frozen: connects but never answers
  ASSERT_TRUE(WaitUntilStopped(m1.pid()));
  // A read goes on to m2 after the timeout; m2 alone has no quorum, so it refuses too, and the
  // message names both members.
  EtcdClient quick({.endpoints = {m1.options().client, m2.options().client}, .request_timeout_ms = 300});
  auto got = quick.Get("k");
  EXPECT_FALSE(got.ok());
  EXPECT_THAT(got.status().message(), HasSubstr(m1.options().client.ToString()));
  EXPECT_THAT(got.status().message(), HasSubstr(m2.options().client.ToString()));
  // A change is not retried elsewhere once it was sent: it may have been applied.
  auto put = quick.Put({.key = "k", .value = "w"});
  EXPECT_EQ(put.status().code(), Code::kTimedOut) << put.status().ToString();
  EXPECT_THAT(put.status().message(), ::testing::Not(HasSubstr(m2.options().client.ToString())));
  m1.Signal(SIGCONT);
}

// ---- failures to start ----

TEST(EtcdMemberTest, MissingProgramIsAClearError) {
  TempDir dir;
  MemberOptions options = TestMemberOptions("m1", "127.0.0.1", dir.path());
  options.etcd_path = dir.path() + "/no-etcd";
  EtcdMember member(options);
  Status started = member.Start();
  EXPECT_FALSE(started.ok());
  EXPECT_THAT(started.message(), HasSubstr("cannot run " + options.etcd_path));
  EXPECT_FALSE(member.running());
}

TEST(EtcdMemberTest, PortInUseFailsWithTheLogTail) {
  TempDir dir;
  MemberOptions options = TestMemberOptions("m1", "127.0.0.1", dir.path());
  // Someone else listens on the client port.
  UniqueFd squatter(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(options.client.port);
  ASSERT_EQ(::bind(squatter.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(squatter.get(), 1), 0);

  EtcdMember member(options);
  Status started = member.Start();
  EXPECT_FALSE(started.ok());
  EXPECT_THAT(started.message(), HasSubstr("exited with status"));
  EXPECT_THAT(started.message(), HasSubstr("address already in use"));
  EXPECT_FALSE(member.running());
}

TEST(EtcdMemberTest, StartingTwiceIsRefused) {
  TempDir dir;
  EtcdMember member(TestMemberOptions("m1", "127.0.0.1", dir.path()));
  ASSERT_TRUE(member.Start().ok());
  EXPECT_EQ(member.Start().code(), Code::kBusy);
}

}  // namespace
}  // namespace shoal::coord
