// EtcdMember: a local etcd member that shoald starts and supervises, so that the user never has
// to set up etcd (DESIGN.md §3).
//
// The member is Debian's /usr/bin/etcd, in its own process group (a Ctrl-C or SIGHUP meant for
// shoald does not reach it: shoald decides when it stops), with its data in `<directory>/data` and
// its stdout and stderr appended to `<directory>/etcd.log`. It is run with a 50 ms heartbeat and a
// 500 ms election timeout: etcd grants no lease shorter than 1.5 election timeouts rounded up to a
// whole second (2 s with its defaults of 100/1000 ms, 1 s with these), so this is what lets a
// primary hold a 1 s lease; and a dead etcd leader is replaced within about a second.
//
// A new member either starts a cluster of its own (no `initial_cluster`) or joins one it has
// already been added to with EtcdClient::AddMember (`initial_cluster` = the members of that
// answer, `join_existing`). Once the data directory holds a member, etcd ignores both and rejoins
// the cluster it belongs to, so the same options restart a member.
//
// The member dies with the thread that started it (PR_SET_PDEATHSIG), so a crashed shoald or test
// never leaves an etcd holding its ports: call Start from a thread that lives as long as the member
// (the main thread). Not thread-safe: one thread starts and stops it.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/host_port.h"
#include "common/status.h"

namespace shoal::coord {

struct InitialMember {
  std::string name;
  std::string peer_url;  // "http://127.0.0.1:2380"
};

struct MemberOptions {
  std::string name;             // unique in the cluster
  std::string directory;        // created if missing; holds data/ and etcd.log
  HostPort client;              // where clients (EtcdClient) reach it
  HostPort peer;                // where the other members reach it
  std::vector<InitialMember> initial_cluster{};  // empty: a new cluster of this member alone
  bool join_existing = false;   // joins the cluster of initial_cluster (after AddMember)
  std::string cluster_token = "shoal";
  int heartbeat_ms = 50;
  int election_timeout_ms = 500;
  int start_timeout_ms = 20000;  // a joining member must catch up with the cluster first
  int stop_grace_ms = 5000;      // SIGTERM, then SIGKILL after this long
  std::string etcd_path = "/usr/bin/etcd";
};

class EtcdMember {
 public:
  explicit EtcdMember(MemberOptions options);
  ~EtcdMember();  // Stop()
  EtcdMember(const EtcdMember&) = delete;
  EtcdMember& operator=(const EtcdMember&) = delete;

  // Starts etcd and returns once it answers /v3/maintenance/status (it has joined its cluster and
  // serves clients). On failure nothing is left running and the message carries the end of
  // etcd.log. kBusy if it is already running.
  Status Start();
  // SIGTERM, then SIGKILL after stop_grace_ms (etcd without a quorum can take longer than that to
  // stop); waits for it to exit. Harmless if not running.
  void Stop();
  // Sends `signal` to the member, by pid (fault tests: SIGKILL, SIGSTOP, SIGCONT). After SIGKILL,
  // call Stop() to reap it.
  void Signal(int signal);

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  std::string client_url() const;  // "http://127.0.0.1:2379"
  std::string peer_url() const;
  const MemberOptions& options() const { return options_; }
  std::string log_path() const { return options_.directory + "/etcd.log"; }

 private:
  std::vector<std::string> Arguments() const;
  Status Spawn();
  Status WaitUntilServing();
  // Waits up to `timeout_ms` for the process to exit; true if it did (and was reaped).
  bool WaitForExit(int timeout_ms);
  std::string LogTail() const;

  const MemberOptions options_;
  pid_t pid_ = -1;
  int pidfd_ = -1;  // readable once the process has exited
};

}  // namespace shoal::coord
