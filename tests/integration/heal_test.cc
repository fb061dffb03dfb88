// Self-heal on a replica 3 volume of three real shoald (replication_fixture.h): a brick whose
// server was away catches up by itself once it returns, with no command, and every test ends with
// the convergence checker over all three bricks (node ids, times, modes, owners, xattrs, content).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "tests/integration/convergence.h"
#include "tests/integration/replication_fixture.h"

namespace shoal::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

class HealTest : public ReplicationTest {
 protected:
  // A replica 3 volume with its primary on server 1 (the first brick takes the role when all are
  // in sync), mounted; `away` is a backup's server, the one the tests stop.
  void SetUp() override {
    ReplicationTest::SetUp();
    CreateAndStart({1, 2, 3});
    primary_ = WaitForPrimary();
    ASSERT_NE(primary_, 0);
    away_ = primary_ == 3 ? 2 : 3;
    mount_ = std::make_unique<Mount>(MountPoint("m"));
    ASSERT_EQ(mount_->Start(Name(primary_) + ":/www").exit_code, 0);
    m_ = mount_->path();
  }
  // Kills the away server and waits until the primary has taken its brick out of the in-sync set
  // (the first change after the loss does that).
  void TakeAway() {
    servers_[away_ - 1]->Kill(SIGKILL);
    { std::ofstream(m_ + "/.away-marker") << "x"; }
    ASSERT_EQ(::unlink((m_ + "/.away-marker").c_str()), 0);
    nlohmann::json status = Status({primary_});
    ASSERT_EQ(status["replica_set"]["in_sync"].size(), 2u) << status.dump();
  }
  void Return() { ASSERT_TRUE(servers_[away_ - 1]->Start(port_)) << servers_[away_ - 1]->error(); }
  // The away brick's heal as its primary reports it (null if none).
  nlohmann::json HealOf(int server) {
    nlohmann::json status = Status();
    for (const auto& brick : status["bricks"])
      if (brick["server"] == Name(server) && brick.contains("heal")) return brick["heal"];
    return nullptr;
  }
  // Waits (bounded: 30 s) until the brick of `server` is healing.
  bool WaitForHealing(int server) {
    for (int attempt = 0; attempt < 300; ++attempt) {
      if (States()[server] == "healing") return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  void ExpectConverged() { EXPECT_THAT(test::CompareBricks(Bricks({1, 2, 3}), kHealed), IsEmpty()); }

  int primary_ = 0;
  int away_ = 0;
  std::unique_ptr<Mount> mount_;
  std::string m_;
};

// The GlusterFS tutorial's test: a server off, a file touched through the mount, the server on:
// the file is on its brick with the same node id and times, and no command was given.
TEST_F(HealTest, ReturningServerCatchesUpWithoutACommand) {
  ASSERT_EQ(::mkdir((m_ + "/wp-content").c_str(), 0755), 0);
  { std::ofstream(m_ + "/wp-content/plugin.php") << "<?php // version 1"; }
  TakeAway();
  { std::ofstream(m_ + "/test.txt") << ""; }
  ASSERT_EQ(::mkdir((m_ + "/wp-content/uploads").c_str(), 0755), 0);
  { std::ofstream(m_ + "/wp-content/uploads/photo.jpg") << std::string(300 << 10, 'j'); }
  { std::ofstream(m_ + "/wp-content/plugin.php") << "<?php // version 2, longer"; }
  EXPECT_EQ(States()[away_], "down");

  Return();
  ASSERT_TRUE(WaitForInSync(away_)) << Status().dump();
  EXPECT_EQ(ReadFile(Brick(away_) + "/wp-content/plugin.php"), "<?php // version 2, longer");
  struct stat healed, original;
  ASSERT_EQ(::lstat((Brick(away_) + "/test.txt").c_str(), &healed), 0);
  ASSERT_EQ(::lstat((Brick(primary_) + "/test.txt").c_str(), &original), 0);
  EXPECT_EQ(healed.st_mtim.tv_nsec, original.st_mtim.tv_nsec);
  ExpectConverged();
  nlohmann::json heal = HealOf(away_);
  ASSERT_TRUE(heal.is_object()) << Status().dump();
  EXPECT_EQ(heal["state"], "done");
  EXPECT_GE(heal["copied"].get<int>(), 4);  // test.txt, uploads, photo.jpg, plugin.php
  EXPECT_GE(heal["bytes"].get<int>(), 300 << 10);
}

// A short absence in a large tree costs what changed: the primary recorded the nodes the brick
// missed, and its heal compares only the directories they are in, not all 300.
TEST_F(HealTest, ShortAbsenceComparesOnlyWhereTheBrickMissedChanges) {
  for (int d = 0; d < 300; ++d) {
    const std::string dir = m_ + "/d" + std::to_string(d);
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
    std::ofstream(dir + "/f") << "file in " << d;
  }
  TakeAway();
  { std::ofstream(m_ + "/d7/new") << "created while away"; }
  { std::ofstream(m_ + "/d9/f", std::ios::app) << ", changed while away"; }
  ASSERT_EQ(::rename((m_ + "/d11/f").c_str(), (m_ + "/d12/g").c_str()), 0);
  ASSERT_EQ(::unlink((m_ + "/d13/f").c_str()), 0);
  ASSERT_EQ(::chmod((m_ + "/d14").c_str(), 0700), 0);
  Return();
  ASSERT_TRUE(WaitForInSync(away_)) << Status().dump();
  ExpectConverged();
  nlohmann::json heal = HealOf(away_);
  ASSERT_TRUE(heal.is_object()) << Status().dump();
  EXPECT_EQ(heal["compares"], "missed") << heal.dump();
  EXPECT_GE(heal["missed"].get<int>(), 6) << heal.dump();  // at least d7, new, d9/f, d11, d12, d13
  EXPECT_LE(heal["directories"].get<int>(), 20) << heal.dump();
}

// `heal full` asked while the brick's server is down holds for the heal that runs when it is back:
// that one compares the whole tree, not only where the brick missed changes.
TEST_F(HealTest, HealFullAskedWhileAwayComparesEverythingWhenBack) {
  ASSERT_EQ(::mkdir((m_ + "/a").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((m_ + "/b").c_str(), 0755), 0);
  TakeAway();
  { std::ofstream(m_ + "/a/new") << "created while away"; }
  CommandResult full = Shoal(1, {"volume", "heal", "www", "full"});
  ASSERT_EQ(full.exit_code, 0) << full.err;
  Return();
  ASSERT_TRUE(WaitForInSync(away_)) << Status().dump();
  EXPECT_EQ(HealOf(away_)["compares"], "everything") << HealOf(away_).dump();
  ExpectConverged();
}

// Away while a client creates 2,000 files, modifies 100, renames 50 and deletes 50, and changes
// everything else a heal must carry: a directory tree made and one removed, a renamed directory,
// hard links, symlinks, xattrs, modes, owners and times. Nothing deleted comes back.
TEST_F(HealTest, EveryKindOfChangeMadeWhileAwayComesBackExactly) {
  ASSERT_EQ(::mkdir((m_ + "/old").c_str(), 0755), 0);
  for (int i = 0; i < 200; ++i) std::ofstream(m_ + "/old/f" + std::to_string(i)) << "original " << i;
  ASSERT_EQ(::mkdir((m_ + "/doomed").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((m_ + "/doomed/sub").c_str(), 0755), 0);
  { std::ofstream(m_ + "/doomed/sub/x") << "x"; }
  ASSERT_EQ(::mkdir((m_ + "/moving").c_str(), 0755), 0);
  { std::ofstream(m_ + "/moving/inside") << "moved with its directory"; }
  TakeAway();

  ASSERT_EQ(::mkdir((m_ + "/new").c_str(), 0755), 0);
  for (int i = 0; i < 2000; ++i) std::ofstream(m_ + "/new/n" + std::to_string(i)) << "new file " << i;
  for (int i = 0; i < 100; ++i) std::ofstream(m_ + "/old/f" + std::to_string(i), std::ios::app) << " modified";
  for (int i = 100; i < 150; ++i)
    ASSERT_EQ(::rename((m_ + "/old/f" + std::to_string(i)).c_str(), (m_ + "/new/r" + std::to_string(i)).c_str()), 0);
  for (int i = 150; i < 200; ++i) ASSERT_EQ(::unlink((m_ + "/old/f" + std::to_string(i)).c_str()), 0);
  ASSERT_EQ(::unlink((m_ + "/doomed/sub/x").c_str()), 0);
  ASSERT_EQ(::rmdir((m_ + "/doomed/sub").c_str()), 0);
  ASSERT_EQ(::rmdir((m_ + "/doomed").c_str()), 0);
  ASSERT_EQ(::rename((m_ + "/moving").c_str(), (m_ + "/new/moved").c_str()), 0);
  ASSERT_EQ(::mkdir((m_ + "/tree").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((m_ + "/tree/a").c_str(), 0750), 0);
  ASSERT_EQ(::mkdir((m_ + "/tree/a/b").c_str(), 0755), 0);
  { std::ofstream(m_ + "/tree/a/b/deep") << "deep"; }
  ASSERT_EQ(::link((m_ + "/tree/a/b/deep").c_str(), (m_ + "/tree/hard").c_str()), 0);
  ASSERT_EQ(::link((m_ + "/old/f0").c_str(), (m_ + "/new/link-to-f0").c_str()), 0);
  ASSERT_EQ(::symlink("a/b/deep", (m_ + "/tree/sym").c_str()), 0);
  ASSERT_EQ(::setxattr((m_ + "/old/f1").c_str(), "user.tag", "blue", 4, 0), 0);
  ASSERT_EQ(::setxattr((m_ + "/tree").c_str(), "user.dir", "d", 1, 0), 0);
  ASSERT_EQ(::chmod((m_ + "/old/f2").c_str(), 0600), 0);
  ASSERT_EQ(::chown((m_ + "/old/f3").c_str(), 1234, 5678), 0);
  ASSERT_EQ(::mkfifo((m_ + "/tree/fifo").c_str(), 0640), 0);
  const timespec times[2] = {{1000000000, 5}, {1500000000, 7}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (m_ + "/old/f4").c_str(), times, 0), 0);

  Return();
  ASSERT_TRUE(WaitForInSync(away_)) << Status().dump();
  ExpectConverged();
  const std::string b = Brick(away_);
  EXPECT_EQ(ReadFile(b + "/new/n1999"), "new file 1999");
  EXPECT_EQ(ReadFile(b + "/old/f0"), "original 0 modified");
  EXPECT_EQ(ReadFile(b + "/new/r120"), "original 120");
  EXPECT_EQ(ReadFile(b + "/new/moved/inside"), "moved with its directory");
  struct stat st;
  EXPECT_NE(::lstat((b + "/old/f170").c_str(), &st), 0) << "a deleted file came back";
  EXPECT_NE(::lstat((b + "/doomed").c_str(), &st), 0) << "a deleted directory came back";
  EXPECT_NE(::lstat((b + "/moving").c_str(), &st), 0) << "a renamed directory is still under its old name";
  ASSERT_EQ(::lstat((b + "/tree/hard").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);
  nlohmann::json heal = HealOf(away_);
  ASSERT_TRUE(heal.is_object()) << Status().dump();
  EXPECT_EQ(heal["state"], "done");
  EXPECT_GE(heal["copied"].get<int>(), 2000);
  EXPECT_GE(heal["removed"].get<int>(), 50);
  // Only what changed: the 2,000 new files and the modified ones, not every file again.
  EXPECT_LT(heal["copied"].get<int>(), 2000 + 200 + 50);
}

// A large file of which 1 MiB changed sends about that 1 MiB, not the file (counted by the primary).
TEST_F(HealTest, LargeFileSendsOnlyTheBlocksThatChanged) {
  const uint64_t size = 48ull << 20;
  {
    std::ofstream big(m_ + "/big.bin", std::ios::binary);
    std::string block(1 << 20, '\0');
    for (uint64_t mib = 0; mib < size >> 20; ++mib) {
      for (size_t i = 0; i < block.size(); i += 4096) block[i] = static_cast<char>(mib + i / 4096);
      big.write(block.data(), static_cast<std::streamsize>(block.size()));
    }
  }
  TakeAway();
  {
    int fd = ::open((m_ + "/big.bin").c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    const std::string changed(1 << 20, 'c');
    ASSERT_EQ(::pwrite(fd, changed.data(), changed.size(), 20 << 20), static_cast<ssize_t>(changed.size()));
    ASSERT_EQ(::close(fd), 0);
  }
  Return();
  ASSERT_TRUE(WaitForInSync(away_)) << Status().dump();
  ExpectConverged();
  nlohmann::json heal = HealOf(away_);
  ASSERT_TRUE(heal.is_object()) << Status().dump();
  EXPECT_GE(heal["bytes"].get<uint64_t>(), 1u << 20);
  EXPECT_LE(heal["bytes"].get<uint64_t>(), 2u << 20) << "of a " << size << "-byte file";
}

// Clients write throughout the heal: the heal's passes run beside them, the last one holds their
// changes for a moment, and nothing is lost or doubled on either side.
TEST_F(HealTest, ClientsWriteThroughoutTheHeal) {
  for (int i = 0; i < 300; ++i) std::ofstream(m_ + "/before" + std::to_string(i)) << std::string(8 << 10, 'b');
  TakeAway();
  ASSERT_EQ(::mkdir((m_ + "/during").c_str(), 0755), 0);
  for (int i = 0; i < 300; ++i) std::ofstream(m_ + "/during/w" + std::to_string(i)) << std::string(8 << 10, 'w');
  // Slow enough that the heal is still copying while the writer goes on.
  ASSERT_EQ(Shoal(1, {"volume", "set", "www", "heal-bandwidth", "1"}).exit_code, 0);
  ASSERT_EQ(::mkdir((m_ + "/writer").c_str(), 0755), 0);
  Writer writer(m_ + "/writer");
  ASSERT_TRUE(writer.WaitFor(10)) << ::testing::PrintToString(writer.errors());
  Return();
  ASSERT_TRUE(WaitForHealing(away_)) << Status().dump();
  ASSERT_TRUE(writer.WaitFor(30)) << ::testing::PrintToString(writer.errors());
  ASSERT_EQ(Shoal(1, {"volume", "reset", "www", "heal-bandwidth"}).exit_code, 0);
  ASSERT_TRUE(WaitForInSync(away_)) << Status().dump();
  // Files the writer opened before the brick joined are closed after: the brick stays in sync.
  ASSERT_TRUE(writer.WaitFor(20)) << ::testing::PrintToString(writer.errors());
  writer.Stop();
  nlohmann::json status = Status({primary_});
  EXPECT_EQ(status["replica_set"]["in_sync"].size(), 3u) << status.dump();
  EXPECT_THAT(writer.errors(), IsEmpty());
  ExpectAcknowledgedWrites(m_ + "/writer", writer.acknowledged());
  ExpectConverged();
}

// The brick's server killed in the middle of its heal: back again, it is healed from where its
// tree stands (nothing merged), and `volume heal info` showed the heal going on.
TEST_F(HealTest, KilledDuringHealIsHealedWhenItReturns) {
  TakeAway();
  for (int i = 0; i < 100; ++i) std::ofstream(m_ + "/f" + std::to_string(i)) << std::string(64 << 10, 'k');
  ASSERT_EQ(Shoal(1, {"volume", "set", "www", "heal-bandwidth", "1"}).exit_code, 0);
  Return();
  ASSERT_TRUE(WaitForHealing(away_)) << Status().dump();
  CommandResult info = Shoal(1, {"volume", "heal", "www", "info"});
  EXPECT_EQ(info.exit_code, 0) << info.err;
  EXPECT_THAT(info.out, HasSubstr("heal healing"));
  nlohmann::json heal = HealOf(away_);
  ASSERT_TRUE(heal.is_object());
  EXPECT_EQ(heal["state"], "healing");
  EXPECT_EQ(heal["compares"], "missed");  // the files, the root, and TakeAway's marker
  EXPECT_GE(heal["entries_total"], 101);
  EXPECT_EQ(heal["bytes_total"], 100 * (64 << 10));
  EXPECT_TRUE(heal["bytes_left"].is_number()) << heal.dump();

  servers_[away_ - 1]->Kill(SIGKILL);
  ASSERT_EQ(Shoal(1, {"volume", "reset", "www", "heal-bandwidth"}).exit_code, 0);
  { std::ofstream(m_ + "/while-down-again") << "x"; }
  Return();
  ASSERT_TRUE(WaitForInSync(away_)) << Status().dump();
  ExpectConverged();
}

// A heal onto a brick whose disk stops (frozen: the server answers, its writes never end) makes no
// progress: the primary reports it (`heal info`, the log) and restarts it until the disk comes
// back, and then the heal completes.
TEST_F(HealTest, HealThatStopsMakingProgressIsReportedAndRestarted) {
  LoopDisk disk(dir_.path() + "/disk");
  ASSERT_TRUE(disk.ok());
  const std::string fresh = disk.path() + "/brick";
  ASSERT_EQ(::mkdir(fresh.c_str(), 0755), 0);
  for (int i = 0; i < 100; ++i) std::ofstream(m_ + "/f" + std::to_string(i)) << std::string(64 << 10, 's');
  ASSERT_EQ(Shoal(1, {"volume", "set", "www", "heal-stall-timeout", "2"}).exit_code, 0);
  ASSERT_EQ(Shoal(1, {"volume", "set", "www", "heal-bandwidth", "1"}).exit_code, 0);
  CommandResult replaced = Shoal(1, {"volume", "replace-brick", "www", Name(away_) + ":" + Brick(away_),
                                     Name(away_) + ":" + fresh, "commit", "force"});
  ASSERT_EQ(replaced.exit_code, 0) << replaced.err;
  ASSERT_TRUE(WaitForHealing(away_)) << Status().dump();
  ASSERT_TRUE(disk.Freeze());
  nlohmann::json heal;
  for (int attempt = 0; attempt < 300; ++attempt) {
    heal = HealOf(away_);
    if (heal.is_object() && heal["restarts"].get<int>() >= 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(heal.is_object()) << Status().dump();
  EXPECT_GE(heal["restarts"].get<int>(), 1) << heal.dump();
  CommandResult info = Shoal(1, {"volume", "heal", "www", "info"});
  EXPECT_THAT(info.out, HasSubstr("after making no progress")) << info.out;
  EXPECT_NE(States()[away_], "in-sync");

  disk.Thaw();
  ASSERT_EQ(Shoal(1, {"volume", "reset", "www", "heal-bandwidth"}).exit_code, 0);
  ASSERT_TRUE(WaitForInSync(away_)) << Status().dump();
  const int other = 6 - primary_ - away_;
  EXPECT_THAT(test::CompareBricks({Brick(primary_), Brick(other), fresh}, kHealed), IsEmpty());
}

// Two servers take turns being away (min-in-sync 1 lets one brick carry the volume).
TEST_F(HealTest, TwoServersTakingTurnsAway) {
  ASSERT_EQ(Shoal(1, {"volume", "set", "www", "min-in-sync", "1"}).exit_code, 0);
  const int first = away_, second = 6 - primary_ - away_;
  for (int turn = 0; turn < 2; ++turn) {
    away_ = turn == 0 ? first : second;
    TakeAway();
    for (int i = 0; i < 50; ++i) std::ofstream(m_ + "/turn" + std::to_string(turn) + "-" + std::to_string(i)) << i;
    ASSERT_EQ(::unlink((m_ + "/turn" + std::to_string(turn) + "-0").c_str()), 0);
    Return();
    ASSERT_TRUE(WaitForInSync(away_)) << Status().dump();
  }
  ExpectConverged();
}

// replace-brick onto an empty directory: the new brick is filled by a heal from nothing, and
// takes its place in the in-sync set.
TEST_F(HealTest, ReplaceBrickFillsTheNewBrickByAHeal) {
  ASSERT_EQ(::mkdir((m_ + "/site").c_str(), 0755), 0);
  for (int i = 0; i < 100; ++i) std::ofstream(m_ + "/site/p" + std::to_string(i)) << "page " << i;
  ASSERT_EQ(::symlink("site/p1", (m_ + "/link").c_str()), 0);
  ASSERT_EQ(::setxattr((m_ + "/site").c_str(), "user.kept", "yes", 3, 0), 0);
  const std::string fresh = dir_.path() + "/brick-new";
  ASSERT_EQ(::mkdir(fresh.c_str(), 0755), 0);
  const std::string old_brick = Name(away_) + ":" + Brick(away_);

  CommandResult missing = Shoal(1, {"volume", "replace-brick", "www", Name(away_) + ":/no/such", Name(away_) + ":" +
                                    fresh, "force"});
  EXPECT_THAT(missing.err, HasSubstr("has no brick"));
  CommandResult onto_other = Shoal(1, {"volume", "replace-brick", "www", old_brick, Name(primary_) + ":" + fresh,
                                       "force"});
  EXPECT_THAT(onto_other.err, HasSubstr("two bricks on server"));
  CommandResult primary = Shoal(1, {"volume", "replace-brick", "www", Name(primary_) + ":" + Brick(primary_),
                                    Name(primary_) + ":" + fresh, "force"});
  EXPECT_THAT(primary.err, HasSubstr("is the primary"));

  CommandResult replaced = Shoal(1, {"volume", "replace-brick", "www", old_brick, Name(away_) + ":" + fresh, "commit",
                                     "force"});
  ASSERT_EQ(replaced.exit_code, 0) << replaced.err;
  ASSERT_TRUE(WaitForInSync(away_)) << Status().dump();
  nlohmann::json status = Status();
  for (const auto& brick : status["bricks"])
    if (brick["server"] == Name(away_)) {
      EXPECT_EQ(brick["path"], fresh) << status.dump();
    }
  EXPECT_EQ(HealOf(away_)["compares"], "everything");  // a new brick: nothing of it is known
  { std::ofstream(m_ + "/after") << "written after the replace"; }
  EXPECT_EQ(ReadFile(fresh + "/after"), "written after the replace");
  const int other = 6 - primary_ - away_;
  EXPECT_THAT(test::CompareBricks({Brick(primary_), Brick(other), fresh}, kHealed), IsEmpty());
}

TEST_F(HealTest, HealCommandsAnswerForEveryBrick) {
  CommandResult none = Shoal(1, {"volume", "heal", "www"});
  EXPECT_EQ(none.exit_code, 0) << none.err;
  EXPECT_THAT(none.out, HasSubstr("in sync: nothing to heal"));
  CommandResult json = Shoal(1, {"volume", "heal", "www", "info", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  nlohmann::json info = nlohmann::json::parse(json.out);
  EXPECT_EQ(info["bricks"].size(), 3u);
  EXPECT_THAT(Shoal(1, {"volume", "heal", "nosuch"}).err, HasSubstr("nosuch"));
  EXPECT_NE(Shoal(1, {"volume", "heal", "www", "sideways"}).exit_code, 0);
  EXPECT_THAT(Shoal(1, {"volume", "set", "www", "heal-bandwidth", "fast"}).err, HasSubstr("number of MiB/s"));
}

// scrub checks every brick's index against its tree, and names what was put on a brick behind
// shoal's back.
TEST_F(HealTest, ScrubChecksEveryBrickAndNamesStrayObjects) {
  for (int i = 0; i < 20; ++i) std::ofstream(m_ + "/f" + std::to_string(i)) << i;
  { std::ofstream(Brick(away_) + "/stray") << "written on the brick directly"; }
  CommandResult scrubbed = Shoal(1, {"volume", "scrub", "www", "--json"});
  ASSERT_EQ(scrubbed.exit_code, 0) << scrubbed.err;
  nlohmann::json report = nlohmann::json::parse(scrubbed.out);
  ASSERT_EQ(report["bricks"].size(), 3u) << report.dump();
  for (const auto& brick : report["bricks"]) {
    EXPECT_EQ(brick["error"], "") << brick.dump();
    const bool stray = brick["server"] == Name(away_);
    EXPECT_EQ(brick["objects"], stray ? 21 : 20) << brick.dump();
    EXPECT_EQ(brick["without_id"], stray ? 1 : 0) << brick.dump();
    if (stray) {
      EXPECT_THAT(brick["examples"].dump(), HasSubstr("stray"));
    }
  }
  CommandResult text = Shoal(1, {"volume", "scrub", "www"});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("stray (no node id)"));
}

}  // namespace
}  // namespace shoal::testing
