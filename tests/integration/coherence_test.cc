// Two mounts of one volume with long cache times (60 s): every change made through mount A is seen
// by the next observation through mount B at once. With such cache times that can only come from
// the server's invalidations (docs/design.md, "Caching with invalidation"): B's kernel caches what
// it saw first, and would otherwise answer from that cache for a minute.
//
// And a client that stops answering (frozen with SIGSTOP, or killed) holds up the other client's
// changes only for the server's bound: the change completes.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace shoal::testing {
namespace {

constexpr const char* kLongCacheTimes = "attr-timeout=60,entry-timeout=60,negative-timeout=60";

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

// stat(2)'s errno, or 0.
int StatError(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? 0 : errno;
}

struct stat StatOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st;
}

std::set<std::string> Listing(const std::string& dir) {
  std::set<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* entry = ::readdir(d)) names.insert(entry->d_name);
  ::closedir(d);
  return names;
}

std::string GetXattr(const std::string& path, const std::string& name) {
  char value[256];
  ssize_t n = ::getxattr(path.c_str(), name.c_str(), value, sizeof value);
  if (n < 0) return "errno " + std::to_string(errno);
  return std::string(value, n);
}

// Reads a file through B and leaves its attributes cached. (A read marks the kernel's atime
// stale, which makes the next stat ask the server whatever else is cached; the stat after it
// caches the attributes again, so that the test observes the cache, not that side effect.)
std::string ReadAndCache(const std::string& path) {
  std::string content = ReadFile(path);
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return content;
}

// The pid of the process serving the FUSE mount at `mountpoint` (its command line names it).
pid_t MountProcess(const std::string& mountpoint) {
  for (const auto& proc : std::filesystem::directory_iterator("/proc")) {
    std::string name = proc.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = ReadFile(proc.path().string() + "/cmdline");
    for (char& c : cmdline)
      if (c == '\0') c = ' ';
    if (cmdline.find(ShoalPath() + " mount ") == 0 && cmdline.find(" " + mountpoint) != std::string::npos)
      return static_cast<pid_t>(std::stoi(name));
  }
  return -1;
}

class CoherenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* dir : {"/brick", "/a", "/b"}) ::mkdir((dir_.path() + dir).c_str(), 0755);
    ASSERT_TRUE(server_.Start()) << server_.error();
    for (Mount* mount : {&a_, &b_}) {
      CommandResult mounted = mount->Start(server_.spec(), kLongCacheTimes);
      ASSERT_EQ(mounted.exit_code, 0) << mounted.err;
      ASSERT_TRUE(mount->mounted());
    }
  }
  std::string A(const std::string& name) const { return a_.path() + "/" + name; }
  std::string B(const std::string& name) const { return b_.path() + "/" + name; }

  TempDir dir_;
  Server server_{dir_.path() + "/data", dir_.path() + "/brick"};
  Mount a_{dir_.path() + "/a"};
  Mount b_{dir_.path() + "/b"};
};

TEST_F(CoherenceTest, CreateTurnsANegativeLookupPositive) {
  ASSERT_EQ(StatError(B("new")), ENOENT);  // B's kernel now caches "no such name"
  WriteFile(A("new"), "fresh");
  EXPECT_EQ(StatError(B("new")), 0);
  EXPECT_EQ(ReadFile(B("new")), "fresh");
}

TEST_F(CoherenceTest, UnlinkIsSeen) {
  WriteFile(A("gone"), "x");
  ASSERT_EQ(StatError(B("gone")), 0);
  ASSERT_EQ(::unlink(A("gone").c_str()), 0);
  EXPECT_EQ(StatError(B("gone")), ENOENT);
}

TEST_F(CoherenceTest, RenameIsSeenOnBothNames) {
  WriteFile(A("old"), "moved");
  ASSERT_EQ(StatError(B("old")), 0);
  ASSERT_EQ(StatError(B("new")), ENOENT);
  ASSERT_EQ(::rename(A("old").c_str(), A("new").c_str()), 0);
  EXPECT_EQ(StatError(B("old")), ENOENT);
  EXPECT_EQ(ReadFile(B("new")), "moved");
}

TEST_F(CoherenceTest, RenameOverAnExistingFileIsSeen) {
  WriteFile(A("target"), "before");
  WriteFile(A("replacement"), "after");
  ASSERT_EQ(ReadAndCache(B("target")), "before");
  const ino_t replacement = StatOf(B("replacement")).st_ino;
  ASSERT_EQ(::rename(A("replacement").c_str(), A("target").c_str()), 0);
  EXPECT_EQ(StatOf(B("target")).st_ino, replacement);
  EXPECT_EQ(ReadFile(B("target")), "after");
}

