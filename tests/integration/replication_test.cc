// Replicated volumes on a pool of three real shoald (pool_fixture.h): every change lands on every
// in-sync brick, identical down to node ids and times (the convergence checker); the primary is
// killed, frozen or stopped while a client writes, and the client goes on with every
// acknowledged write kept; a brick that falls out is never read from, and is healed back into the
// in-sync set when it returns (heal_test.cc tests the heal itself).
#include <fcntl.h>
#include <signal.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#include "coord/etcd_client.h"
#include "tests/integration/convergence.h"
#include "tests/integration/replication_fixture.h"

namespace shoal::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST_F(ReplicationTest, EveryChangeLandsIdenticallyOnEveryBrick) {
  CreateAndStart({1, 2, 3});
  const int primary = WaitForPrimary();
  ASSERT_NE(primary, 0) << Status().dump();
  nlohmann::json status = Status();
  EXPECT_GE(status["replica_set"]["epoch"].get<int>(), 1) << status.dump();
  std::map<int, std::string> states = States();
  EXPECT_EQ(std::count_if(states.begin(), states.end(), [](auto& s) { return s.second == "in-sync"; }), 2)
      << status.dump();

  Mount mount(MountPoint("m"));
  ASSERT_EQ(mount.Start(Name(3) + ":/www").exit_code, 0);
  const std::string m = mount.path();
  // The client talks to the primary alone (the primary's own connections to the backups are not
  // clients).
  for (const auto& brick : Status()["bricks"])
    EXPECT_EQ(brick["clients"], brick["state"] == "primary" ? 1 : 0) << brick.dump();
  ASSERT_EQ(::mkdir((m + "/dir").c_str(), 0750), 0);
  { std::ofstream(m + "/dir/a.txt") << "alpha"; }
  { std::ofstream(m + "/big") << std::string(3 << 20, 'b'); }
  ASSERT_EQ(::symlink("dir/a.txt", (m + "/link").c_str()), 0);
  ASSERT_EQ(::link((m + "/dir/a.txt").c_str(), (m + "/hard").c_str()), 0);
  ASSERT_EQ(::rename((m + "/big").c_str(), (m + "/dir/big").c_str()), 0);
  ASSERT_EQ(::chmod((m + "/dir/a.txt").c_str(), 0600), 0);
  ASSERT_EQ(::setxattr((m + "/hard").c_str(), "user.tag", "v1", 2, 0), 0);
  ASSERT_EQ(::truncate((m + "/dir/big").c_str(), 1000), 0);
  ASSERT_EQ(::mkfifo((m + "/fifo").c_str(), 0640), 0);
  { std::ofstream(m + "/gone") << "x"; }
  ASSERT_EQ(::unlink((m + "/gone").c_str()), 0);
  {
    std::ofstream append(m + "/dir/a.txt", std::ios::app);
    append << " and more";
  }
  EXPECT_EQ(ReadFile(m + "/hard"), "alpha and more");
  // Small writes run on the bricks' io threads, those to a file opened for synchronous writes on
  // their worker pools: either way in order, on every brick.
  for (const int sync : {O_SYNC, O_DSYNC}) {
    const std::string path = m + (sync == O_SYNC ? "/dir/synced" : "/dir/data-synced");
    const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | sync, 0644);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    ASSERT_EQ(::pwrite(fd, "0123456789", 10, 0), 10);
    ASSERT_EQ(::pwrite(fd, "ab", 2, 4), 2);
    ASSERT_EQ(::close(fd), 0);
    EXPECT_EQ(ReadFile(path), "0123ab6789");
  }

  EXPECT_THAT(test::CompareBricks(Bricks({1, 2, 3})), IsEmpty());
  EXPECT_EQ(ReadFile(Brick(1) + "/dir/a.txt"), "alpha and more");
  EXPECT_EQ(ReadFile(Brick(2) + "/dir/synced"), "0123ab6789");
}

