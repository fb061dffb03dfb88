// Network cuts on a replica 3 volume: each of the three servers in a network namespace of its own
// (network_lab.h), clients in another, and a cut takes a server off the network while it goes on
// running: the failure a kill or a freeze does not show, where the cut-off server still believes
// what it believed. Every test ends with the convergence checker over the three bricks.
#include <sched.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>

#include "common/host_port.h"
#include "common/unique_fd.h"
#include "coord/etcd_client.h"
#include "tests/integration/convergence.h"
#include "tests/integration/replication_fixture.h"

namespace shoal::testing {
namespace {

using ::testing::IsEmpty;

class PartitionTest : public ReplicationTest {
 protected:
  PartitionTest() { isolated_ = true; }

  void SetUp() override {
    ReplicationTest::SetUp();
    if (HasFatalFailure()) return;
    CreateAndStart({1, 2, 3});
    primary_ = WaitForPrimary();
    ASSERT_NE(primary_, 0);
  }
  // The servers other than `server`.
  std::vector<int> Others(int server) const {
    std::vector<int> others;
    for (int i = 1; i <= 3; ++i)
      if (i != server) others.push_back(i);
    return others;
  }
  // A mount of www through `via`, the others as its backup servers, run in lab node `node` (0: the
  // clients' node; a server's number: beside that server, cut off with it).
  std::unique_ptr<Mount> MountIn(int node, const std::string& name, int via) {
    auto mount = std::make_unique<Mount>(MountPoint(name));
    mount->set_prefix(lab_->Enter(node));
    std::string backups;
    for (int other : Others(via)) backups += (backups.empty() ? "" : ":") + Name(other);
    CommandResult started = mount->Start(Name(via) + ":/www", "backup-servers=" + backups);
    EXPECT_EQ(started.exit_code, 0) << started.err;
    return mount;
  }
  void ExpectConverged() { EXPECT_THAT(test::CompareBricks(Bricks({1, 2, 3}), kHealed), IsEmpty()); }

  int primary_ = 0;
};

// The primary is cut off while a client writes: its lease runs out, a backup takes the role, the
// client goes on through it with a stall and no error. Back on the network, the old primary finds
// it lost the role and is healed back into the in-sync set.
TEST_F(PartitionTest, PrimaryCutOffWhileAClientWrites) {
  auto mount = MountIn(0, "m", primary_);
  ASSERT_TRUE(mount->mounted());
  Writer writer(mount->path());
  ASSERT_TRUE(writer.WaitFor(20)) << ::testing::PrintToString(writer.errors());
  ASSERT_TRUE(lab_->Cut(primary_)) << lab_->error();
  ASSERT_TRUE(writer.WaitFor(30)) << ::testing::PrintToString(writer.errors());
  const int next = WaitForPrimary(Others(primary_), primary_);
  ASSERT_NE(next, 0) << Status(Others(primary_)).dump();
  ASSERT_TRUE(lab_->Restore(primary_)) << lab_->error();
  EXPECT_TRUE(WaitForInSync(primary_)) << Status().dump();
  ASSERT_TRUE(writer.WaitFor(10)) << ::testing::PrintToString(writer.errors());
  writer.Stop();
  EXPECT_THAT(writer.errors(), IsEmpty());
  ExpectAcknowledgedWrites(mount->path(), writer.acknowledged());
  EXPECT_EQ(States()[next], "primary");
  ExpectConverged();
}

// A backup is cut off while a client writes: the primary drops it from the in-sync set at the
// change it misses, the client sees no error, and the backup is healed when it is back.
TEST_F(PartitionTest, BackupCutOffWhileAClientWrites) {
  const int backup = Others(primary_).front();
  auto mount = MountIn(0, "m", primary_);
  ASSERT_TRUE(mount->mounted());
  Writer writer(mount->path());
  ASSERT_TRUE(writer.WaitFor(20)) << ::testing::PrintToString(writer.errors());
  ASSERT_TRUE(lab_->Cut(backup)) << lab_->error();
  ASSERT_TRUE(writer.WaitFor(30)) << ::testing::PrintToString(writer.errors());
  nlohmann::json status = Status({primary_});
  EXPECT_EQ(status["replica_set"]["in_sync"].size(), 2u) << status.dump();
  EXPECT_NE(States({primary_})[backup], "in-sync");
  ASSERT_TRUE(lab_->Restore(backup)) << lab_->error();
  EXPECT_TRUE(WaitForInSync(backup)) << Status().dump();
  ASSERT_TRUE(writer.WaitFor(10)) << ::testing::PrintToString(writer.errors());
  writer.Stop();
  EXPECT_THAT(writer.errors(), IsEmpty());
  ExpectAcknowledgedWrites(mount->path(), writer.acknowledged());
  EXPECT_EQ(States()[primary_], "primary");
  ExpectConverged();
}

// Writes `content` as the whole of the file at `path`, synced: false if any step failed.
bool WriteWhole(const std::string& path, const std::string& content) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644));
  return fd.valid() && ::write(fd.get(), content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
         ::fsync(fd.get()) == 0 && ::close(fd.Release()) == 0;
}

