#include "tests/posix/posix_test.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace shoal::testing::posix {
namespace {

// Contents longer than this are recorded as their length and a hash.
constexpr size_t kShownBytesMax = 200;

std::string Hex(uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

std::string Summary(std::string_view bytes) {
  if (bytes.size() <= kShownBytesMax) return "\"" + Escape(bytes) + "\"";
  uint64_t hash = 14695981039346656037ull;  // FNV-1a
  for (unsigned char c : bytes) hash = (hash ^ c) * 1099511628211ull;
  return std::to_string(bytes.size()) + " bytes, fnv1a " + Hex(hash);
}

std::string TypeName(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return "reg";
    case S_IFDIR: return "dir";
    case S_IFLNK: return "lnk";
    case S_IFIFO: return "fifo";
    case S_IFSOCK: return "sock";
    case S_IFCHR: return "chr";
    case S_IFBLK: return "blk";
    default: return "type?";
  }
}

std::string Describe(const struct stat& st) {
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
  std::string text = TypeName(st.st_mode) + " " + mode + " nlink=" + std::to_string(st.st_nlink) +
                     " uid=" + std::to_string(st.st_uid) + " gid=" + std::to_string(st.st_gid);
  if (!S_ISDIR(st.st_mode)) text += " size=" + std::to_string(st.st_size);
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
    text += " rdev=" + std::to_string(major(st.st_rdev)) + "," + std::to_string(minor(st.st_rdev));
  return text;
}

bool WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(n);
  }
  return true;
}

std::string ReadToEnd(int fd) {
  std::string text;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) text.append(buffer, n);
  return text;
}

char ReceiveFrom(int fd) {
  char c = '\0';
  ssize_t n;
  do n = ::read(fd, &c, 1);
  while (n < 0 && errno == EINTR);
  return n == 1 ? c : '\0';
}

void SendTo(int fd, char c) { (void)!::write(fd, &c, 1); }

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

std::string ErrnoName(int err) {
  const char* name = ::strerrorname_np(err);
  return name ? name : "errno" + std::to_string(err);
}

std::string Escape(std::string_view bytes) {
  std::string text;
  for (unsigned char c : bytes) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      text.push_back(static_cast<char>(c));
    } else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      text += hex;
    }
  }
  return text;
}

// ---------------------------------------------------------------- Trace

int64_t Trace::Call(std::string_view what, Outcome outcome) {
  lines_.push_back(Escape(what) + " = " +
                   (outcome.value < 0 ? "-1 " + ErrnoName(outcome.err) : std::to_string(outcome.value)));
  return outcome.value;
}

int Trace::Fd(std::string_view what, Outcome outcome) {
  lines_.push_back(Escape(what) + " = " + (outcome.value < 0 ? "-1 " + ErrnoName(outcome.err) : "fd"));
  return static_cast<int>(outcome.value);
}

void Trace::Note(std::string_view what, std::string_view value) {
  lines_.push_back(Escape(what) + ": " + Escape(value));
}

::testing::AssertionResult SameTrace(const Trace& local, const Trace& shoal) {
  const auto& a = local.lines();
  const auto& b = shoal.lines();
  if (a == b) return ::testing::AssertionSuccess() << a.size() << " lines alike";
  std::ostringstream out;
  out << "the shoal mount differs from the local directory ('-' local, '+' shoal):\n";
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    if (i < a.size() && i < b.size() && a[i] == b[i]) {
      out << "    " << a[i] << "\n";
      continue;
    }
    if (i < a.size()) out << "  - " << a[i] << "\n";
    if (i < b.size()) out << "  + " << b[i] << "\n";
  }
  return ::testing::AssertionFailure() << out.str();
}

// ---------------------------------------------------------------- helpers

std::string Parent(const std::string& path) { return path.substr(0, path.rfind('/')); }

struct stat NoteStat(Trace& trace, std::string_view what, const std::string& path, bool follow) {
  struct stat st {};
  int rc = follow ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st);
  if (rc != 0) {
    trace.Note(what, "-1 " + ErrnoName(errno));
    return {};
  }
  trace.Note(what, Describe(st));
  return st;
}

struct stat NoteFstat(Trace& trace, std::string_view what, int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    trace.Note(what, "-1 " + ErrnoName(errno));
    return {};
  }
  trace.Note(what, Describe(st));
  return st;
}