TEST_F(CoherenceTest, ChmodIsSeen) {
  WriteFile(A("mode"), "x");
  ASSERT_EQ(::chmod(A("mode").c_str(), 0644), 0);
  ASSERT_EQ(StatOf(B("mode")).st_mode & 07777, 0644u);
  ASSERT_EQ(::chmod(A("mode").c_str(), 0600), 0);
  EXPECT_EQ(StatOf(B("mode")).st_mode & 07777, 0600u);
}

TEST_F(CoherenceTest, WriteAndCloseIsSeenByTheNextOpen) {
  WriteFile(A("page"), "version one");
  ASSERT_EQ(ReadAndCache(B("page")), "version one");  // B's kernel caches the pages
  WriteFile(A("page"), "version two, longer");
  EXPECT_EQ(StatOf(B("page")).st_size, 19);
  EXPECT_EQ(ReadFile(B("page")), "version two, longer");
}

TEST_F(CoherenceTest, OverwriteOfTheSameSizeIsSeenByTheNextOpen) {
  WriteFile(A("same"), "aaaa");
  ASSERT_EQ(ReadAndCache(B("same")), "aaaa");
  int fd = ::open(A("same").c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, "bbbb", 4, 0), 4);
  ASSERT_EQ(::close(fd), 0);
  EXPECT_EQ(ReadFile(B("same")), "bbbb");
}

TEST_F(CoherenceTest, TruncateIsSeen) {
  WriteFile(A("short"), "0123456789");
  ASSERT_EQ(ReadAndCache(B("short")), "0123456789");
  ASSERT_EQ(::truncate(A("short").c_str(), 3), 0);
  EXPECT_EQ(StatOf(B("short")).st_size, 3);
  EXPECT_EQ(ReadFile(B("short")), "012");
}

TEST_F(CoherenceTest, XattrChangesAreSeen) {
  WriteFile(A("tagged"), "x");
  ASSERT_EQ(GetXattr(B("tagged"), "user.tag"), "errno " + std::to_string(ENODATA));
  ASSERT_EQ(::setxattr(A("tagged").c_str(), "user.tag", "one", 3, 0), 0);
  EXPECT_EQ(GetXattr(B("tagged"), "user.tag"), "one");
  ASSERT_EQ(::setxattr(A("tagged").c_str(), "user.tag", "two", 3, 0), 0);
  EXPECT_EQ(GetXattr(B("tagged"), "user.tag"), "two");
  ASSERT_EQ(::removexattr(A("tagged").c_str(), "user.tag"), 0);
  EXPECT_EQ(GetXattr(B("tagged"), "user.tag"), "errno " + std::to_string(ENODATA));
}

TEST_F(CoherenceTest, MkdirAndRmdirAreSeenInLookupsAndListings) {
  ASSERT_EQ(StatError(B("dir")), ENOENT);
  ASSERT_EQ(Listing(b_.path()).count("dir"), 0u);
  ASSERT_EQ(::mkdir(A("dir").c_str(), 0755), 0);
  EXPECT_EQ(StatError(B("dir")), 0);
  EXPECT_EQ(Listing(b_.path()).count("dir"), 1u);
  ASSERT_EQ(::rmdir(A("dir").c_str()), 0);
  EXPECT_EQ(StatError(B("dir")), ENOENT);
  EXPECT_EQ(Listing(b_.path()).count("dir"), 0u);
}

TEST_F(CoherenceTest, NewFileAppearsInACachedListing) {
  ASSERT_EQ(::mkdir(A("list").c_str(), 0755), 0);
  WriteFile(A("list/one"), "1");
  ASSERT_EQ(Listing(B("list")), (std::set<std::string>{".", "..", "one"}));
  WriteFile(A("list/two"), "2");
  EXPECT_EQ(Listing(B("list")), (std::set<std::string>{".", "..", "one", "two"}));
  ASSERT_EQ(::unlink(A("list/one").c_str()), 0);
  EXPECT_EQ(Listing(B("list")), (std::set<std::string>{".", "..", "two"}));
}

TEST_F(CoherenceTest, HardLinkIsSeenWithItsLinkCount) {
  WriteFile(A("original"), "shared");
  ASSERT_EQ(StatOf(B("original")).st_nlink, 1u);
  ASSERT_EQ(StatError(B("alias")), ENOENT);
  ASSERT_EQ(::link(A("original").c_str(), A("alias").c_str()), 0);
  EXPECT_EQ(StatOf(B("original")).st_nlink, 2u);
  EXPECT_EQ(ReadFile(B("alias")), "shared");
  ASSERT_EQ(::unlink(A("original").c_str()), 0);
  EXPECT_EQ(StatOf(B("alias")).st_nlink, 1u);
}

