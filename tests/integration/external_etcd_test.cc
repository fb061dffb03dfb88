// Servers given an existing etcd cluster (shoald --etcd-endpoints) instead of running members of
// their own: every server given the same cluster is in the same pool, sees the same volumes, and
// refuses to probe (there is no member of its own to add).
#include <sys/stat.h>

#include <memory>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "coord/etcd_member.h"
#include "coord/etcd_test_util.h"
#include "tests/integration/harness.h"

namespace shoal::testing {
namespace {

using ::testing::HasSubstr;

class ExternalEtcdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    etcd_ = std::make_unique<coord::EtcdMember>(coord::testing::TestMemberOptions("external", "127.0.0.1", dir_.path()));
    ASSERT_TRUE(etcd_->Start().ok());
    const std::string url = "http://127.0.0.1:" + std::to_string(etcd_->options().client.port);
    for (const char* host : {"127.0.0.1", "127.0.0.2"}) {
      auto server = std::make_unique<Server>(dir_.path() + "/" + host, "");
      server->set_host(host);
      server->serve_no_volume();
      server->add_args({"--etcd-endpoints", url});
      ASSERT_TRUE(server->Start()) << server->error();
      servers_.push_back(std::move(server));
    }
  }

  CommandResult Shoal(int via, std::vector<std::string> args) {
    args.insert(args.begin(), {ShoalPath(), "--server", servers_.at(via - 1)->address()});
    return RunCommand(args);
  }

  TempDir dir_;
  std::unique_ptr<coord::EtcdMember> etcd_;
  std::vector<std::unique_ptr<Server>> servers_;
};

TEST_F(ExternalEtcdTest, ServersOfOneClusterShareThePoolAndItsVolumes) {
  CommandResult listed = Shoal(2, {"pool", "list", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  nlohmann::json pool = nlohmann::json::parse(listed.out);
  ASSERT_EQ(pool["servers"].size(), 2u) << listed.out;
  EXPECT_EQ(pool["servers"][0]["etcd_member_id"], "-");

  const std::string brick = dir_.path() + "/brick";
  ::mkdir(brick.c_str(), 0755);
  CommandResult created = Shoal(1, {"volume", "create", "www", servers_[1]->address() + ":" + brick, "force"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  ASSERT_EQ(Shoal(2, {"volume", "start", "www"}).exit_code, 0);
  CommandResult info = Shoal(2, {"volume", "info", "www"});
  EXPECT_THAT(info.out, HasSubstr("Status: started"));

  const std::string mountpoint = dir_.path() + "/m";
  ::mkdir(mountpoint.c_str(), 0755);
  Mount mount(mountpoint);
  ASSERT_EQ(mount.Start(servers_[0]->address() + ":/www").exit_code, 0);
  RunCommand({"/bin/sh", "-c", "echo hello > " + mountpoint + "/f"});
  EXPECT_EQ(ReadFile(brick + "/f"), "hello\n");
}

TEST_F(ExternalEtcdTest, ProbeIsRefusedWithWhatToDoInstead) {
  CommandResult probed = Shoal(1, {"peer", "probe", "127.0.0.3"});
  EXPECT_NE(probed.exit_code, 0);
  EXPECT_THAT(probed.err, HasSubstr("same --etcd-endpoints"));
}

}  // namespace
}  // namespace shoal::testing
