// The integration test harness: real shoald processes on 127.0.0.1 and real FUSE mounts, each in
// a temporary directory, torn down at the end of the test even when it fails.
//
// Every wait is on an explicit signal: shoald's "shoald ready" line on its stdout, and `shoal
// mount` returning only once the mount is in place. Processes are started in their own process
// group and killed by that group, never by name.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace shoal::testing {

// Paths of the programs under test, from the build (set by CMake).
std::string ShoaldPath();
std::string ShoalPath();

// A fresh directory under /tmp, removed (recursively) when destroyed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs a command to completion; returns its exit status and what it printed on stderr.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
CommandResult RunCommand(const std::vector<std::string>& argv);

// One shoald serving one volume. Start() waits for the ready line.
class Server {
 public:
  Server(std::string data_dir, std::string brick, std::string volume = "vol");
  ~Server();  // SIGKILL to the process group
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Listen on `host` (127.0.0.2, 127.0.0.3, ...) instead of 127.0.0.1. Before Start().
  void set_host(std::string host) { host_ = std::move(host); }
  // Serve no volume (no --volume), as a server only in a pool. Before Start().
  void serve_no_volume() { serve_volume_ = false; }
  // More shoald options (e.g. --etcd-endpoints URL). Before Start().
  void add_args(std::vector<std::string> args) { extra_args_.insert(extra_args_.end(), args.begin(), args.end()); }
  // A command that runs shoald (NetworkLab::Enter: in a network namespace). Before Start().
  void set_prefix(std::vector<std::string> prefix) { prefix_ = std::move(prefix); }
  std::string address() const;  // "HOST:PORT", the server's name in its pool

  // Starts shoald (on `port`, or a free one if 0) and waits until it serves. Returns false (with
  // what shoald said on stderr in error()) if it exits instead.
  bool Start(uint16_t port = 0);
  void Kill(int signal = 9);  // and reap
  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& error() const { return error_; }
  std::string spec() const;  // "127.0.0.1:PORT:/VOLUME"
  const std::string& brick() const { return brick_; }

 private:
  std::string data_dir_, brick_, volume_;
  std::string host_ = "127.0.0.1";
  bool serve_volume_ = true;
  std::vector<std::string> extra_args_;
  std::vector<std::string> prefix_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string error_;
};

// A mounted client. Unmounts (lazily, so a broken mount never blocks teardown) when destroyed.
class Mount {
 public:
  explicit Mount(std::string mountpoint) : mountpoint_(std::move(mountpoint)) {}
  ~Mount();
  Mount(const Mount&) = delete;
  Mount& operator=(const Mount&) = delete;

  // Runs `shoal mount SPEC MOUNTPOINT -o OPTIONS`; returns its result (exit 0: mounted).
  CommandResult Start(const std::string& spec, const std::string& options = "");
  // A command that runs `shoal mount` (NetworkLab::Enter: the client in a network namespace).
  void set_prefix(std::vector<std::string> prefix) { prefix_ = std::move(prefix); }
  bool mounted() const;
  const std::string& path() const { return mountpoint_; }

 private:
  std::string mountpoint_;
  std::vector<std::string> prefix_;
  bool started_ = false;
};

// An ext4 filesystem of its own, in an image file mounted through a loop device at `path`: a
// brick on another filesystem than the rest (ext4 seeds its directory hashes per filesystem), or
// a disk the test can freeze (fsfreeze), so that writes to it block as on a stuck disk while the
// server goes on answering. Thawed and unmounted (lazily) when destroyed.
class LoopDisk {
 public:
  explicit LoopDisk(std::string path, int size_mib = 256);
  ~LoopDisk();
  LoopDisk(const LoopDisk&) = delete;
  LoopDisk& operator=(const LoopDisk&) = delete;
  bool ok() const { return mounted_; }
  const std::string& path() const { return path_; }
  bool Freeze();
  void Thaw();

 private:
  const std::string path_, image_;
  bool mounted_ = false;
};

// A port P such that P, P+1, ... P+count-1 are free on every one of `hosts` (a shoald on P runs its
// etcd member on P+1 and P+2), chosen at random below the ports the kernel gives to outgoing
// connections. Checked by binding them; another test could still bind one later.
uint16_t FreePortRun(const std::vector<std::string>& hosts, int count);

// The whole content of a file ("" if it cannot be read).
std::string ReadFile(const std::string& path);

// True if `path` is a mount point in /proc/self/mountinfo.
bool IsMountPoint(const std::string& path);

}  // namespace shoal::testing