// A backup cut off from the other servers but not from the clients. The primary takes it out of
// the in-sync set and goes on; the backup cannot learn that (its etcd member is cut off too), so
// it still believes it is in sync and keeps its clients' read connections, while it holds every
// file as it was before the cut. Its read lease runs out before the primary acknowledges anything
// it missed, so it answers no read: every read returns what was acknowledged. Without read leases
// the files whose reads hash to that backup would read as they were before the cut.
TEST_F(PartitionTest, ABackupCutOffFromTheOtherServersServesNoStaleRead) {
  const int backup = Others(primary_).front();
  const int third = Others(primary_).back();
  auto mount = MountIn(0, "m", primary_);
  ASSERT_TRUE(mount->mounted());
  constexpr int kFiles = 30;
  auto path = [&](int i) { return mount->path() + "/f" + std::to_string(i); };
  auto version = [](int v, int i) { return "version " + std::to_string(v) + " of f" + std::to_string(i); };
  for (int i = 0; i < kFiles; ++i) ASSERT_TRUE(WriteWhole(path(i), version(1, i))) << "f" << i;
  // Until the backup serves its share (the mount's read connections are made in the background).
  for (int round = 0; round < 50 && Reads()[backup] == 0; ++round)
    for (int i = 0; i < kFiles; ++i) ASSERT_EQ(ReadPastPageCache(path(i)), version(1, i)) << "f" << i;
  ASSERT_GT(Reads()[backup], 0u) << Status().dump();

  ASSERT_TRUE(lab_->CutBetween(backup, primary_)) << lab_->error();
  ASSERT_TRUE(lab_->CutBetween(backup, third)) << lab_->error();
  for (int i = 0; i < kFiles; ++i) ASSERT_TRUE(WriteWhole(path(i), version(2, i))) << "f" << i << ": " << std::strerror(errno);
  int stale = 0;  // files the backup would answer with what they were
  for (int i = 0; i < kFiles; ++i) stale += ReadFile(Brick(backup) + "/f" + std::to_string(i)) == version(1, i);
  EXPECT_EQ(stale, kFiles);
  for (int i = 0; i < kFiles; ++i) EXPECT_EQ(ReadPastPageCache(path(i)), version(2, i)) << "f" << i;

  ASSERT_TRUE(lab_->RestoreBetween(backup, primary_)) << lab_->error();
  ASSERT_TRUE(lab_->RestoreBetween(backup, third)) << lab_->error();
  EXPECT_TRUE(WaitForInSync(backup)) << Status().dump();
  for (int i = 0; i < kFiles; ++i) EXPECT_EQ(ReadPastPageCache(path(i)), version(2, i)) << "f" << i;
  ExpectConverged();
}

// Runs `work` on a thread of its own in lab node `node` (a network namespace is per thread).
template <typename Work>
void InNode(const NetworkLab& lab, int node, Work work) {
  std::thread thread([&] {
    const std::string path = lab.Enter(node)[1].substr(std::string("--net=").size());
    UniqueFd ns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(ns.valid() && ::setns(ns.get(), CLONE_NEWNET) == 0) << path;
    work();
  });
  thread.join();
}