std::vector<std::string> NoteListing(Trace& trace, std::string_view what, const std::string& path) {
  std::vector<std::string> names;
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) {
    trace.Note(what, "-1 " + ErrnoName(errno));
    return names;
  }
  while (struct dirent* entry = ::readdir(dir)) names.emplace_back(entry->d_name);
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  std::string joined;
  for (const auto& name : names) joined += (joined.empty() ? "" : " ") + Escape(name);
  trace.AddLine(Escape(what) + ": [" + joined + "]");
  return names;
}

std::string NoteContent(Trace& trace, std::string_view what, const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    trace.Note(what, "-1 " + ErrnoName(errno));
    return {};
  }
  std::string content = ReadToEnd(fd);
  ::close(fd);
  trace.AddLine(Escape(what) + ": " + Summary(content));
  return content;
}

std::string NotePread(Trace& trace, std::string_view what, int fd, size_t size, off_t offset) {
  std::string data(size, '\0');
  ssize_t n = ::pread(fd, data.data(), size, offset);
  if (n < 0) {
    trace.Note(what, "-1 " + ErrnoName(errno));
    return {};
  }
  data.resize(n);
  trace.AddLine(Escape(what) + ": " + Summary(data));
  return data;
}

void NoteTimes(Trace& trace, std::string_view what, const std::string& path, bool follow) {
  struct stat st {};
  if ((follow ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st)) != 0) {
    trace.Note(what, "-1 " + ErrnoName(errno));
    return;
  }
  auto time = [](const timespec& ts) {
    char text[48];
    std::snprintf(text, sizeof text, "%lld.%09ld", static_cast<long long>(ts.tv_sec), ts.tv_nsec);
    return std::string(text);
  };
  trace.Note(what, "atime " + time(st.st_atim) + " mtime " + time(st.st_mtim));
}

void MakeFile(Trace& trace, const std::string& path, std::string_view content) {
  int fd = trace.Fd("create " + path.substr(path.rfind('/') + 1),
                    Sys(::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644)));
  if (fd < 0) return;
  trace.Call("write", Sys(::write(fd, content.data(), content.size())));
  ::close(fd);
}

// ---------------------------------------------------------------- Child

void Child::Link::Send(char c) { SendTo(out_, c); }
char Child::Link::Receive() { return ReceiveFrom(in_); }

Child::Child(std::function<void(Trace&, Link&)> body, std::optional<uid_t> as_uid, gid_t as_gid) {
  int to[2], from[2], trace[2];
  if (::pipe2(to, O_CLOEXEC) != 0 || ::pipe2(from, O_CLOEXEC) != 0 || ::pipe2(trace, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return;
  }
  pid_ = ::fork();
  if (pid_ == 0) {
    // Descriptors inherited from the parent would keep its open files (and their flock locks)
    // alive in this process: keep only the standard ones and this child's pipe ends.
    int keep[] = {to[0], from[1], trace[1]};
    std::sort(std::begin(keep), std::end(keep));
    unsigned first = 3;
    for (int fd : keep) {
      if (static_cast<unsigned>(fd) > first) ::close_range(first, fd - 1, 0);
      first = fd + 1;
    }
    ::close_range(first, ~0U, 0);
    Trace child_trace;
    Link link;
    link.in_ = to[0];
    link.out_ = from[1];
    if (as_uid) {
      child_trace.Call("setgroups", Sys(::setgroups(0, nullptr)));
      child_trace.Call("setgid", Sys(::setgid(as_gid)));
      child_trace.Call("setuid", Sys(::setuid(*as_uid)));
    }
    body(child_trace, link);
    std::string text;
    for (const auto& line : child_trace.lines()) text += line + "\n";
    WriteAll(trace[1], text);
    ::_exit(0);
  }
  ::close(to[0]);
  ::close(from[1]);
  ::close(trace[1]);
  to_child_ = to[1];
  from_child_ = from[0];
  trace_fd_ = trace[0];
  if (pid_ < 0) ADD_FAILURE() << "fork: " << std::strerror(errno);
}

Child::~Child() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  CloseFd(to_child_);
  CloseFd(from_child_);
  CloseFd(trace_fd_);
}

