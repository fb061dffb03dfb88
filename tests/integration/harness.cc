#include "tests/integration/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

extern char** environ;

namespace shoal::testing {
namespace {

// Spawns argv in a new process group with stdout and stderr on pipes.
pid_t Spawn(const std::vector<std::string>& argv, int* out_fd, int* err_fd) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, args[0], &actions, &attr, args.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(out[1]);
  ::close(err[1]);
  *out_fd = out[0];
  *err_fd = err[0];
  return pid;
}

std::string ReadAll(int fd) {
  std::string text;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, n);
  return text;
}

}  // namespace

std::string ShoaldPath() { return SHOAL_TEST_SHOALD; }
std::string ShoalPath() { return SHOAL_TEST_SHOAL; }

TempDir::TempDir() {
  char pattern[] = "/tmp/shoal-test-XXXXXX";
  path_ = ::mkdtemp(pattern);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

CommandResult RunCommand(const std::vector<std::string>& argv) {
  int out_fd = -1, err_fd = -1;
  CommandResult result;
  pid_t pid = Spawn(argv, &out_fd, &err_fd);
  if (pid < 0) {
    result.err = "cannot start " + argv[0];
    return result;
  }
  // The background mount's child keeps no copy of our pipes (it closes them), so these reads end
  // when the command exits.
  result.out = ReadAll(out_fd);
  result.err = ReadAll(err_fd);
  ::close(out_fd);
  ::close(err_fd);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

Server::Server(std::string data_dir, std::string brick, std::string volume)
    : data_dir_(std::move(data_dir)), brick_(std::move(brick)), volume_(std::move(volume)) {}

Server::~Server() { Kill(SIGKILL); }

std::string Server::address() const { return host_ + ":" + std::to_string(port_); }

std::string Server::spec() const { return "127.0.0.1:" + std::to_string(port_) + ":/" + volume_; }

bool Server::Start(uint16_t port) {
  int out_fd = -1, err_fd = -1;
  // SHOAL_TEST_LOG_DIR=DIR keeps each server's log (at info level) in DIR, for looking into a failure.
  const char* logs = std::getenv("SHOAL_TEST_LOG_DIR");
  const bool keep_log = logs != nullptr && *logs != '\0';
  std::vector<std::string> argv = {ShoaldPath(), "--data-dir", data_dir_, "--listen",
                                   host_ + ":" + std::to_string(port), "--log-level", keep_log ? "info" : "warn"};
  if (serve_volume_) argv.insert(argv.end(), {"--volume", volume_ + "=" + brick_});
  if (keep_log) {
    argv.insert(argv.end(), {"--log-file", std::string(logs) + "/shoald-" + host_ + "-" + std::to_string(port) + ".log"});
  }
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  argv.insert(argv.begin(), prefix_.begin(), prefix_.end());  // nsenter execs shoald: the same pid
  pid_ = Spawn(argv, &out_fd, &err_fd);
  if (pid_ < 0) return false;
  // Wait for "shoald ready listen=127.0.0.1:PORT" (or for shoald to exit: EOF on stdout).
  std::string line;
  char c;
  while (::read(out_fd, &c, 1) == 1 && c != '\n') line.push_back(c);
  ::close(out_fd);
  auto at = line.rfind(':');
  if (line.rfind("shoald ready", 0) != 0 || at == std::string::npos) {
    error_ = ReadAll(err_fd);
    ::close(err_fd);
    Kill(SIGKILL);
    return false;
  }
  ::close(err_fd);  // shoald's later stderr goes nowhere; it logs at warn level only
  port_ = static_cast<uint16_t>(std::stoi(line.substr(at + 1)));
  return true;
}

void Server::Kill(int signal) {
  if (pid_ <= 0) return;
  ::kill(-pid_, signal);
  if (signal == SIGSTOP || signal == SIGCONT) return;
  int status = 0;
  if (signal != SIGKILL) {
    // A clean stop: wait for it; the caller asked for it to finish on its own.
    ::waitpid(pid_, &status, 0);
  } else {
    ::kill(-pid_, SIGCONT);
    ::waitpid(pid_, &status, 0);
  }
  pid_ = -1;
}

Mount::~Mount() {
  if (started_ && IsMountPoint(mountpoint_)) {
    RunCommand({"/bin/umount", "-l", mountpoint_});
  }
}

CommandResult Mount::Start(const std::string& spec, const std::string& options) {
  std::vector<std::string> argv = {ShoalPath(), "mount", spec, mountpoint_};
  std::string all = options;
  // SHOAL_TEST_LOG_DIR=DIR keeps the client's log too (at info level), named after its mount point.
  if (const char* logs = std::getenv("SHOAL_TEST_LOG_DIR"); logs != nullptr && *logs != '\0') {
    std::string name = mountpoint_;
    std::replace(name.begin(), name.end(), '/', '_');
    all += std::string(all.empty() ? "" : ",") + "log-level=info,log-file=" + logs + "/mount" + name + ".log";
  }
  if (!all.empty()) argv.insert(argv.end(), {"-o", all});
  argv.insert(argv.begin(), prefix_.begin(), prefix_.end());
  CommandResult result = RunCommand(argv);
  started_ = true;
  return result;
}

bool Mount::mounted() const { return IsMountPoint(mountpoint_); }

LoopDisk::LoopDisk(std::string path, int size_mib) : path_(std::move(path)), image_(path_ + ".img") {
  ::mkdir(path_.c_str(), 0755);
  mounted_ = RunCommand({"/usr/bin/truncate", "-s", std::to_string(size_mib) + "M", image_}).exit_code == 0 &&
             RunCommand({"/sbin/mkfs.ext4", "-q", "-F", image_}).exit_code == 0 &&
             RunCommand({"/bin/mount", "-o", "loop", image_, path_}).exit_code == 0;
}

// Thawed first: a process blocked on a frozen filesystem cannot even be killed.
LoopDisk::~LoopDisk() {
  if (!mounted_) return;
  Thaw();
  RunCommand({"/bin/umount", "-l", path_});
  ::unlink(image_.c_str());
}

bool LoopDisk::Freeze() { return RunCommand({"/sbin/fsfreeze", "-f", path_}).exit_code == 0; }

void LoopDisk::Thaw() { RunCommand({"/sbin/fsfreeze", "-u", path_}); }

namespace {

// Binds `port` on `host` (the socket goes to *fd_out); false if the port is taken.
bool TryBind(const std::string& host, uint16_t port, int* fd_out) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  ::inet_pton(AF_INET, host.c_str(), &address.sin_addr);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    if (fd >= 0) ::close(fd);
    return false;
  }
  *fd_out = fd;
  return true;
}

// The first port the kernel gives to outgoing connections: a port below it is taken only by a
// bind, which FreePortRun's check sees. One above it can be taken by any connection opened
// between the check and the server's bind (an etcd member of a test failed to start so).
int EphemeralPortsStart() {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  int first = 32768;
  range >> first;
  return first;
}

}  // namespace

uint16_t FreePortRun(const std::vector<std::string>& hosts, int count) {
  int low = 10000, high = EphemeralPortsStart() - count;
  if (high <= low) low = 1024;
  std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<int> pick(low, high - 1);
  for (int attempt = 0; attempt < 200; ++attempt) {
    const auto base = static_cast<uint16_t>(pick(random));
    std::vector<int> held;
    bool free = true;
    for (const std::string& host : hosts) {
      for (int i = 0; i < count && free; ++i) {
        int fd = -1;
        free = TryBind(host, static_cast<uint16_t>(base + i), &fd);
        if (free) held.push_back(fd);
      }
    }
    for (int fd : held) ::close(fd);
    if (free) return base;
  }
  return 0;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool IsMountPoint(const std::string& path) {
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mountinfo, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    fields >> id >> parent >> dev >> root >> point;
    if (point == path) return true;
  }
  return false;
}

}  // namespace shoal::testing
