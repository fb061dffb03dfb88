// A pool of three real shoald, each with its managed etcd member, on 127.0.0.1, 127.0.0.2 and
// 127.0.0.3 with the same port: the admin's session of `shoal peer probe/detach/status` and
// `shoal pool list`, and what goes wrong (an unreachable or foreign server, a server of another
// pool, a server killed).
#include <signal.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/pool_fixture.h"

namespace shoal::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using PoolTest = ThreePoolServers;

TEST_F(PoolTest, NewServerIsAPoolOfItsOwn) {
  nlohmann::json pool = PoolJson(1);
  ASSERT_EQ(pool["servers"].size(), 1u) << pool.dump();
  EXPECT_EQ(pool["servers"][0]["name"], Name(1));
  EXPECT_EQ(pool["servers"][0]["self"], true);
  EXPECT_EQ(pool["servers"][0]["state"], "connected");
  EXPECT_NE(pool["servers"][0]["etcd_member_id"], "-");

  CommandResult status = Shoal(1, {"peer", "status"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(status.out, "Number of peers: 0\n");
}

TEST_F(PoolTest, EveryServerShowsTheSamePoolAfterTwoProbes) {
  Probe(1, 2);
  Probe(1, 3);
  const std::set<std::string> all = {Name(1), Name(2), Name(3)};
  std::map<std::string, std::string> member_ids;  // as server 1 sees them
  nlohmann::json first_view = PoolJson(1);
  for (const auto& server : first_view["servers"])
    member_ids[server["name"].get<std::string>()] = server["etcd_member_id"].get<std::string>();

  for (int via = 1; via <= 3; ++via) {
    SCOPED_TRACE("through server " + std::to_string(via));
    nlohmann::json pool = PoolJson(via);
    ASSERT_EQ(pool["servers"].size(), 3u) << pool.dump();
    std::set<std::string> names;
    for (const auto& server : pool["servers"]) {
      const std::string name = server["name"];
      names.insert(name);
      EXPECT_EQ(server["address"], name);
      EXPECT_EQ(server["state"], "connected");
      EXPECT_EQ(server["self"], name == Name(via));
      EXPECT_EQ(server["etcd_member_id"], member_ids[name]);
      EXPECT_NE(server["etcd_member_id"], "-");
    }
    EXPECT_EQ(names, all);

    CommandResult table = Shoal(via, {"pool", "list"});
    ASSERT_EQ(table.exit_code, 0) << table.err;
    EXPECT_THAT(table.out, HasSubstr("NAME"));
    for (int i = 1; i <= 3; ++i) EXPECT_THAT(table.out, HasSubstr(Name(i)));
    // Columns are aligned: a member id shorter than the others (leading zeros are not printed) gets
    // more spaces after it.
    EXPECT_THAT(table.out, ::testing::ContainsRegex(Name(via) + "  " + Name(via) + "  connected  " + member_ids[Name(via)] +
                                                    " +\\(this server\\)\n"));

    CommandResult status = Shoal(via, {"peer", "status"});
    ASSERT_EQ(status.exit_code, 0) << status.err;
    EXPECT_THAT(status.out, HasSubstr("Number of peers: 2\n"));
    EXPECT_THAT(status.out, Not(HasSubstr(Name(via) + " ")));
    CommandResult status_json = Shoal(via, {"peer", "status", "--json"});
    ASSERT_EQ(status_json.exit_code, 0) << status_json.err;
    auto peers = nlohmann::json::parse(status_json.out, nullptr, false)["peers"];
    ASSERT_EQ(peers.size(), 2u) << status_json.out;
    for (const auto& peer : peers) {
      EXPECT_NE(peer["name"], Name(via));
      EXPECT_EQ(peer["state"], "connected");
    }
  }
}

TEST_F(PoolTest, DetachRemovesTheServerFromEveryView) {
  Probe(1, 2);
  Probe(1, 3);
  CommandResult detached = Shoal(1, {"peer", "detach", Name(3), "--yes"});
  ASSERT_EQ(detached.exit_code, 0) << detached.err;
  EXPECT_EQ(PoolNames(1), (std::set<std::string>{Name(1), Name(2)}));
  EXPECT_EQ(PoolNames(2), (std::set<std::string>{Name(1), Name(2)}));
  // The detached server is a pool of its own again, and can be probed back.
  EXPECT_EQ(PoolNames(3), (std::set<std::string>{Name(3)}));
  Probe(2, 3);
  EXPECT_EQ(PoolNames(1), (std::set<std::string>{Name(1), Name(2), Name(3)}));
}

TEST_F(PoolTest, KilledServerIsShownDown) {
  Probe(1, 2);
  Probe(1, 3);
  servers_[2]->Kill(SIGKILL);  // shoald and, with it, its etcd member
  for (int via = 1; via <= 2; ++via) {
    SCOPED_TRACE("through server " + std::to_string(via));
    nlohmann::json pool = PoolJson(via);
    ASSERT_EQ(pool["servers"].size(), 3u) << pool.dump();
    for (const auto& server : pool["servers"])
      EXPECT_EQ(server["state"], server["name"] == Name(3) ? "down" : "connected") << server.dump();
    CommandResult status = Shoal(via, {"peer", "status"});
    ASSERT_EQ(status.exit_code, 0) << status.err;
    EXPECT_THAT(status.out, HasSubstr(Name(3) + "  " + Name(3) + "  down"));
  }
}

// ---- refusals: a clear error, the pool unchanged ----

TEST_F(PoolTest, ProbeOfAnAddressWhereNothingListensFailsWithinFiveSeconds) {
  const std::string nowhere = "127.0.0.1:" + std::to_string(FreePortRun({"127.0.0.1"}, 1));
  auto started = std::chrono::steady_clock::now();
  CommandResult probed = Shoal(1, {"peer", "probe", nowhere});
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_NE(probed.exit_code, 0);
  EXPECT_THAT(probed.err, HasSubstr("no shoal server answers at " + nowhere));
  EXPECT_THAT(probed.err, HasSubstr("the pool is unchanged"));
  EXPECT_EQ(PoolNames(1), std::set<std::string>{Name(1)});
}

TEST_F(PoolTest, ProbeOfSomethingThatIsNotShoalFailsWithinFiveSeconds) {
  // Server 2's etcd member listens on the port after shoald's, and speaks HTTP.
  const std::string etcd = "127.0.0.2:" + std::to_string(port_ + 1);
  auto started = std::chrono::steady_clock::now();
  CommandResult probed = Shoal(1, {"peer", "probe", etcd});
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_NE(probed.exit_code, 0);
  EXPECT_THAT(probed.err, HasSubstr("the pool is unchanged"));
  EXPECT_EQ(PoolNames(1), std::set<std::string>{Name(1)});
}

TEST_F(PoolTest, ProbeOfAServerOfAnotherPoolIsRefused) {
  Probe(2, 3);
  CommandResult probed = Shoal(1, {"peer", "probe", Name(2)});
  EXPECT_NE(probed.exit_code, 0);
  EXPECT_THAT(probed.err, HasSubstr(Name(2) + " already belongs to a pool with other servers (" + Name(3) + ")"));
  EXPECT_EQ(PoolNames(1), std::set<std::string>{Name(1)});
  EXPECT_EQ(PoolNames(2), (std::set<std::string>{Name(2), Name(3)}));
}

TEST_F(PoolTest, ProbeOfAServerAlreadyInThePoolIsRefused) {
  Probe(1, 2);
  CommandResult probed = Shoal(2, {"peer", "probe", Name(1)});
  EXPECT_NE(probed.exit_code, 0);
  EXPECT_THAT(probed.err, HasSubstr(Name(1) + " is already in the pool"));
}

TEST_F(PoolTest, DetachOfTheServerAskedIsRefused) {
  Probe(1, 2);
  CommandResult detached = Shoal(1, {"peer", "detach", Name(1), "--yes"});
  EXPECT_NE(detached.exit_code, 0);
  EXPECT_THAT(detached.err, HasSubstr("is the server you are talking to"));
  EXPECT_EQ(PoolNames(2), (std::set<std::string>{Name(1), Name(2)}));
}

TEST_F(PoolTest, DetachOffATerminalWithoutYesIsRefused) {
  Probe(1, 2);
  CommandResult detached = Shoal(1, {"peer", "detach", Name(2)});
  EXPECT_NE(detached.exit_code, 0);
  EXPECT_THAT(detached.err, HasSubstr("pass --yes"));
  EXPECT_EQ(PoolNames(1), (std::set<std::string>{Name(1), Name(2)}));
}

TEST_F(PoolTest, DetachOfADownServerNeedsForce) {
  Probe(1, 2);
  Probe(1, 3);
  servers_[2]->Kill(SIGKILL);
  CommandResult refused = Shoal(1, {"peer", "detach", Name(3), "--yes"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr("--force"));
  CommandResult forced = Shoal(1, {"peer", "detach", Name(3), "--yes", "--force"});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_EQ(PoolNames(2), (std::set<std::string>{Name(1), Name(2)}));
}

}  // namespace
}  // namespace shoal::testing