void Child::Send(char c) { SendTo(to_child_, c); }
char Child::Receive() { return ReceiveFrom(from_child_); }

bool Child::Readable(int wait_ms) {
  pollfd p{.fd = from_child_, .events = POLLIN, .revents = 0};
  return ::poll(&p, 1, wait_ms) > 0;
}

void Child::Wait(Trace& trace) {
  if (pid_ <= 0) return;
  CloseFd(to_child_);  // a child still waiting for a turn sees EOF rather than hanging
  std::string text = ReadToEnd(trace_fd_);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) trace.AddLine("child " + line);
  trace.AddLine(WIFEXITED(status) ? "child exit " + std::to_string(WEXITSTATUS(status))
                                  : "child killed by signal " + std::to_string(WTERMSIG(status)));
}

void RunAs(uid_t uid, gid_t gid, Trace& trace, const std::function<void(Trace&)>& body) {
  Child child([&body](Trace& t, Child::Link&) { body(t); }, uid, gid);
  child.Wait(trace);
}

bool WaitUntilBlockedIn(Child& child, long syscall_number) {
  const std::string path = "/proc/" + std::to_string(child.pid()) + "/syscall";
  for (;;) {
    // /proc/PID/syscall names the call only while the task is off the CPU inside it, so seeing
    // the number means the call is in progress and has not returned.
    std::ifstream in(path);
    long number = -1;
    if (in >> number && number == syscall_number) return true;
    // Between looks, wait on the child's pipe: it speaks (or dies) when the call returns, so
    // this wakes at once if the call returned instead of blocking.
    if (child.Readable(/*wait_ms=*/1)) return false;
  }
}

// ---------------------------------------------------------------- the fixture

std::string BackingName(const ::testing::TestParamInfo<Backing>& info) {
  return info.param == Backing::kDisk ? "disk" : "tmpfs";
}

void PrintTo(Backing backing, std::ostream* out) { *out << (backing == Backing::kDisk ? "disk" : "tmpfs"); }

void PosixTest::SetUp() {
  if (::geteuid() != 0) GTEST_SKIP() << "the POSIX suite runs as root (chown, mknod, other users)";
  ::umask(022);
  // Another user (in the permission scenarios) must be able to walk down to both roots.
  ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
  base_ = dir_.path();
  if (GetParam() == Backing::kTmpfs) {
    base_ += "/fs";
    ASSERT_EQ(::mkdir(base_.c_str(), 0755), 0);
    ASSERT_EQ(::mount("tmpfs", base_.c_str(), "tmpfs", 0, "size=2g,mode=0755"), 0) << std::strerror(errno);
    tmpfs_mounted_ = true;
  }
  for (const auto& path : {brick_root(), local_root(), mount_root()}) ASSERT_EQ(::mkdir(path.c_str(), 0755), 0) << path;
  std::ofstream(base_ + "/outside") << "outside the roots\n";

  server_ = std::make_unique<Server>(dir_.path() + "/data", brick_root());
  ASSERT_TRUE(server_->Start()) << server_->error();
  mount_ = std::make_unique<Mount>(mount_root());
  CommandResult mounted = mount_->Start(server_->spec(), mount_options());
  ASSERT_EQ(mounted.exit_code, 0) << mounted.err;
  ASSERT_TRUE(mount_->mounted());
}

void PosixTest::TearDown() {
  mount_.reset();
  server_.reset();
  if (tmpfs_mounted_) ::umount2(base_.c_str(), MNT_DETACH);
}

void PosixTest::ExpectSameOnBoth(const Scenario& scenario) {
  Trace local, shoal;
  {
    SCOPED_TRACE("on the local directory " + local_root());
    scenario(local_root(), local);
  }
  {
    SCOPED_TRACE("on the shoal mount " + mount_root());
    scenario(mount_root(), shoal);
  }
  // Had the mount gone, the scenario would have run on the empty directory beneath it.
  EXPECT_TRUE(mount_->mounted()) << "the mount is gone";
  EXPECT_TRUE(SameTrace(local, shoal));
  if (std::getenv("SHOAL_POSIX_SHOW_TRACE") != nullptr) {
    for (const auto& line : shoal.lines()) std::printf("  %s\n", line.c_str());
  }
}

}  // namespace shoal::testing::posix