// Changes from two writers at once reach each backup back to back, some handed to its worker
// pool (removals, data), some applied on its io thread (creates, xattrs): every backup must apply
// them in the primary's order. Had a create overtaken the removal of the same name, the backup
// would have answered EEXIST where the primary succeeded, and left the in-sync set.
TEST_F(ReplicationTest, ChangesThatRaceAreAppliedInThePrimarysOrderOnEveryBrick) {
  CreateAndStart({1, 2, 3});
  ASSERT_NE(WaitForPrimary(), 0) << Status().dump();
  Mount mount(MountPoint("m"));
  ASSERT_EQ(mount.Start(Name(1) + ":/www").exit_code, 0);
  const std::string name = mount.path() + "/contended";
  constexpr int kRounds = 300;
  std::atomic<int> unexpected{0};
  std::thread remover([&] {
    const std::string data(64 << 10, 'd');
    for (int i = 0; i < kRounds; ++i) {
      if (::unlink(name.c_str()) != 0 && errno != ENOENT) ++unexpected;
      const std::string other = mount.path() + "/data" + std::to_string(i % 4);
      std::ofstream(other) << data;
    }
  });
  std::thread creator([&] {
    for (int i = 0; i < kRounds; ++i) {
      const int fd = ::open(name.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
      if (fd < 0 && errno != EEXIST) ++unexpected;
      if (fd >= 0) ::close(fd);
      if (::setxattr(name.c_str(), "user.round", "r", 1, 0) != 0 && errno != ENOENT) ++unexpected;
    }
  });
  remover.join();
  creator.join();
  EXPECT_EQ(unexpected.load(), 0);
  std::map<int, std::string> states = States();
  EXPECT_EQ(std::count_if(states.begin(), states.end(), [](auto& s) { return s.second == "in-sync"; }), 2)
      << Status().dump();
  EXPECT_THAT(test::CompareBricks(Bricks({1, 2, 3})), IsEmpty());
}

// Reads of file data are spread over the in-sync bricks by node id, each read answered with what
// was written; a mount with reads=primary reads only from the primary. (partition_test.cc: a backup
// that misses changes serves none of them.)
// The files `pid` holds open under `dir`, unlinked ones too ("... (deleted)"); not the O_PATH
// descriptors a brick keeps to find nodes by id, which open nothing.
int OpenFilesUnder(pid_t pid, const std::string& dir) {
  const std::string proc = "/proc/" + std::to_string(pid);
  int open = 0;
  DIR* listing = ::opendir((proc + "/fd").c_str());
  if (listing == nullptr) return -1;
  while (const dirent* entry = ::readdir(listing)) {
    char target[4096];
    const ssize_t n = ::readlink((proc + "/fd/" + entry->d_name).c_str(), target, sizeof target - 1);
    if (n <= 0 || !std::string(target, n).starts_with(dir + "/")) continue;
    std::ifstream info(proc + "/fdinfo/" + entry->d_name);
    std::string key;
    unsigned flags = 0;
    while (info >> key)
      if (key == "flags:" && info >> std::oct >> flags) break;
    if (!(flags & O_PATH)) ++open;
  }
  ::closedir(listing);
  return open;
}

TEST_F(ReplicationTest, BackupsCloseTheFilesTheirPrimaryClosed) {
  CreateAndStart({1, 2, 3});
  const int primary = WaitForPrimary();
  ASSERT_NE(primary, 0);
  Mount mount(MountPoint("m"));
  ASSERT_EQ(mount.Start(Name(primary) + ":/www").exit_code, 0);
  ASSERT_EQ(::mkdir((mount.path() + "/closed").c_str(), 0755), 0) << std::strerror(errno);
  // Opened for writing on every brick, then closed: the backups are told with a later change, or
  // on their own when none comes (nothing is written after the last close here).
  constexpr int kFiles = 200;
  for (int i = 0; i < kFiles; ++i) {
    const std::string path = mount.path() + "/closed/f" + std::to_string(i);
    const int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
    ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
    ASSERT_EQ(::write(fd, "data", 4), 4);
    ASSERT_EQ(::close(fd), 0);
  }
  // One unlinked while open: its blocks go only when the last descriptor on each brick does.
  const std::string gone = mount.path() + "/closed/gone";
  const int fd = ::open(gone.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  ASSERT_EQ(::write(fd, "data", 4), 4);
  ASSERT_EQ(::unlink(gone.c_str()), 0);
  ASSERT_EQ(::close(fd), 0);

  std::map<int, int> still_open;
  for (int attempt = 0; attempt < 100; ++attempt) {  // bounded: 10 s
    still_open.clear();
    for (int i = 1; i <= 3; ++i) {
      const int open = OpenFilesUnder(servers_[i - 1]->pid(), std::filesystem::canonical(Brick(i)).string() + "/closed");
      if (open != 0) still_open[i] = open;
    }
    if (still_open.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_THAT(still_open, IsEmpty()) << "descriptors still open under <brick>/closed, by server (primary "
                                     << primary << ")";
  EXPECT_THAT(test::CompareBricks(Bricks({1, 2, 3})), IsEmpty());
}

TEST_F(ReplicationTest, FileReadsAreSpreadOverTheInSyncBricks) {
  CreateAndStart({1, 2, 3});
  const int primary = WaitForPrimary();
  ASSERT_NE(primary, 0) << Status().dump();
  Mount mount(MountPoint("m"));
  ASSERT_EQ(mount.Start(Name(1) + ":/www").exit_code, 0);
  constexpr int kFiles = 30;
  auto path = [](const std::string& m, int i) { return m + "/f" + std::to_string(i); };
  auto content = [](int i) { return "file " + std::to_string(i) + " " + std::string(i * 1000, 'r'); };
  for (int i = 0; i < kFiles; ++i) std::ofstream(path(mount.path(), i)) << content(i);
  // The mount makes its read connections in the background: read until every brick has served
  // some (bounded).
  std::map<int, uint64_t> reads;
  for (int round = 0; round < 500; ++round) {
    for (int i = 0; i < kFiles; ++i) ASSERT_EQ(ReadPastPageCache(path(mount.path(), i)), content(i)) << "f" << i;
    reads = Reads();
    if (reads[1] > 0 && reads[2] > 0 && reads[3] > 0) break;
  }
  for (int server = 1; server <= 3; ++server) EXPECT_GT(reads[server], 0u) << "server " << server << ": " << Status().dump();
  // A mount's read connections are not clients of their own.
  for (const auto& brick : Status()["bricks"])
    EXPECT_EQ(brick["clients"], brick["state"] == "primary" ? 1 : 0) << brick.dump();

  Mount primary_only(MountPoint("p"));
  ASSERT_EQ(primary_only.Start(Name(1) + ":/www", "reads=primary").exit_code, 0);
  const std::map<int, uint64_t> before = Reads();
  for (int i = 0; i < kFiles; ++i) ASSERT_EQ(ReadPastPageCache(path(primary_only.path(), i)), content(i)) << "f" << i;
  const std::map<int, uint64_t> after = Reads();
  for (int server = 1; server <= 3; ++server) {
    if (server == primary) {
      EXPECT_GE(after.at(server), before.at(server) + kFiles);
    } else {
      EXPECT_EQ(after.at(server), before.at(server)) << "server " << server;
    }
  }
  EXPECT_THAT(test::CompareBricks(Bricks({1, 2, 3})), IsEmpty());
}

// A directory listing begun before the primary is killed goes on from the new primary, whose
// brick sits on another filesystem (ext4 seeds its name hashes per filesystem, so the two bricks'
// own offsets differ): every name comes exactly once.
TEST_F(ReplicationTest, AListingGoesOnAcrossAFailoverToABrickOnAnotherFilesystem) {
  LoopDisk disk2(dir_.path() + "/disk2", 64), disk3(dir_.path() + "/disk3", 64);
  ASSERT_TRUE(disk2.ok() && disk3.ok());
  ASSERT_EQ(::mkdir((disk2.path() + "/b").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((disk3.path() + "/b").c_str(), 0755), 0);
  CommandResult created = Shoal(1, {"volume", "create", "www", "replica", "3", Name(1) + ":" + Brick(1),
                                    Name(2) + ":" + disk2.path() + "/b", Name(3) + ":" + disk3.path() + "/b", "force"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  ASSERT_EQ(Shoal(1, {"volume", "start", "www"}).exit_code, 0);
  const int primary = WaitForPrimary();  // each brick is on a filesystem of its own: any will do
  ASSERT_NE(primary, 0);
  std::vector<int> survivors;
  std::string backups;
  for (int i = 1; i <= 3; ++i)
    if (i != primary) {
      survivors.push_back(i);
      backups += (backups.empty() ? "" : ":") + Name(i);
    }
  Mount mount(MountPoint("m"));
  ASSERT_EQ(mount.Start(Name(primary) + ":/www", "backup-servers=" + backups).exit_code, 0);
  const std::string dir = mount.path() + "/d";
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  constexpr int kFiles = 2000;
  for (int i = 0; i < kFiles; ++i)
    std::ofstream(dir + "/file-" + std::to_string(i) + "-with-a-name-long-enough-to-fill-pages");

  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  std::map<std::string, int> seen;
  auto read_some = [&] {  // one getdents64 of 1 KiB: a few entries
    char buffer[1024];
    const long n = ::syscall(SYS_getdents64, fd, buffer, sizeof buffer);
    for (long at = 0; at < n;) {
      auto* entry = reinterpret_cast<struct dirent64*>(buffer + at);
      ++seen[entry->d_name];
      at += entry->d_reclen;
    }
    return n;
  };
  for (int i = 0; i < 20; ++i) ASSERT_GT(read_some(), 0);
  servers_[primary - 1]->Kill(SIGKILL);
  ASSERT_NE(WaitForPrimary(survivors, primary), 0);
  long n;
  while ((n = read_some()) > 0) {
  }
  EXPECT_EQ(n, 0) << std::strerror(errno);
  ::close(fd);
  int missing = 0;
  for (int i = 0; i < kFiles; ++i)
    missing += seen.count("file-" + std::to_string(i) + "-with-a-name-long-enough-to-fill-pages") == 0;
  EXPECT_EQ(missing, 0);
  for (const auto& [name, count] : seen) EXPECT_EQ(count, 1) << name;
  EXPECT_EQ(seen.size(), kFiles + 2u);
}

// POSIX locks live on the primary. When it is killed, the client holding a lock takes it again
// from the new primary, which grants no other lock for its first seconds: another client still
// finds the range locked after the failover, and gets it once the holder lets go.
TEST_F(ReplicationTest, ALockHeldBeforeAFailoverIsStillHeldAfterIt) {
  CreateAndStart({1, 2, 3});
  const int primary = WaitForPrimary();
  ASSERT_NE(primary, 0);
  std::string backups;
  for (int i = 1; i <= 3; ++i)
    if (i != primary) backups += (backups.empty() ? "" : ":") + Name(i);
  Mount a(MountPoint("a")), b(MountPoint("b"));
  ASSERT_EQ(a.Start(Name(primary) + ":/www", "backup-servers=" + backups).exit_code, 0);
  ASSERT_EQ(b.Start(Name(primary) + ":/www", "backup-servers=" + backups).exit_code, 0);
  { std::ofstream(a.path() + "/locked") << "guarded data"; }
  const int holder = ::open((a.path() + "/locked").c_str(), O_RDWR);
  const int other = ::open((b.path() + "/locked").c_str(), O_RDWR);
  ASSERT_GE(holder, 0);
  ASSERT_GE(other, 0);
  const struct flock range = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100};
  struct flock want = range;
  ASSERT_EQ(::fcntl(holder, F_SETLK, &want), 0) << std::strerror(errno);
  want = range;
  ASSERT_EQ(::fcntl(other, F_SETLK, &want), -1);
  ASSERT_EQ(errno, EAGAIN);

  servers_[primary - 1]->Kill(SIGKILL);
  std::vector<int> survivors;
  for (int i = 1; i <= 3; ++i)
    if (i != primary) survivors.push_back(i);
  ASSERT_NE(WaitForPrimary(survivors, primary), 0);
  want = range;
  EXPECT_EQ(::fcntl(other, F_SETLK, &want), -1) << "another client took a lock its holder never let go";
  EXPECT_EQ(errno, EAGAIN);
  struct flock probe = range;
  ASSERT_EQ(::fcntl(other, F_GETLK, &probe), 0) << std::strerror(errno);
  EXPECT_EQ(probe.l_type, F_WRLCK);

  ASSERT_EQ(::close(holder), 0);  // close(2) lets the lock go
  want = range;
  EXPECT_EQ(::fcntl(other, F_SETLK, &want), 0) << std::strerror(errno);
  ::close(other);
}

TEST_F(ReplicationTest, PrimaryKilledTheClientGoesOnWithEveryAcknowledgedWrite) {
  CreateAndStart({1, 2, 3});
  const int primary = WaitForPrimary();
  ASSERT_NE(primary, 0);
  const int other = primary == 1 ? 2 : 1;
  Mount mount(MountPoint("m"));
  ASSERT_EQ(mount.Start(Name(other) + ":/www", "backup-servers=" + Name(6 - primary - other)).exit_code, 0);
  Writer writer(mount.path());
  ASSERT_TRUE(writer.WaitFor(20)) << ::testing::PrintToString(writer.errors());

  servers_[primary - 1]->Kill(SIGKILL);
  ASSERT_TRUE(writer.WaitFor(30)) << ::testing::PrintToString(writer.errors());
  writer.Stop();
  EXPECT_THAT(writer.errors(), IsEmpty());

  std::vector<int> survivors;
  for (int i = 1; i <= 3; ++i)
    if (i != primary) survivors.push_back(i);
  const int next = WaitForPrimary(survivors);
  EXPECT_NE(next, 0);
  std::map<int, std::string> states = States(survivors);
  EXPECT_EQ(states[primary], "down");
  ExpectAcknowledgedWrites(mount.path(), writer.acknowledged());
  EXPECT_THAT(test::CompareBricks(Bricks(survivors)), IsEmpty());

  // Back again, the old primary (which may hold a change no one else has) is healed: made the
  // same as the new primary's brick, and back in the in-sync set.
  ASSERT_TRUE(servers_[primary - 1]->Start(port_)) << servers_[primary - 1]->error();
  EXPECT_TRUE(WaitForInSync(primary)) << Status().dump();
  EXPECT_THAT(test::CompareBricks(Bricks({1, 2, 3}), kHealed), IsEmpty());
}

TEST_F(ReplicationTest, PrimaryFrozenIsReplacedAndFencedWhenItWakes) {
  CreateAndStart({1, 2, 3});
  const int primary = WaitForPrimary();
  ASSERT_NE(primary, 0);
  const int other = primary == 1 ? 2 : 1;
  Mount mount(MountPoint("m"));
  ASSERT_EQ(mount.Start(Name(other) + ":/www", "backup-servers=" + Name(6 - primary - other)).exit_code, 0);
  // A second client that only reads, idle while the primary is frozen.
  Mount reader(MountPoint("r"));
  ASSERT_EQ(reader.Start(Name(other) + ":/www").exit_code, 0);
  { std::ofstream(mount.path() + "/shared") << "before"; }
  EXPECT_EQ(ReadFile(reader.path() + "/shared"), "before");
  Writer writer(mount.path());
  ASSERT_TRUE(writer.WaitFor(20)) << ::testing::PrintToString(writer.errors());

  servers_[primary - 1]->Kill(SIGSTOP);
  ASSERT_TRUE(writer.WaitFor(30)) << ::testing::PrintToString(writer.errors());
  { std::ofstream(mount.path() + "/shared") << "after the failover"; }
  servers_[primary - 1]->Kill(SIGCONT);
  // Awake, the old primary must not answer from its brick, which the new primary has moved on from.
  EXPECT_EQ(ReadFile(reader.path() + "/shared"), "after the failover");
  ASSERT_TRUE(writer.WaitFor(20)) << ::testing::PrintToString(writer.errors());
  writer.Stop();
  EXPECT_THAT(writer.errors(), IsEmpty());

  // Awake, it learns that it left the in-sync set, and is healed back into it.
  EXPECT_TRUE(WaitForInSync(primary)) << Status().dump();
  std::map<int, std::string> states = States();
  EXPECT_EQ(std::count_if(states.begin(), states.end(), [](auto& s) { return s.second == "primary"; }), 1);
  ExpectAcknowledgedWrites(mount.path(), writer.acknowledged());
  EXPECT_THAT(test::CompareBricks(Bricks({1, 2, 3}), kHealed), IsEmpty());
}

TEST_F(ReplicationTest, BackupKilledLeavesTheInSyncSetAndWritesGoOn) {
  CreateAndStart({1, 2, 3});
  const int primary = WaitForPrimary();
  ASSERT_NE(primary, 0);
  const int backup = primary == 3 ? 2 : 3;
  Mount mount(MountPoint("m"));
  ASSERT_EQ(mount.Start(Name(primary) + ":/www").exit_code, 0);
  Writer writer(mount.path());
  ASSERT_TRUE(writer.WaitFor(20)) << ::testing::PrintToString(writer.errors());
  servers_[backup - 1]->Kill(SIGKILL);
  ASSERT_TRUE(writer.WaitFor(30)) << ::testing::PrintToString(writer.errors());
  writer.Stop();
  EXPECT_THAT(writer.errors(), IsEmpty());

  nlohmann::json status = Status({primary});
  EXPECT_EQ(status["replica_set"]["in_sync"].size(), 2u) << status.dump();
  std::vector<int> in_sync;
  for (int i = 1; i <= 3; ++i)
    if (i != backup) in_sync.push_back(i);
  EXPECT_THAT(test::CompareBricks(Bricks(in_sync)), IsEmpty());
  // Back again, it is healed without a command.
  ASSERT_TRUE(servers_[backup - 1]->Start(port_)) << servers_[backup - 1]->error();
  EXPECT_TRUE(WaitForInSync(backup)) << Status().dump();
  EXPECT_THAT(test::CompareBricks(Bricks({1, 2, 3}), kHealed), IsEmpty());
  ExpectAcknowledgedWrites(mount.path(), writer.acknowledged());
}

TEST_F(ReplicationTest, PlannedStopHandsThePrimaryRoleOver) {
  CreateAndStart({1, 2, 3});
  const int primary = WaitForPrimary();
  ASSERT_NE(primary, 0);
  const int other = primary == 1 ? 2 : 1;
  Mount mount(MountPoint("m"));
  ASSERT_EQ(mount.Start(Name(other) + ":/www", "backup-servers=" + Name(6 - primary - other)).exit_code, 0);
  Writer writer(mount.path());
  ASSERT_TRUE(writer.WaitFor(20));
  servers_[primary - 1]->Kill(SIGTERM);
  ASSERT_TRUE(writer.WaitFor(20)) << ::testing::PrintToString(writer.errors());
  writer.Stop();
  EXPECT_THAT(writer.errors(), IsEmpty());
  // Another brick took the role; the stopped one, which misses what is written now, left the
  // in-sync set.
  std::vector<int> survivors;
  for (int i = 1; i <= 3; ++i)
    if (i != primary) survivors.push_back(i);
  EXPECT_NE(WaitForPrimary(survivors), 0);
  nlohmann::json status = Status(survivors);
  EXPECT_EQ(status["replica_set"]["in_sync"].size(), 2u) << status.dump();
  EXPECT_THAT(test::CompareBricks(Bricks(survivors)), IsEmpty());
  ExpectAcknowledgedWrites(mount.path(), writer.acknowledged());
}

TEST_F(ReplicationTest, ReplicaTwoWithoutWitnessWarnsAtCreate) {
  CreateAndStart({1, 2});
  EXPECT_THAT(created_err_, HasSubstr("without a witness"));
  EXPECT_EQ(WaitForPrimary(), 1);  // the first brick breaks ties: only it takes the role
  Mount mount(MountPoint("m"));
  ASSERT_EQ(mount.Start(Name(3) + ":/www").exit_code, 0);
  { std::ofstream(mount.path() + "/two") << "copies"; }
  EXPECT_EQ(ReadFile(Brick(2) + "/two"), "copies");
  EXPECT_THAT(test::CompareBricks(Bricks({1, 2})), IsEmpty());
}

}  // namespace
}  // namespace shoal::testing

namespace shoal::testing {
namespace {

TEST_F(ReplicationTest, WritesFailRatherThanGoBelowMinInSync) {
  CreateAndStart({1, 2, 3});
  CommandResult set = Shoal(1, {"volume", "set", "www", "min-in-sync", "3"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_THAT(Shoal(1, {"volume", "set", "www", "min-in-sync", "4"}).err, HasSubstr("min-in-sync is auto, 1, 2 or 3, not '4'"));
  const int primary = WaitForPrimary();
  ASSERT_NE(primary, 0);
  const int backup = primary == 3 ? 2 : 3;
  Mount mount(MountPoint("m"));
  ASSERT_EQ(mount.Start(Name(primary) + ":/www").exit_code, 0);
  { std::ofstream(mount.path() + "/before") << "kept"; }
  servers_[backup - 1]->Kill(SIGKILL);
  // The first change after the loss takes the backup out and is refused; so is every later one.
  for (int i = 0; i < 2; ++i) {
    int fd = ::open((mount.path() + "/after" + std::to_string(i)).c_str(), O_CREAT | O_WRONLY, 0644);
    EXPECT_EQ(fd, -1);
    EXPECT_EQ(errno, EIO);
    if (fd >= 0) ::close(fd);
  }
  EXPECT_EQ(ReadFile(mount.path() + "/before"), "kept");  // reads go on
  // Asking for fewer lets writes go on with the two bricks left.
  ASSERT_EQ(Shoal(primary, {"volume", "set", "www", "min-in-sync", "auto"}).exit_code, 0);
  bool written = false;
  for (int attempt = 0; attempt < 50 && !written; ++attempt) {
    std::ofstream(mount.path() + "/later") << "written";
    written = ReadFile(mount.path() + "/later") == "written";
    if (!written) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(written);
}

// Replica 2 with a witness: the third server is an etcd member and nothing else, so the pool
// keeps its quorum when a brick's server dies, and either brick may take the primary role.
class WitnessTest : public ThreePoolServers {
 protected:
  void SetUp() override {
    ThreePoolServers::SetUp();
    servers_[2]->Kill(SIGKILL);
    servers_[2]->add_args({"--witness"});
    ASSERT_TRUE(servers_[2]->Start(port_)) << servers_[2]->error();
    Probe(1, 2);
    Probe(1, 3);
  }
};

TEST_F(WitnessTest, ReplicaTwoFailsOverEitherWay) {
  CommandResult refused = Shoal(1, {"volume", "create", "www", Name(3) + ":" + Brick(3), "force"});
  EXPECT_THAT(refused.err, HasSubstr("is a witness"));
  CommandResult created = Shoal(1, {"volume", "create", "www", "replica", "2", "witness", Name(3),
                                    Name(1) + ":" + Brick(1), Name(2) + ":" + Brick(2), "force"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_THAT(created.err, ::testing::Not(HasSubstr("without a witness")));
  ASSERT_EQ(Shoal(1, {"volume", "start", "www"}).exit_code, 0);
  int primary = 0;
  for (int attempt = 0; attempt < 100 && primary == 0; ++attempt) {
    nlohmann::json status = nlohmann::json::parse(Shoal(3, {"volume", "status", "www", "--json"}).out, nullptr, false);
    for (const auto& brick : status["bricks"])
      for (int i = 1; i <= 2; ++i)
        if (brick["server"] == Name(i) && brick["state"] == "primary") primary = i;
    if (primary == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_NE(primary, 0);
  const int other = 3 - primary;
  std::string mountpoint = dir_.path() + "/m";
  ::mkdir(mountpoint.c_str(), 0755);
  Mount mount(mountpoint);
  ASSERT_EQ(mount.Start(Name(other) + ":/www", "backup-servers=" + Name(3)).exit_code, 0);
  Writer writer(mount.path());
  ASSERT_TRUE(writer.WaitFor(20)) << ::testing::PrintToString(writer.errors());
  servers_[primary - 1]->Kill(SIGKILL);
  ASSERT_TRUE(writer.WaitFor(30)) << ::testing::PrintToString(writer.errors());
  writer.Stop();
  EXPECT_THAT(writer.errors(), IsEmpty());
  ExpectAcknowledgedWrites(mount.path(), writer.acknowledged());
  nlohmann::json status = nlohmann::json::parse(Shoal(3, {"volume", "status", "www", "--json"}).out, nullptr, false);
  EXPECT_EQ(status["replica_set"]["primary"], Name(other)) << status.dump();
  EXPECT_EQ(status["replica_set"]["in_sync"].size(), 1u) << status.dump();
}

}  // namespace
}  // namespace shoal::testing

namespace shoal::testing {
namespace {

TEST_F(ReplicationTest, BackupFrozenLeavesTheInSyncSetAndWritesGoOn) {
  CreateAndStart({1, 2, 3});
  const int primary = WaitForPrimary();
  ASSERT_NE(primary, 0);
  const int backup = primary == 3 ? 2 : 3;
  Mount mount(MountPoint("m"));
  ASSERT_EQ(mount.Start(Name(primary) + ":/www").exit_code, 0);
  Writer writer(mount.path());
  ASSERT_TRUE(writer.WaitFor(20)) << ::testing::PrintToString(writer.errors());
  servers_[backup - 1]->Kill(SIGSTOP);
  ASSERT_TRUE(writer.WaitFor(30)) << ::testing::PrintToString(writer.errors());
  servers_[backup - 1]->Kill(SIGCONT);
  ASSERT_TRUE(writer.WaitFor(10)) << ::testing::PrintToString(writer.errors());
  writer.Stop();
  EXPECT_THAT(writer.errors(), IsEmpty());
  // Awake again, it learns that it left the in-sync set, and is healed back into it.
  EXPECT_TRUE(WaitForInSync(backup)) << Status().dump();
  EXPECT_THAT(test::CompareBricks(Bricks({1, 2, 3}), kHealed), IsEmpty());
  ExpectAcknowledgedWrites(mount.path(), writer.acknowledged());
}

// The index (1..3) of the server whose etcd member leads the pool's etcd cluster, or 0.
int EtcdLeader(const std::vector<std::string>& hosts, uint16_t etcd_port) {
  for (size_t i = 0; i < hosts.size(); ++i) {
    coord::EtcdClient etcd({.endpoints = {HostPort{.host = hosts[i], .port = etcd_port}}, .request_timeout_ms = 1000});
    auto status = etcd.MemberStatus();
    if (status.ok() && status->leader != 0 && status->leader == status->member_id) return static_cast<int>(i) + 1;
  }
  return 0;
}

// The server that holds the etcd leader (a backup's: a new primary moves the leadership off its
// own server) is killed while a client writes. The primary cannot renew its lease until the other
// members elect a leader; it acknowledges nothing meanwhile, and the client sees a stall, never
// an error. The server is healed back when it returns.
TEST_F(ReplicationTest, EtcdLeaderKilledWhileAClientWrites) {
  CreateAndStart({1, 2, 3});
  const int primary = WaitForPrimary();
  ASSERT_NE(primary, 0);
  const std::vector<std::string> hosts = {"127.0.0.1", "127.0.0.2", "127.0.0.3"};
  int leader = 0;
  for (int attempt = 0; attempt < 100; ++attempt) {
    leader = EtcdLeader(hosts, static_cast<uint16_t>(port_ + 1));
    if (leader != 0 && leader != primary) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_NE(leader, 0);
  ASSERT_NE(leader, primary) << "the primary's server still leads etcd";
  Mount mount(MountPoint("m"));
  ASSERT_EQ(mount.Start(Name(primary) + ":/www", "backup-servers=" + Name(6 - primary - leader)).exit_code, 0);
  Writer writer(mount.path());
  ASSERT_TRUE(writer.WaitFor(20)) << ::testing::PrintToString(writer.errors());
  servers_[leader - 1]->Kill(SIGKILL);
  ASSERT_TRUE(writer.WaitFor(30)) << ::testing::PrintToString(writer.errors());
  ASSERT_TRUE(servers_[leader - 1]->Start(port_)) << servers_[leader - 1]->error();
  EXPECT_TRUE(WaitForInSync(leader)) << Status().dump();
  ASSERT_TRUE(writer.WaitFor(10)) << ::testing::PrintToString(writer.errors());
  writer.Stop();
  EXPECT_THAT(writer.errors(), IsEmpty());
  ExpectAcknowledgedWrites(mount.path(), writer.acknowledged());
  EXPECT_THAT(test::CompareBricks(Bricks({1, 2, 3}), kHealed), IsEmpty());
}

// Two faults one after the other, chosen by a seed (printed; SHOAL_TEST_SEED=N replays it): each
// kills, freezes or stops the primary or a backup while a client writes, and the server comes back
// afterwards and is healed back into the in-sync set. With min-in-sync 1 the volume survives
// both; the client sees no error, one brick is primary, and all three bricks end identical.
TEST_F(ReplicationTest, RandomFaultsWhileAClientWrites) {
  const char* given = std::getenv("SHOAL_TEST_SEED");
  const unsigned seed = given ? static_cast<unsigned>(std::stoul(given)) : std::random_device{}();
  std::cout << "seed " << seed << " (replay: SHOAL_TEST_SEED=" << seed << ")\n";
  std::mt19937 random(seed);
  CreateAndStart({1, 2, 3});
  CommandResult set = Shoal(1, {"volume", "set", "www", "min-in-sync", "1"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  ASSERT_NE(WaitForPrimary(), 0);
  Mount mount(MountPoint("m"));
  ASSERT_EQ(mount.Start(Name(1) + ":/www", "backup-servers=" + Name(2) + ":" + Name(3)).exit_code, 0);
  Writer writer(mount.path());
  ASSERT_TRUE(writer.WaitFor(10)) << ::testing::PrintToString(writer.errors());

  for (int round = 0; round < 2; ++round) {
    const int primary = WaitForPrimary();
    ASSERT_NE(primary, 0) << "seed " << seed;
    std::vector<int> backups;
    for (const auto& [server, state] : States())
      if (state == "in-sync") backups.push_back(server);
    const bool at_primary = backups.empty() || random() % 2 == 0;
    const int target = at_primary ? primary : backups[random() % backups.size()];
    const int fault = static_cast<int>(random() % 3);  // 0: kill -9, 1: freeze, 2: planned stop
    const char* names[] = {"kill -9", "SIGSTOP", "SIGTERM"};
    std::cout << "round " << round << ": " << names[fault] << " of server " << target
              << (at_primary ? " (primary)" : " (backup)") << "\n";
    servers_[target - 1]->Kill(fault == 0 ? SIGKILL : fault == 1 ? SIGSTOP : SIGTERM);
    ASSERT_TRUE(writer.WaitFor(20)) << "seed " << seed << ": " << ::testing::PrintToString(writer.errors());
    if (fault == 1) {
      servers_[target - 1]->Kill(SIGCONT);
    } else {
      ASSERT_TRUE(servers_[target - 1]->Start(port_)) << servers_[target - 1]->error();
    }
    EXPECT_TRUE(WaitForInSync(target)) << "seed " << seed << ": " << Status().dump();
    ASSERT_TRUE(writer.WaitFor(10)) << "seed " << seed << ": " << ::testing::PrintToString(writer.errors());
  }
  writer.Stop();
  EXPECT_THAT(writer.errors(), IsEmpty()) << "seed " << seed;
  ExpectAcknowledgedWrites(mount.path(), writer.acknowledged());
  std::map<int, std::string> states = States();
  EXPECT_EQ(std::count_if(states.begin(), states.end(), [](auto& s) { return s.second == "primary"; }), 1)
      << "seed " << seed << ": " << Status().dump();
  EXPECT_TRUE(WaitForInSync(1) && WaitForInSync(2) && WaitForInSync(3)) << "seed " << seed << ": " << Status().dump();
  EXPECT_THAT(test::CompareBricks(Bricks({1, 2, 3}), kHealed), IsEmpty()) << "seed " << seed;
}

}  // namespace
}  // namespace shoal::testing
