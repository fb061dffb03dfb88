// NetworkLab: network namespaces a test makes for itself, so that it can cut a server off the
// network (a real partition, not a stopped process). Node 0 is for clients, nodes 1..N for
// servers; each has one address, 10.77.0.<node>, on a bridge that lives in a hub namespace of its
// own. Nothing is added to the machine's own namespace: the servers listen and are reached only
// inside the lab. Cut(node) takes that node's port on the bridge down: it reaches no one and no
// one reaches it, while processes inside the node's namespace still reach each other.
// CutBetween(a, b) cuts one path, so that a server can be cut off from the others but not from
// its clients.
//
// Processes run in a node with the prefix Enter(node) (nsenter --net: the network namespace
// only, so FUSE mounts made there are seen by the whole machine). Everything is removed when the
// lab is destroyed; the processes started in it must be ended first.
#pragma once

#include <string>
#include <vector>

namespace shoal::testing {

class NetworkLab {
 public:
  explicit NetworkLab(int servers);
  ~NetworkLab();
  NetworkLab(const NetworkLab&) = delete;
  NetworkLab& operator=(const NetworkLab&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }  // which `ip` command failed, and why

  std::string address(int node) const { return "10.77.0." + std::to_string(node + 1); }
  // The command prefix that runs a program in `node`'s network namespace.
  std::vector<std::string> Enter(int node) const;
  // Takes `node` off the bridge, or puts it back. False (with error()) if `ip` failed.
  bool Cut(int node);
  bool Restore(int node);
  // Cuts the path between nodes `a` and `b` alone (a blackhole route in each), or mends it: both
  // still reach every other node.
  bool CutBetween(int a, int b);
  bool RestoreBetween(int a, int b);

 private:
  std::string Namespace(int node) const { return prefix_ + std::to_string(node); }
  bool Ip(std::vector<std::string> args);

  std::string prefix_;  // unique to this lab: "shoal-<pid>-<n>-"
  std::string hub_;
  int nodes_ = 0;
  std::vector<std::string> made_;  // namespaces to remove
  std::string error_;
};

}  // namespace shoal::testing