// The server whose etcd member leads (not the primary's) is cut off while a client writes: the
// primary cannot renew its lease until the other two members elect a leader, acknowledges nothing
// meanwhile, and the client sees a stall, never an error.
TEST_F(PartitionTest, EtcdLeaderCutOffWhileAClientWrites) {
  int leader = 0;
  for (int attempt = 0; attempt < 100 && (leader == 0 || leader == primary_); ++attempt) {
    InNode(*lab_, 0, [&] {
      for (int server = 1; server <= 3; ++server) {
        coord::EtcdClient etcd({.endpoints = {HostPort{.host = lab_->address(server),
                                                       .port = static_cast<uint16_t>(port_ + 1)}},
                                .request_timeout_ms = 1000});
        auto status = etcd.MemberStatus();
        if (status.ok() && status->leader != 0 && status->leader == status->member_id) leader = server;
      }
    });
    if (leader == 0 || leader == primary_) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_NE(leader, 0);
  ASSERT_NE(leader, primary_) << "the primary's server still leads etcd";
  auto mount = MountIn(0, "m", primary_);
  ASSERT_TRUE(mount->mounted());
  Writer writer(mount->path());
  ASSERT_TRUE(writer.WaitFor(20)) << ::testing::PrintToString(writer.errors());
  ASSERT_TRUE(lab_->Cut(leader)) << lab_->error();
  ASSERT_TRUE(writer.WaitFor(30)) << ::testing::PrintToString(writer.errors());
  ASSERT_TRUE(lab_->Restore(leader)) << lab_->error();
  EXPECT_TRUE(WaitForInSync(leader)) << Status().dump();
  ASSERT_TRUE(writer.WaitFor(10)) << ::testing::PrintToString(writer.errors());
  writer.Stop();
  EXPECT_THAT(writer.errors(), IsEmpty());
  ExpectAcknowledgedWrites(mount->path(), writer.acknowledged());
  ExpectConverged();
}

// The partition of DESIGN.md §5: the primary is cut off together with a client of its own (in its
// network namespace) while another client writes through the rest. The old primary applies what
// its client sends until its lease runs out, but cannot reach the backups or etcd, so it
// acknowledges none of it: that tail, on its brick only, is undone by the heal when it is back
// (re-copied, never merged). Every write either client was told about is in the end result.
//
// Client a's writer keeps a file open when the cut comes, and the test forks processes meanwhile
// (ip, shoal) that inherit its descriptor: their exit flushes the shared open file. This once
// lost a write: the write caught by the cut failed (its connection dropped after it had waited
// past the give-up time), a child's flush took its error, and the writer's fsync then returned 0.
TEST_F(PartitionTest, OldPrimaryCutOffWithItsClientLosesOnlyWhatItNeverAcknowledged) {
  auto outside = MountIn(0, "outside", primary_);
  auto inside = MountIn(primary_, "inside", primary_);
  ASSERT_TRUE(outside->mounted() && inside->mounted());
  ASSERT_EQ(::mkdir((outside->path() + "/a").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((outside->path() + "/b").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((outside->path() + "/p").c_str(), 0755), 0);
  // The probe, apart from the writer's directory: open before the cut, so that after it its write
  // is one request, sent at once.
  const std::string probe = "p/tail-probe";
  const std::string probe_text = "written through the old primary after the cut";
  UniqueFd probe_fd(::open((inside->path() + "/" + probe).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
  ASSERT_TRUE(probe_fd.valid());
  Writer a(inside->path() + "/a");
  Writer b(outside->path() + "/b");
  ASSERT_TRUE(a.WaitFor(20)) << ::testing::PrintToString(a.errors());
  ASSERT_TRUE(b.WaitFor(20)) << ::testing::PrintToString(b.errors());

  ASSERT_TRUE(lab_->Cut(primary_)) << lab_->error();
  // Written while the old primary's lease still holds (it has at least two thirds of its second
  // left), it applies the write here and waits for the backups, which never answer.
  std::atomic<bool> probe_written{false};
  std::jthread prober([&] {  // joined on the way out, even by a failed assertion
    probe_written = ::write(probe_fd.get(), probe_text.data(), probe_text.size()) == ssize_t(probe_text.size()) &&
                    ::close(probe_fd.Release()) == 0;
  });
  ASSERT_TRUE(b.WaitFor(30)) << ::testing::PrintToString(b.errors());
  const int next = WaitForPrimary(Others(primary_), primary_);
  ASSERT_NE(next, 0) << Status(Others(primary_)).dump();
  // Nothing client a sent after the cut reached the new history. The old primary's brick most
  // likely holds it, a tail the new history does not have (unless its lease ran out first).
  struct stat st;
  EXPECT_EQ(::stat((Brick(next) + "/" + probe).c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 0) << "the probe reached the new primary while its client was cut off";
  const bool tail = ::stat((Brick(primary_) + "/" + probe).c_str(), &st) == 0 && st.st_size > 0;
  std::cout << "old primary " << (tail ? "applied" : "did not apply") << " the probe before its lease ran out\n";

  ASSERT_TRUE(lab_->Restore(primary_)) << lab_->error();
  EXPECT_TRUE(WaitForInSync(primary_)) << Status().dump();
  ASSERT_TRUE(b.WaitFor(10)) << ::testing::PrintToString(b.errors());
  prober.join();
  a.Stop();
  b.Stop();
  EXPECT_THAT(b.errors(), IsEmpty());
  std::cout << "client a (cut off): " << a.acknowledged() << " writes acknowledged, errors "
            << ::testing::PrintToString(a.errors()) << "\n";
  ExpectAcknowledgedWrites(outside->path() + "/a", a.acknowledged());
  // Sent again by its client to the new primary once the network was back, or failed; never half.
  if (probe_written) {
    EXPECT_EQ(ReadFile(outside->path() + "/" + probe), probe_text);
  }
  ExpectAcknowledgedWrites(outside->path() + "/b", b.acknowledged());
  EXPECT_EQ(States()[next], "primary");
  ExpectConverged();
}

}  // namespace
}  // namespace shoal::testing