// A makes a name in the directory: the answer tells A's client what the directory is now, and
// A's next stat of it is answered from that. B's mkdir in it after that must be seen there too.
TEST_F(CoherenceTest, DirectoryChangedByBothIsSeenWithTheOthersChange) {
  ASSERT_EQ(::mkdir(A("both").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(A("both/from-a").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(B("both/from-b").c_str(), 0755), 0);
  const struct stat seen_by_a = StatOf(A("both"));
  const struct stat seen_by_b = StatOf(B("both"));
  EXPECT_EQ(seen_by_a.st_nlink, 4u) << "2 + A's and B's subdirectories";
  EXPECT_EQ(seen_by_a.st_mtim.tv_sec, seen_by_b.st_mtim.tv_sec);
  EXPECT_EQ(seen_by_a.st_mtim.tv_nsec, seen_by_b.st_mtim.tv_nsec);
  // And the other way round, A's own change after B's.
  ASSERT_EQ(::rmdir(A("both/from-b").c_str()), 0);
  EXPECT_EQ(StatOf(A("both")).st_nlink, 3u);
  EXPECT_EQ(StatOf(B("both")).st_nlink, 3u);
}

// A knows every name in a directory it made, until B makes or moves one in: then A asks again.
TEST_F(CoherenceTest, NamesMadeByAnotherClientInADirectoryMadeHereAreFound) {
  ASSERT_EQ(::mkdir(A("made").c_str(), 0755), 0);
  WriteFile(A("made/mine"), "a");
  ASSERT_EQ(StatError(A("made/absent")), ENOENT);
  WriteFile(B("made/theirs"), "b");
  EXPECT_EQ(ReadFile(A("made/theirs")), "b");
  ASSERT_EQ(::mkdir(A("made/sub").c_str(), 0755), 0);
  ASSERT_EQ(::rename(B("made/theirs").c_str(), B("made/sub/moved").c_str()), 0);
  EXPECT_EQ(ReadFile(A("made/sub/moved")), "b");
  ASSERT_EQ(::link(B("made/mine").c_str(), B("made/sub/linked").c_str()), 0);
  EXPECT_EQ(ReadFile(A("made/sub/linked")), "a");
}

TEST_F(CoherenceTest, ChangesInBothDirectionsAreSeen) {
  WriteFile(A("ping"), "from a");
  ASSERT_EQ(ReadAndCache(B("ping")), "from a");
  ASSERT_EQ(ReadAndCache(A("ping")), "from a");
  WriteFile(B("ping"), "from b, longer");
  EXPECT_EQ(StatOf(A("ping")).st_size, 14);
  EXPECT_EQ(ReadFile(A("ping")), "from b, longer");
}

// ---------------------------------------------------------------- a client that does not answer

TEST_F(CoherenceTest, FrozenClientDoesNotHoldUpChangesBeyondTheBound) {
  WriteFile(A("watched"), "x");
  ASSERT_EQ(StatError(B("watched")), 0);  // B caches it: a change must wait for B...
  const pid_t b_process = MountProcess(b_.path());
  ASSERT_GT(b_process, 0);
  ASSERT_EQ(::kill(b_process, SIGSTOP), 0);
  // ...which cannot answer. Nothing may touch B's mount until it runs again.
  const int chmod_result = ::chmod(A("watched").c_str(), 0600);
  const int unlink_result = ::unlink(A("watched").c_str());
  ASSERT_EQ(::kill(b_process, SIGCONT), 0);
  EXPECT_EQ(chmod_result, 0);
  EXPECT_EQ(unlink_result, 0);
  // B was dropped by the server and reconnects; its mount keeps working.
  WriteFile(A("after"), "still shared");
  EXPECT_EQ(ReadFile(B("after")), "still shared");
}

TEST_F(CoherenceTest, KilledClientDoesNotHoldUpChanges) {
  WriteFile(A("watched"), "x");
  ASSERT_EQ(StatError(B("watched")), 0);
  const pid_t b_process = MountProcess(b_.path());
  ASSERT_GT(b_process, 0);
  ASSERT_EQ(::kill(b_process, SIGKILL), 0);
  EXPECT_EQ(::chmod(A("watched").c_str(), 0600), 0);
  EXPECT_EQ(::unlink(A("watched").c_str()), 0);
}

}  // namespace
}  // namespace shoal::testing
