#include "coord/etcd_member.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/unique_fd.h"
#include "coord/etcd_client.h"

extern char** environ;

namespace shoal::coord {
namespace {

using Clock = std::chrono::steady_clock;

std::string Url(const HostPort& address) { return "http://" + address.ToString(); }

std::string DescribeExit(int wait_status) {
  if (WIFEXITED(wait_status)) return fmt::format("exited with status {}", WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) return fmt::format("was killed by signal {}", WTERMSIG(wait_status));
  return "stopped";
}

}  // namespace

EtcdMember::EtcdMember(MemberOptions options) : options_(std::move(options)) {}

EtcdMember::~EtcdMember() { Stop(); }

std::string EtcdMember::client_url() const { return Url(options_.client); }
std::string EtcdMember::peer_url() const { return Url(options_.peer); }

std::vector<std::string> EtcdMember::Arguments() const {
  std::string cluster;
  for (const InitialMember& member : options_.initial_cluster)
    cluster += fmt::format("{}{}={}", cluster.empty() ? "" : ",", member.name, member.peer_url);
  if (cluster.empty()) cluster = fmt::format("{}={}", options_.name, peer_url());
  return {options_.etcd_path,
          "--name", options_.name,
          "--data-dir", options_.directory + "/data",
          "--listen-client-urls", client_url(),
          "--advertise-client-urls", client_url(),
          "--listen-peer-urls", peer_url(),
          "--initial-advertise-peer-urls", peer_url(),
          "--initial-cluster", cluster,
          "--initial-cluster-state", options_.join_existing ? "existing" : "new",
          "--initial-cluster-token", options_.cluster_token,
          "--heartbeat-interval", std::to_string(options_.heartbeat_ms),
          "--election-timeout", std::to_string(options_.election_timeout_ms),
          // A member back from a network cut has raised its term while it campaigned alone;
          // without pre-vote it would depose the leader on its return and stall every lease
          // renewal for an election (1.5 s measured by bench/failover.sh cut).
          "--pre-vote=true",
          "--logger", "zap",
          "--log-outputs", "stderr"};
}

Status EtcdMember::Start() {
  if (running()) return Status(Code::kBusy, fmt::format("etcd member {} is already running", options_.name));
  std::error_code ec;
  std::filesystem::create_directories(options_.directory, ec);
  if (ec) return Status(Code::kIoError, fmt::format("cannot create {}: {}", options_.directory, ec.message()));
  SHOAL_RETURN_IF_ERROR(Spawn());
  spdlog::info("etcd.started name={} pid={} client={} peer={} join={}", options_.name, pid_, client_url(),
               peer_url(), options_.join_existing);
  Status serving = WaitUntilServing();
  if (!serving.ok()) {
    Stop();
    return serving;
  }
  spdlog::info("etcd.serving name={} client={}", options_.name, client_url());
  return Status::Ok();
}

Status EtcdMember::Spawn() {
  // Everything the child needs is prepared here: between fork and exec it may only make
  // async-signal-safe calls, because the parent has other threads (one may hold malloc's lock).
  const std::vector<std::string> args = Arguments();
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  // etcd also takes its flags from ETCD_* variables; those in shoald's environment are not for it.
  std::vector<char*> envp;
  for (char** variable = environ; *variable != nullptr; ++variable)
    if (std::string_view(*variable).substr(0, 5) != "ETCD_") envp.push_back(*variable);
  envp.push_back(nullptr);

  UniqueFd log(::open(log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!log.valid()) return ErrnoStatus(errno, fmt::format("cannot open {}", log_path()));
  UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  int pipe_fds[2];  // the child writes exec's errno here; closed by a successful exec
  if (null.valid() == false || ::pipe2(pipe_fds, O_CLOEXEC) != 0) return ErrnoStatus(errno, "etcd: pipe");
  UniqueFd exec_error_read(pipe_fds[0]), exec_error_write(pipe_fds[1]);

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return ErrnoStatus(errno, "cannot fork for etcd");
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    ::dup2(null.get(), STDIN_FILENO);
    ::dup2(log.get(), STDOUT_FILENO);
    ::dup2(log.get(), STDERR_FILENO);
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);  // no descriptor of shoald's leaks into etcd
    ::execve(argv[0], argv.data(), envp.data());
    int err = errno;
    [[maybe_unused]] ssize_t n = ::write(exec_error_write.get(), &err, sizeof err);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also in the parent, so the group exists whichever runs first
  exec_error_write.Reset();
  int exec_errno = 0;
  ssize_t n;
  while ((n = ::read(exec_error_read.get(), &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR) {
  }
  if (n > 0) {
    ::waitpid(pid, nullptr, 0);
    return ErrnoStatus(exec_errno, fmt::format("cannot run {}", options_.etcd_path));
  }
  // Through syscall(): glibc 2.36's <sys/pidfd.h> lacks extern "C", so its pidfd_open does not link from C++.
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd_ < 0) {  // Linux older than 5.3
    Status status = ErrnoStatus(errno, "pidfd_open for etcd");
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return status;
  }
  pid_ = pid;
  return Status::Ok();
}

Status EtcdMember::WaitUntilServing() {
  const auto deadline = Clock::now() + std::chrono::milliseconds(options_.start_timeout_ms);
  EtcdClient client({.endpoints = {options_.client}, .request_timeout_ms = 1000});
  for (;;) {
    // etcd accepts connections at once but answers only once it has joined its cluster.
    auto status = client.MemberStatus();
    if (status.ok()) return Status::Ok();
    int wait_status = 0;
    if (::waitpid(pid_, &wait_status, WNOHANG) == pid_) {
      ::close(pidfd_);
      pid_ = pidfd_ = -1;
      return Status(Code::kUnavailable, fmt::format("etcd member {} {} before serving; {}:\n{}", options_.name,
                                                    DescribeExit(wait_status), log_path(), LogTail()));
    }
    auto left_ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left_ms <= 0) {
      return Status(Code::kTimedOut,
                    fmt::format("etcd member {} did not answer on {} within {} ms (last: {}); {}:\n{}",
                                options_.name, client_url(), options_.start_timeout_ms,
                                status.status().message(), log_path(), LogTail()));
    }
    // Polling the health endpoint at a short interval; a pidfd wakes us early if etcd dies.
    pollfd exited{.fd = pidfd_, .events = POLLIN, .revents = 0};
    ::poll(&exited, 1, static_cast<int>(std::min<int64_t>(left_ms, 50)));
  }
}

bool EtcdMember::WaitForExit(int timeout_ms) {
  pollfd exited{.fd = pidfd_, .events = POLLIN, .revents = 0};
  int ready;
  while ((ready = ::poll(&exited, 1, timeout_ms)) < 0 && errno == EINTR) {
  }
  if (ready <= 0) return false;
  int wait_status = 0;
  while (::waitpid(pid_, &wait_status, 0) < 0 && errno == EINTR) {
  }
  spdlog::info("etcd.exited name={} pid={} how=\"{}\"", options_.name, pid_, DescribeExit(wait_status));
  return true;
}

void EtcdMember::Signal(int signal) {
  if (running()) ::kill(pid_, signal);
}

void EtcdMember::Stop() {
  if (!running()) return;
  ::kill(pid_, SIGTERM);
  ::kill(pid_, SIGCONT);  // a stopped member must run to act on SIGTERM
  if (!WaitForExit(options_.stop_grace_ms)) {
    spdlog::warn("etcd.stop_timeout name={} pid={} grace_ms={}: killing it", options_.name, pid_,
                 options_.stop_grace_ms);
    ::kill(pid_, SIGKILL);
    WaitForExit(-1);
  }
  ::close(pidfd_);
  pid_ = pidfd_ = -1;
}

std::string EtcdMember::LogTail() const {
  constexpr std::streamoff kTailBytes = 2000;
  std::ifstream log(log_path(), std::ios::binary | std::ios::ate);
  if (!log) return "(no log)";
  std::streamoff size = log.tellg();
  std::streamoff from = std::max<std::streamoff>(0, size - kTailBytes);
  log.seekg(from);
  std::string tail(static_cast<size_t>(size - from), '\0');
  log.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  if (from > 0) {
    auto newline = tail.find('\n');  // start at a whole line
    if (newline != std::string::npos) tail.erase(0, newline + 1);
  }
  return tail;
}

}  // namespace shoal::coord
