// The POSIX behaviour suite: the same sequence of system calls, run once under a plain local
// directory and once under a shoal mount, must see the same results.
//
// A scenario is `void Scenario(const std::string& root, Trace& trace)`. It works only under
// `root` and records, in order, each call's result and errno and the values it observed (sizes,
// modes, contents, sorted listings, xattr values). PosixTest runs it on both roots and expects
// the two traces to be equal. Values that legitimately differ between two filesystems (inode
// numbers, devices, atime/ctime as they fall, st_blocks, a directory's st_size) are never
// recorded; where one of their properties matters (two hard links share an inode, a rename keeps
// it, a write moves mtime forward) the scenario checks that property with EXPECT_*, on both roots,
// so a wrong expectation shows up on the local directory first.
//
// Both roots are siblings under one base directory (base/local and base/mnt, with the brick at
// base/brick), so `Parent(root)` is the same place for both: scenarios put "outside" things there.
// The base is either on /tmp's filesystem or on a tmpfs mounted for the test (the suite runs on
// both): the disk is what a brick really sits on, tmpfs takes 64 KiB xattr values that ext4
// without ea_inode refuses, so only there does that comparison prove anything.
//
// Everything runs as root (chown, mknod, tmpfs, dropping to another user in a child process).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cerrno>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace shoal::testing::posix {

// What one system call returned, with errno captured right after it (before anything else can
// touch errno). Make one with Sys(::call(...)).
struct Outcome {
  int64_t value;
  int err;
};
inline Outcome Sys(int64_t value) { return {value, value < 0 ? errno : 0}; }

// "ENOENT" for ENOENT.
std::string ErrnoName(int err);
// Bytes as printable text: non-printable bytes and backslashes become \xNN.
std::string Escape(std::string_view bytes);

// The observations of one scenario run, one printable line each.
class Trace {
 public:
  // Records "what = VALUE" or "what = -1 ERRNO" and returns the call's value.
  int64_t Call(std::string_view what, Outcome outcome);
  // Like Call, but for a call returning a descriptor: records "ok" rather than its number.
  int Fd(std::string_view what, Outcome outcome);
  // Records "what: value" (the value escaped).
  void Note(std::string_view what, std::string_view value);
  void Note(std::string_view what, int64_t value) { Note(what, std::to_string(value)); }
  void Note(std::string_view what, const char* value) { Note(what, std::string_view(value)); }
  void AddLine(std::string line) { lines_.push_back(std::move(line)); }

  const std::vector<std::string>& lines() const { return lines_; }

 private:
  std::vector<std::string> lines_;
};

// Passes when both traces are equal; otherwise shows them line by line with the differences
// marked, so the first divergence is easy to find.
::testing::AssertionResult SameTrace(const Trace& local, const Trace& shoal);

// ---------------------------------------------------------------- helpers for scenarios

std::string Parent(const std::string& path);
// stat(2) (or lstat(2) if `follow` is false) of `path`, recorded as "what: ..." with the file
// type, permission bits, nlink, uid, gid, size (not for directories), rdev (devices only); or the
// errno. Returns the stat for further checks (zeroed on failure).
struct stat NoteStat(Trace& trace, std::string_view what, const std::string& path, bool follow = true);
// The same from fstat(2) of `fd`.
struct stat NoteFstat(Trace& trace, std::string_view what, int fd);
// The names in directory `path`, sorted, "." and ".." included; recorded as one line.
std::vector<std::string> NoteListing(Trace& trace, std::string_view what, const std::string& path);
// The whole content of `path` (or the errno), recorded escaped.
std::string NoteContent(Trace& trace, std::string_view what, const std::string& path);
// pread of `size` bytes at `offset`, recorded escaped (or the errno).
std::string NotePread(Trace& trace, std::string_view what, int fd, size_t size, off_t offset);
// atime and mtime of `path` to the nanosecond (only for times a scenario set itself).
void NoteTimes(Trace& trace, std::string_view what, const std::string& path, bool follow = true);
// Creates `path` holding `content` (mode 0644), recording the calls.
void MakeFile(Trace& trace, const std::string& path, std::string_view content);

// A forked process running a piece of a scenario. Its observations come back through a pipe and
// join the parent's trace (prefixed "child ") in Wait(). Parent and child hand the turn to each
// other through two pipes (Send/Receive), never through sleeps.
//
// The child must not use gtest assertions (they would fail silently in another process); it only
// records into its own Trace.
class Child {
 public:
  // The child's end of the two pipes.
  class Link {
   public:
    void Send(char c);
    char Receive();  // '\0' if the parent is gone
   private:
    friend class Child;
    int in_ = -1, out_ = -1;
  };

  // Forks; the child runs `body` and exits. If `as_uid` is set, the child first drops to that
  // user and group (no supplementary groups), as a login as that user would.
  explicit Child(std::function<void(Trace&, Link&)> body, std::optional<uid_t> as_uid = std::nullopt,
                 gid_t as_gid = 0);
  ~Child();  // kills and reaps a child that was not waited for
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  void Send(char c);
  char Receive();  // '\0' if the child is gone
  // Whether the child has something to Receive() (or is gone), waiting at most `wait_ms`.
  bool Readable(int wait_ms = 0);
  // Waits for the child to finish; appends its trace and exit status to `trace`.
  void Wait(Trace& trace);

 private:
  pid_t pid_ = -1;
  int to_child_ = -1, from_child_ = -1, trace_fd_ = -1;
};

// Runs `body` as `uid`:`gid` in a child process and appends what it recorded to `trace`.
void RunAs(uid_t uid, gid_t gid, Trace& trace, const std::function<void(Trace&)>& body);

// Waits until process `pid` is blocked inside system call `syscall_number` (as
// /proc/PID/syscall shows), or until `child` has something to say (it returned from the call
// instead). Returns true if it was seen blocked.
bool WaitUntilBlockedIn(Child& child, long syscall_number);

// ---------------------------------------------------------------- the fixture

// Where the base directory lives (see the top of this file).
enum class Backing { kDisk, kTmpfs };
std::string BackingName(const ::testing::TestParamInfo<Backing>& info);
void PrintTo(Backing backing, std::ostream* out);
inline const auto kBackings = ::testing::Values(Backing::kDisk, Backing::kTmpfs);

using Scenario = std::function<void(const std::string& root, Trace& trace)>;

class PosixTest : public ::testing::TestWithParam<Backing> {
 protected:
  void SetUp() override;
  void TearDown() override;
  // The mount's -o options (none: the defaults).
  virtual std::string mount_options() const { return ""; }

  // Runs `scenario` under the local directory, then under the mount, and expects equal traces.
  void ExpectSameOnBoth(const Scenario& scenario);

  std::string base() const { return base_; }
  std::string local_root() const { return base_ + "/local"; }
  std::string mount_root() const { return base_ + "/mnt"; }
  std::string brick_root() const { return base_ + "/brick"; }

 private:
  TempDir dir_;
  std::string base_;
  bool tmpfs_mounted_ = false;
  std::unique_ptr<Server> server_;
  std::unique_ptr<Mount> mount_;
};

}  // namespace shoal::testing::posix
