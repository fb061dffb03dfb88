#include "fuse/mount.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/log.h"
#include "client/locate.h"
#include "fuse/adapter.h"

namespace shoal::fuse {
namespace {

// Where a background mount tells the waiting parent how it went: one line, "ok" or the error.
class Report {
 public:
  explicit Report(int fd) : fd_(fd) {}
  void Send(const std::string& line) {
    if (fd_ < 0) return;
    std::string text = line + "\n";
    (void)!::write(fd_, text.data(), text.size());
    ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

std::string Hostname() {
  char name[HOST_NAME_MAX + 1] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

// Connects, mounts and serves; reports "ok" or the error through `report` once mounted.
int Serve(const MountOptions& options, Report& report) {
  // Any server of the pool (or a backup) says where the volume's bricks are; the client then talks
  // to their servers.
  auto volume = client::LocateVolume(options.servers, options.volume, options.connect_timeout_ms);
  // A static volume (shoald --volume) is served by the server that answered, as it was reached.
  auto servers = !volume.ok()                ? Result<std::vector<HostPort>>(volume.status())
                 : volume->static_volume() ? Result<std::vector<HostPort>>(options.servers)
                                             : client::BrickServers(*volume);
  if (!servers.ok()) {
    report.Send(fmt::format("cannot mount {}:/{}: {}", options.servers.front().ToString(), options.volume,
                            servers.status().message()));
    return 1;
  }
  auto client = client::Client::Connect({
      .servers = *servers,
      .volume = options.volume,
      .client_name = Hostname(),
      .connect_timeout_ms = options.connect_timeout_ms,
      .give_up_ms = options.give_up_ms,
      .replicated = volume.ok() && volume->bricks_size() > 1,
      .spread_reads = options.spread_reads,
  });
  if (!client.ok()) {
    report.Send(fmt::format("cannot mount {}:/{}: {}", options.servers.front().ToString(), options.volume,
                            client.status().message()));
    return 1;
  }
  Adapter adapter{.client = **client, .options = options};

  std::string fsname = fmt::format("{}:/{}", options.servers.front().ToString(), options.volume);
  std::vector<std::string> args_text = {"shoal", "-o", "subtype=shoal,fsname=" + fsname + ",default_permissions"};
  if (::geteuid() == 0) args_text.back() += ",allow_other";
  for (const auto& option : options.fuse_options)
    if (option != "allow_other" || ::geteuid() != 0) args_text.back() += "," + option;
  std::vector<char*> argv;
  for (auto& arg : args_text) argv.push_back(arg.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());

  fuse_session* session = fuse_session_new(&args, &Operations(), sizeof(fuse_lowlevel_ops), &adapter);
  if (session == nullptr) {
    report.Send("cannot create the FUSE session (see the log)");
    return 1;
  }
  if (fuse_set_signal_handlers(session) != 0 || fuse_session_mount(session, options.mountpoint.c_str()) != 0) {
    report.Send(fmt::format("cannot mount on {}: is it an existing directory, and is /dev/fuse usable?",
                            options.mountpoint));
    fuse_session_destroy(session);
    return 1;
  }
  spdlog::info("mount.ready volume={} mountpoint={} server={}", options.volume, options.mountpoint,
               options.servers.front().ToString());
  report.Send("ok");
  adapter.notifier.Start(FuseKernelCache(session));  // from now on the kernel caches and is told to drop

  fuse_loop_config* loop = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(loop, 1);
  fuse_loop_cfg_set_max_threads(loop, 64);
  fuse_loop_cfg_set_idle_threads(loop, 16);
  int rc = fuse_session_loop_mt(session, loop);
  fuse_loop_cfg_destroy(loop);
  spdlog::info("mount.stopped mountpoint={} rc={}", options.mountpoint, rc);
  adapter.notifier.Stop();
  fuse_session_unmount(session);
  fuse_remove_signal_handlers(session);
  fuse_session_destroy(session);
  return rc == 0 ? 0 : 1;
}

}  // namespace

int RunMount(const MountOptions& options) {
  struct stat st;
  if (::stat(options.mountpoint.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    fmt::print(stderr, "shoal mount: mount point {} is not an existing directory\n", options.mountpoint);
    return 1;
  }
  if (options.foreground) {
    SetUpLogging({.program = "shoal-mount", .file = options.log_file, .level = options.log_level});
    Report report(-1);
    return Serve(options, report);
  }

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    fmt::print(stderr, "shoal mount: pipe: {}\n", std::strerror(errno));
    return 1;
  }
  pid_t child = ::fork();
  if (child < 0) {
    fmt::print(stderr, "shoal mount: fork: {}\n", std::strerror(errno));
    return 1;
  }
  if (child == 0) {
    ::close(pipe_fds[0]);
    ::setsid();
    if (::chdir("/") != 0) _exit(1);
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    ::dup2(null, STDERR_FILENO);
    SetUpLogging({.program = "shoal-mount", .file = options.log_file, .syslog = options.log_file.empty(),
                  .level = options.log_level});
    Report report(pipe_fds[1]);
    _exit(Serve(options, report));
  }
  ::close(pipe_fds[1]);
  std::string line;
  char c;
  while (::read(pipe_fds[0], &c, 1) == 1 && c != '\n') line.push_back(c);
  ::close(pipe_fds[0]);
  if (line == "ok") return 0;
  if (line.empty()) {
    int status = 0;
    ::waitpid(child, &status, 0);
    line = "the mount process ended without saying why (see the system log)";
  }
  fmt::print(stderr, "shoal mount: {}\n", line);
  return 1;
}

}  // namespace shoal::fuse
