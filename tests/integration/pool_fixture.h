// A test fixture of three real shoald, each with its managed etcd member, on 127.0.0.1, 127.0.0.2
// and 127.0.0.3 with the same port, each a pool of its own until the test probes; and the `shoal`
// commands a test runs against them. A fixture that sets `isolated_` (in its constructor) gets
// each server in a network namespace of its own instead (network_lab.h), which the test can cut
// off; its `shoal` commands and mounts then run in the lab's client node.
#pragma once

#include <sys/stat.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/harness.h"
#include "tests/integration/network_lab.h"

namespace shoal::testing {

class ThreePoolServers : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<std::string> hosts = {"127.0.0.1", "127.0.0.2", "127.0.0.3"};
    if (isolated_) {
      lab_ = std::make_unique<NetworkLab>(3);
      ASSERT_TRUE(lab_->ok()) << lab_->error();
      hosts = {lab_->address(1), lab_->address(2), lab_->address(3)};
      port_ = 24100;  // the lab's addresses are its own: every port is free
    } else {
      port_ = FreePortRun(hosts, 3);  // shoald on P, its etcd member on P+1 and P+2
      ASSERT_NE(port_, 0) << "no run of three free ports on every loopback address";
    }
    for (size_t i = 0; i < hosts.size(); ++i) {
      auto server = std::make_unique<Server>(DataDir(static_cast<int>(i) + 1), "");
      server->set_host(hosts[i]);
      if (lab_) server->set_prefix(lab_->Enter(static_cast<int>(i) + 1));
      server->serve_no_volume();
      ASSERT_TRUE(server->Start(port_)) << server->error();
      servers_.push_back(std::move(server));
    }
  }

  std::string DataDir(int i) const { return dir_.path() + "/s" + std::to_string(i); }
  // A brick directory for server `i` (created if missing).
  std::string Brick(int i) {
    std::string path = dir_.path() + "/brick" + std::to_string(i);
    ::mkdir(path.c_str(), 0755);
    return path;
  }

  // The name of server i (1, 2, 3) in the pool.
  std::string Name(int i) const { return servers_.at(i - 1)->address(); }

  // `shoal --server <server via> ARGS...`
  CommandResult Shoal(int via, std::vector<std::string> args) {
    args.insert(args.begin(), {ShoalPath(), "--server", Name(via)});
    const std::vector<std::string> prefix = ClientPrefix();
    args.insert(args.begin(), prefix.begin(), prefix.end());
    return RunCommand(args);
  }

  // `shoal ... ARGS --json`, parsed (null if it failed or printed no JSON).
  nlohmann::json ShoalJson(int via, std::vector<std::string> args) {
    args.push_back("--json");
    CommandResult result = Shoal(via, std::move(args));
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return nlohmann::json::parse(result.out, nullptr, /*allow_exceptions=*/false);
  }

  void Probe(int via, int server) {
    CommandResult probed = Shoal(via, {"peer", "probe", Name(server)});
    ASSERT_EQ(probed.exit_code, 0) << probed.err;
    EXPECT_THAT(probed.out, ::testing::HasSubstr(Name(server) + " joined the pool"));
  }

  // `pool list --json` through server `via`.
  nlohmann::json PoolJson(int via) { return ShoalJson(via, {"pool", "list"}); }

  std::set<std::string> PoolNames(int via) {
    std::set<std::string> names;
    nlohmann::json pool = PoolJson(via);
    for (const auto& server : pool["servers"]) names.insert(server["name"].get<std::string>());
    return names;
  }

  // What runs a client program (`shoal`, a mount): in the lab's client node, if there is a lab.
  std::vector<std::string> ClientPrefix() const { return lab_ ? lab_->Enter(0) : std::vector<std::string>{}; }

  TempDir dir_;
  uint16_t port_ = 0;
  bool isolated_ = false;
  std::unique_ptr<NetworkLab> lab_;  // before servers_: it outlives them
  std::vector<std::unique_ptr<Server>> servers_;
};

}  // namespace shoal::testing
