// The admin's session with volumes on a pool of three real shoald (pool_fixture.h): create,
// start, info, status, mount through a server that holds no brick, options, stop, delete; every
// bad input refused with its reason and nothing changed; a server killed, a pool without quorum.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "tests/integration/pool_fixture.h"

namespace shoal::testing {
namespace {

using ::testing::HasSubstr;

class VolumeTest : public ThreePoolServers {
 protected:
  // A pool of the three servers and an empty brick directory for server i.
  void FormPool() {
    Probe(1, 2);
    Probe(1, 3);
  }
  std::string Brick(int i, const std::string& name = "www") {
    std::string path = dir_.path() + "/brick" + std::to_string(i) + "-" + name;
    ::mkdir(path.c_str(), 0755);
    return path;
  }
  // Creates and starts volume `name` with its brick on server `on`, through server `via`.
  void CreateAndStart(int via, int on, const std::string& name = "www") {
    CommandResult created = Shoal(via, {"volume", "create", name, Name(on) + ":" + Brick(on, name), "force"});
    ASSERT_EQ(created.exit_code, 0) << created.err;
    CommandResult started = Shoal(via, {"volume", "start", name});
    ASSERT_EQ(started.exit_code, 0) << started.err;
    EXPECT_EQ(started.out, "volume start: " + name + ": success\n");
  }
  std::string Spec(int via, const std::string& name = "www") { return Name(via) + ":/" + name; }
  std::vector<std::string> VolumeNames(int via) {
    std::vector<std::string> names;
    nlohmann::json list = ShoalJson(via, {"volume", "list"});
    for (const auto& v : list["volumes"]) names.push_back(v["name"]);
    return names;
  }
  // What a refused command said; the test fails if it was not refused.
  std::string Refusal(int via, std::vector<std::string> args) {
    CommandResult result = Shoal(via, std::move(args));
    EXPECT_NE(result.exit_code, 0) << result.out;
    return result.err;
  }
  std::string MountPoint(const std::string& name) {
    std::string path = dir_.path() + "/" + name;
    ::mkdir(path.c_str(), 0755);
    return path;
  }
};

TEST_F(VolumeTest, TheAdminsWorkflowEndToEnd) {
  FormPool();
  const std::string brick = Brick(2);
  CommandResult created = Shoal(1, {"volume", "create", "www", Name(2) + ":" + brick, "force"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_THAT(created.out, HasSubstr("volume create: www: success"));
  EXPECT_THAT(created.err, HasSubstr("root filesystem"));  // the test's brick is there, accepted with force

  // Every server answers with the same definition.
  nlohmann::json info = ShoalJson(1, {"volume", "info", "www"});
  ASSERT_EQ(info["volumes"].size(), 1u) << info.dump();
  EXPECT_EQ(info["volumes"][0]["state"], "created");
  EXPECT_EQ(info["volumes"][0]["replica"], 1);
  EXPECT_EQ(info["volumes"][0]["bricks"][0]["server"], Name(2));
  EXPECT_EQ(info["volumes"][0]["bricks"][0]["path"], brick);
  for (int via = 2; via <= 3; ++via) EXPECT_EQ(ShoalJson(via, {"volume", "info", "www"}), info);
  CommandResult text = Shoal(3, {"volume", "info", "www"});
  EXPECT_THAT(text.out, HasSubstr("Volume Name: www\n"));
  EXPECT_THAT(text.out, HasSubstr("Brick1: " + Name(2) + ":" + brick + "\n"));
  EXPECT_EQ(VolumeNames(2), std::vector<std::string>{"www"});

  CommandResult started = Shoal(3, {"volume", "start", "www"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  nlohmann::json status = ShoalJson(1, {"volume", "status", "www"});
  EXPECT_EQ(status["state"], "started");
  ASSERT_EQ(status["bricks"].size(), 1u) << status.dump();
  EXPECT_EQ(status["bricks"][0]["server"], Name(2));
  EXPECT_EQ(status["bricks"][0]["path"], brick);
  EXPECT_EQ(status["bricks"][0]["state"], "online");
  EXPECT_EQ(status["bricks"][0]["pid"], servers_[1]->pid());
  nlohmann::json every = ShoalJson(3, {"volume", "status"});  // no name: every volume
  ASSERT_EQ(every["volumes"].size(), 1u) << every.dump();
  EXPECT_EQ(every["volumes"][0]["bricks"][0]["state"], "online");

  // Mounted through server 1, which holds no brick: the files land on server 2's brick, and a
  // client mounted through server 3 sees them.
  Mount first(MountPoint("m1")), second(MountPoint("m3"));
  CommandResult mounted = first.Start(Spec(1));
  ASSERT_EQ(mounted.exit_code, 0) << mounted.err;
  ASSERT_EQ(second.Start(Spec(3)).exit_code, 0);
  { std::ofstream(first.path() + "/hello.txt") << "hello"; }
  EXPECT_EQ(ReadFile(brick + "/hello.txt"), "hello");
  EXPECT_EQ(ReadFile(second.path() + "/hello.txt"), "hello");
  EXPECT_EQ(ShoalJson(2, {"volume", "status", "www"})["bricks"][0]["clients"], 2);

  // read-only: changes fail with EROFS at once, reads go on; reset puts the default back.
  ASSERT_EQ(Shoal(2, {"volume", "set", "www", "read-only", "on"}).exit_code, 0);
  EXPECT_EQ(ShoalJson(1, {"volume", "get", "www", "read-only"})["options"]["read-only"], "on");
  EXPECT_EQ(ShoalJson(3, {"volume", "info", "www"})["volumes"][0]["options"]["read-only"], "on");
  EXPECT_EQ(::open((first.path() + "/new.txt").c_str(), O_CREAT | O_WRONLY, 0644), -1);
  EXPECT_EQ(errno, EROFS);
  EXPECT_EQ(ReadFile(first.path() + "/hello.txt"), "hello");
  ASSERT_EQ(Shoal(1, {"volume", "reset", "www", "read-only"}).exit_code, 0);
  int fd = ::open((first.path() + "/new.txt").c_str(), O_CREAT | O_WRONLY, 0644);
  EXPECT_GE(fd, 0) << std::strerror(errno);
  if (fd >= 0) ::close(fd);
  EXPECT_EQ(ShoalJson(1, {"volume", "get", "www", "all"})["options"]["read-only"], "off");

  // Stop: the clients lose the volume (EIO, the mounts stay), the brick is offline.
  CommandResult stopped = Shoal(1, {"volume", "stop", "www", "--yes"});
  ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_EQ(ShoalJson(2, {"volume", "status", "www"})["bricks"][0]["state"], "offline");
  EXPECT_EQ(::open((first.path() + "/other.txt").c_str(), O_CREAT | O_WRONLY, 0644), -1);
  EXPECT_EQ(errno, EIO);
  EXPECT_TRUE(first.mounted());

  ASSERT_EQ(Shoal(2, {"volume", "delete", "www", "--yes"}).exit_code, 0);
  EXPECT_TRUE(VolumeNames(3).empty());
  EXPECT_EQ(ReadFile(brick + "/hello.txt"), "hello");  // the data stays in the brick
  // With no volume left on it, server 2 can leave the pool.
  CommandResult detached = Shoal(1, {"peer", "detach", Name(2), "--yes"});
  EXPECT_EQ(detached.exit_code, 0) << detached.err;
}

TEST_F(VolumeTest, ServerRestartedServesItsBricksByItself) {
  FormPool();
  CreateAndStart(1, 2);
  Mount mount(MountPoint("m"));
  ASSERT_EQ(mount.Start(Spec(1)).exit_code, 0);
  { std::ofstream(mount.path() + "/before") << "1"; }
  servers_[1]->Kill(SIGKILL);
  nlohmann::json status = ShoalJson(1, {"volume", "status", "www"});
  EXPECT_EQ(status["bricks"][0]["state"], "down") << status.dump();
  CommandResult peers = Shoal(3, {"peer", "status"});
  EXPECT_THAT(peers.out, HasSubstr(Name(2) + "  " + Name(2) + "  down"));

  ASSERT_TRUE(servers_[1]->Start(port_)) << servers_[1]->error();
  EXPECT_EQ(ShoalJson(3, {"volume", "status", "www"})["bricks"][0]["state"], "online");
  EXPECT_EQ(ReadFile(mount.path() + "/before"), "1");  // the client reconnected
}

TEST_F(VolumeTest, MountUsesBackupServersWhenTheFirstIsDown) {
  FormPool();
  CreateAndStart(1, 2);
  servers_[0]->Kill(SIGKILL);
  Mount mount(MountPoint("m"));
  CommandResult mounted = mount.Start(Spec(1), "backup-servers=" + Name(3));
  ASSERT_EQ(mounted.exit_code, 0) << mounted.err;
  { std::ofstream(mount.path() + "/f") << "through a backup"; }
  EXPECT_EQ(ReadFile(Brick(2) + "/f"), "through a backup");
}

TEST_F(VolumeTest, WithoutQuorumReadsSaySoAndChangesAreRefused) {
  FormPool();
  CreateAndStart(1, 1);
  Mount mount(MountPoint("m"));
  ASSERT_EQ(mount.Start(Spec(1)).exit_code, 0);
  servers_[1]->Kill(SIGKILL);
  servers_[2]->Kill(SIGKILL);  // one etcd member of three is left

  CommandResult info = Shoal(1, {"volume", "info", "www"});
  EXPECT_EQ(info.exit_code, 0) << info.err;
  EXPECT_THAT(info.out, HasSubstr("Volume Name: www"));
  EXPECT_THAT(info.err, HasSubstr("no quorum"));
  EXPECT_EQ(ShoalJson(1, {"volume", "list"})["stale"], true);
  EXPECT_EQ(ShoalJson(1, {"pool", "list"})["stale"], true);
  EXPECT_THAT(Refusal(1, {"volume", "set", "www", "read-only", "on"}), HasSubstr("quorum"));
  EXPECT_THAT(Refusal(1, {"volume", "stop", "www", "--yes"}), HasSubstr("quorum"));
  EXPECT_THAT(Refusal(1, {"volume", "create", "more", Name(1) + ":" + Brick(1, "more"), "force"}), HasSubstr("quorum"));
  // The brick's server goes on serving its clients.
  { std::ofstream(mount.path() + "/still") << "served"; }
  EXPECT_EQ(ReadFile(mount.path() + "/still"), "served");
}

TEST_F(VolumeTest, AuthAllowKeepsOtherClientsOut) {
  FormPool();
  CreateAndStart(2, 3);
  ASSERT_EQ(Shoal(1, {"volume", "set", "www", "auth.allow", "127.0.0.9"}).exit_code, 0);
  Mount mount(MountPoint("m"));
  CommandResult refused = mount.Start(Spec(1));
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr("does not admit clients from 127.0.0.1"));
  EXPECT_FALSE(mount.mounted());
  ASSERT_EQ(Shoal(1, {"volume", "set", "www", "auth.allow", "127.0.0.0/8"}).exit_code, 0);
  EXPECT_EQ(mount.Start(Spec(1)).exit_code, 0);
}

// ---- refusals: a clear error, nothing changed ----

TEST_F(VolumeTest, CreateRefusesBadInput) {
  FormPool();
  const std::string file = dir_.path() + "/a-file";
  { std::ofstream(file) << "x"; }
  const std::string full = Brick(2, "full");
  { std::ofstream(full + "/something") << "x"; }
  const std::string b2 = Name(2) + ":" + Brick(2);

  EXPECT_THAT(Refusal(1, {"volume", "create", "www", Name(2) + ":" + dir_.path() + "/nowhere", "force"}),
              HasSubstr("does not exist"));
  EXPECT_THAT(Refusal(1, {"volume", "create", "www", Name(2) + ":" + file, "force"}), HasSubstr("not a directory"));
  EXPECT_THAT(Refusal(1, {"volume", "create", "www", Name(2) + ":" + full}), HasSubstr("is not empty (it holds something)"));
  EXPECT_THAT(Refusal(1, {"volume", "create", "www", b2}), HasSubstr("on the root filesystem"));
  EXPECT_THAT(Refusal(1, {"volume", "create", "www", "127.0.0.4:" + std::to_string(port_) + ":" + Brick(1), "force"}),
              HasSubstr("is not in the pool"));
  EXPECT_THAT(Refusal(1, {"volume", "create", "www", "replica", "2", b2, "force"}), HasSubstr("replica 2 needs 2 bricks"));
  EXPECT_THAT(Refusal(1, {"volume", "create", "www", b2, Name(3) + ":" + Brick(3), "force"}), HasSubstr("need `replica 2`"));
  EXPECT_THAT(Refusal(1, {"volume", "create", "www", "replica", "2", b2, Name(2) + ":" + Brick(2) + "-other", "force"}),
              HasSubstr("on different servers"));
  EXPECT_THAT(Refusal(1, {"volume", "create", "www", "replica", "3", "witness", Name(1), Name(1) + ":" + Brick(1), b2,
                          Name(3) + ":" + Brick(3), "force"}),
              HasSubstr("`replica 2` only"));
  EXPECT_THAT(Refusal(1, {"volume", "create", "www", "replica", "2", "witness", "127.0.0.9:1", b2,
                          Name(3) + ":" + Brick(3), "force"}),
              HasSubstr("witness 127.0.0.9:1 is not in the pool"));
  EXPECT_THAT(Refusal(1, {"volume", "create", "b@d", b2, "force"}), HasSubstr("is not a volume name"));
  EXPECT_THAT(Refusal(1, {"volume", "create", "www", "no-colon-here", "force"}), HasSubstr("is not a brick"));
  EXPECT_TRUE(VolumeNames(1).empty());

  ASSERT_EQ(Shoal(1, {"volume", "create", "www", b2, "force"}).exit_code, 0);
  EXPECT_THAT(Refusal(3, {"volume", "create", "www", Name(3) + ":" + Brick(3), "force"}), HasSubstr("exists already"));
  EXPECT_THAT(Refusal(1, {"volume", "create", "other", b2, "force"}), HasSubstr("already used by volume www"));
  EXPECT_THAT(Refusal(1, {"volume", "create", "other", b2 + "/inside", "force"}), HasSubstr("already used by volume www"));
  EXPECT_EQ(VolumeNames(2), std::vector<std::string>{"www"});
}

TEST_F(VolumeTest, StateChangesRefusedWithTheReason) {
  FormPool();
  CommandResult created = Shoal(1, {"volume", "create", "www", Name(2) + ":" + Brick(2), "force"});
  ASSERT_EQ(created.exit_code, 0) << created.err;

  Mount mount(MountPoint("m"));
  CommandResult not_started = mount.Start(Spec(1));
  EXPECT_NE(not_started.exit_code, 0);
  EXPECT_THAT(not_started.err, HasSubstr("volume www is not started"));
  EXPECT_FALSE(mount.mounted());
  CommandResult missing = mount.Start(Spec(1, "nosuch"));
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_THAT(missing.err, HasSubstr("no volume named 'nosuch'"));
  EXPECT_FALSE(mount.mounted());

  EXPECT_THAT(Refusal(1, {"volume", "stop", "www", "--yes"}), HasSubstr("is not started"));
  ASSERT_EQ(Shoal(1, {"volume", "start", "www"}).exit_code, 0);
  EXPECT_THAT(Refusal(2, {"volume", "start", "www"}), HasSubstr("already started"));
  EXPECT_THAT(Refusal(3, {"volume", "delete", "www", "--yes"}), HasSubstr("stop it first"));
  EXPECT_THAT(Refusal(1, {"volume", "stop", "www"}), HasSubstr("pass --yes"));  // off a terminal
  EXPECT_THAT(Refusal(1, {"volume", "set", "www", "turbo", "on"}), HasSubstr("is not a volume option"));
  EXPECT_THAT(Refusal(1, {"volume", "set", "www", "read-only", "maybe"}), HasSubstr("on or off"));
  EXPECT_THAT(Refusal(1, {"volume", "get", "www", "turbo"}), HasSubstr("is not a volume option"));
  EXPECT_THAT(Refusal(1, {"volume", "info", "nosuch"}), HasSubstr("no volume named 'nosuch'"));
  EXPECT_THAT(Refusal(1, {"peer", "detach", Name(2), "--yes"}), HasSubstr("holds bricks of volume www"));
  EXPECT_EQ(PoolNames(1).size(), 3u);
  EXPECT_EQ(ShoalJson(1, {"volume", "info", "www"})["volumes"][0]["state"], "started");
}

TEST_F(VolumeTest, ProbeOfAServerWithVolumesIsRefused) {
  CreateAndStart(3, 3);  // server 3, alone in its pool, has a volume
  EXPECT_THAT(Refusal(1, {"peer", "probe", Name(3)}), HasSubstr("has volumes of its own (www)"));
  EXPECT_EQ(PoolNames(1), std::set<std::string>{Name(1)});
  EXPECT_EQ(VolumeNames(3), std::vector<std::string>{"www"});
}

TEST_F(VolumeTest, SetHelpListsEveryOptionWithItsDefault) {
  CommandResult help = Shoal(1, {"volume", "set", "help"});
  ASSERT_EQ(help.exit_code, 0) << help.err;
  for (const char* key : {"auth.allow", "auth.reject", "read-only"})
    EXPECT_THAT(help.out, HasSubstr(std::string("Option: ") + key + "\nDefault Value: "));
}

}  // namespace
}  // namespace shoal::testing
