#include "tests/integration/network_lab.h"

#include <unistd.h>

#include <atomic>

#include "tests/integration/harness.h"

namespace shoal::testing {

NetworkLab::NetworkLab(int servers) : nodes_(servers + 1) {
  static std::atomic<int> labs{0};
  prefix_ = "shoal-" + std::to_string(::getpid()) + "-" + std::to_string(labs++) + "-";
  hub_ = prefix_ + "hub";
  if (!Ip({"netns", "add", hub_})) return;
  made_.push_back(hub_);
  if (!Ip({"-n", hub_, "link", "add", "br0", "type", "bridge"}) || !Ip({"-n", hub_, "link", "set", "br0", "up"}))
    return;
  for (int node = 0; node < nodes_; ++node) {
    const std::string ns = Namespace(node), port = "p" + std::to_string(node);
    if (!Ip({"netns", "add", ns})) return;
    made_.push_back(ns);
    if (!Ip({"-n", hub_, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns}) ||
        !Ip({"-n", hub_, "link", "set", port, "master", "br0"}) || !Ip({"-n", hub_, "link", "set", port, "up"}) ||
        !Ip({"-n", ns, "addr", "add", address(node) + "/24", "dev", "eth0"}) ||
        !Ip({"-n", ns, "link", "set", "eth0", "up"}) || !Ip({"-n", ns, "link", "set", "lo", "up"}))
      return;
  }
}

NetworkLab::~NetworkLab() {
  for (auto it = made_.rbegin(); it != made_.rend(); ++it) RunCommand({"/usr/sbin/ip", "netns", "del", *it});
}

std::vector<std::string> NetworkLab::Enter(int node) const {
  return {"/usr/bin/nsenter", "--net=/run/netns/" + Namespace(node), "--"};
}

bool NetworkLab::Cut(int node) { return Ip({"-n", hub_, "link", "set", "p" + std::to_string(node), "down"}); }

bool NetworkLab::Restore(int node) { return Ip({"-n", hub_, "link", "set", "p" + std::to_string(node), "up"}); }

bool NetworkLab::CutBetween(int a, int b) {
  return Ip({"-n", Namespace(a), "route", "add", "blackhole", address(b) + "/32"}) &&
         Ip({"-n", Namespace(b), "route", "add", "blackhole", address(a) + "/32"});
}

bool NetworkLab::RestoreBetween(int a, int b) {
  return Ip({"-n", Namespace(a), "route", "del", "blackhole", address(b) + "/32"}) &&
         Ip({"-n", Namespace(b), "route", "del", "blackhole", address(a) + "/32"});
}

bool NetworkLab::Ip(std::vector<std::string> args) {
  args.insert(args.begin(), "/usr/sbin/ip");
  CommandResult result = RunCommand(args);
  if (result.exit_code == 0) return true;
  std::string command;
  for (const std::string& arg : args) command += (command.empty() ? "" : " ") + arg;
  error_ = command + ": " + result.err;
  return false;
}

}  // namespace shoal::testing
