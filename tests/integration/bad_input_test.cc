// Bad input from the network and from the administrator: a clear error, nothing lost, nothing
// crashed, every other client still served.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "proto/framing.h"
#include "proto/messages.h"
#include "tests/integration/harness.h"

namespace shoal::testing {
namespace {

using ::testing::HasSubstr;

int ConnectTo(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  timeval timeout{.tv_sec = 10, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  return fd;
}

// True once the server has closed the connection (read returns 0 or ECONNRESET).
bool ServerHungUp(int fd) {
  char buffer[256];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
  }
}

std::string Frame(proto::FrameHeader header, const std::string& body) {
  std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(body.data()), body.size());
  auto laid_out = proto::EncodeHeader(header, bytes, {});
  return std::string(laid_out.begin(), laid_out.end()) + body;
}

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::mkdir((dir_.path() + "/brick").c_str(), 0755);
    ::mkdir((dir_.path() + "/mnt").c_str(), 0755);
    ASSERT_TRUE(server_.Start()) << server_.error();
    ASSERT_EQ(mount_.Start(server_.spec()).exit_code, 0);
    std::ofstream(dir_.path() + "/mnt/canary") << "alive";
  }

  // Sends `bytes` on a fresh connection and checks that the server hangs up on it, while the
  // mounted client goes on being served.
  void ExpectDroppedAndOthersServed(const std::string& bytes, bool close_write = false) {
    int fd = ConnectTo(server_.port());
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    if (close_write) ::shutdown(fd, SHUT_WR);
    EXPECT_TRUE(ServerHungUp(fd));
    ::close(fd);
    EXPECT_EQ(ReadFile(dir_.path() + "/mnt/canary"), "alive");
    std::ofstream(dir_.path() + "/mnt/after") << "written";
    EXPECT_EQ(ReadFile(dir_.path() + "/mnt/after"), "written");
  }

  TempDir dir_;
  Server server_{dir_.path() + "/data", dir_.path() + "/brick"};
  Mount mount_{dir_.path() + "/mnt"};
};

TEST_F(BadInputTest, WrongMagic) { ExpectDroppedAndOthersServed(std::string(32, 'x')); }

TEST_F(BadInputTest, WrongVersion) {
  std::string frame = Frame({.kind = proto::FrameKind::kRequest, .opcode = 2, .request_id = 1}, "");
  frame[4] = 99;
  ExpectDroppedAndOthersServed(frame);
}

TEST_F(BadInputTest, OversizedBodyLength) {
  std::string frame = Frame({.kind = proto::FrameKind::kRequest, .opcode = 2, .request_id = 1}, "");
  uint32_t huge = 0xfffffff0;
  std::memcpy(frame.data() + 16, &huge, 4);
  ExpectDroppedAndOthersServed(frame);
}

TEST_F(BadInputTest, TruncatedFrame) {
  proto::Request ping;
  ping.mutable_lookup()->set_parent(1);
  ping.mutable_lookup()->set_name("canary");
  std::string frame = Frame({.kind = proto::FrameKind::kRequest, .opcode = 3, .request_id = 1}, proto::Serialize(ping));
  ExpectDroppedAndOthersServed(frame.substr(0, frame.size() - 3), /*close_write=*/true);
}

TEST_F(BadInputTest, BadChecksum) {
  proto::Request lookup;
  lookup.mutable_lookup()->set_parent(1);
  lookup.mutable_lookup()->set_name("canary");
  std::string frame = Frame({.kind = proto::FrameKind::kRequest, .opcode = 3, .request_id = 1}, proto::Serialize(lookup));
  frame.back() ^= 0x40;
  ExpectDroppedAndOthersServed(frame);
}

TEST_F(BadInputTest, GarbageBodyWithValidHeader) {
  ExpectDroppedAndOthersServed(Frame({.kind = proto::FrameKind::kRequest, .opcode = 3, .request_id = 1}, "\xff\xff\xff\xff garbage"));
}

TEST_F(BadInputTest, OpcodeThatDoesNotMatchTheBody) {
  proto::Request lookup;
  lookup.mutable_lookup()->set_parent(1);
  ExpectDroppedAndOthersServed(Frame({.kind = proto::FrameKind::kRequest, .opcode = 14, .request_id = 1}, proto::Serialize(lookup)));
}

TEST_F(BadInputTest, RequestBeforeHelloIsRefusedNotServed) {
  int fd = ConnectTo(server_.port());
  ASSERT_GE(fd, 0);
  proto::Request lookup;
  lookup.mutable_lookup()->set_parent(1);
  lookup.mutable_lookup()->set_name("canary");
  std::string frame = Frame({.kind = proto::FrameKind::kRequest, .opcode = 3, .request_id = 7}, proto::Serialize(lookup));
  ASSERT_EQ(::write(fd, frame.data(), frame.size()), static_cast<ssize_t>(frame.size()));
  proto::HeaderBytes raw;
  ASSERT_EQ(::recv(fd, raw.data(), raw.size(), MSG_WAITALL), 32);
  auto header = proto::DecodeHeader(raw);
  ASSERT_TRUE(header.ok());
  std::string body(header->body_bytes, '\0');
  ASSERT_EQ(::recv(fd, body.data(), body.size(), MSG_WAITALL), static_cast<ssize_t>(body.size()));
  auto response = proto::DecodeResponse({reinterpret_cast<const uint8_t*>(body.data()), body.size()});
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(proto::StatusOf(*response).code(), Code::kProtocolError);
  EXPECT_FALSE(response->has_lookup());
  ::close(fd);
}

TEST_F(BadInputTest, NamesThatWouldEscapeTheBrickAreRefused) {
  int fd = ConnectTo(server_.port());
  ASSERT_GE(fd, 0);
  auto ask = [&](const proto::Request& request, uint64_t id) {
    std::string frame = Frame({.kind = proto::FrameKind::kRequest, .opcode = proto::OpcodeOf(request), .request_id = id},
                              proto::Serialize(request));
    EXPECT_EQ(::write(fd, frame.data(), frame.size()), static_cast<ssize_t>(frame.size()));
    proto::HeaderBytes raw;
    EXPECT_EQ(::recv(fd, raw.data(), raw.size(), MSG_WAITALL), 32);
    auto header = proto::DecodeHeader(raw);
    std::string body(header->body_bytes, '\0');
    ::recv(fd, body.data(), body.size(), MSG_WAITALL);
    return *proto::DecodeResponse({reinterpret_cast<const uint8_t*>(body.data()), body.size()});
  };
  proto::Request hello;
  hello.mutable_hello()->set_protocol_version(1);
  hello.mutable_hello()->set_volume("vol");
  ASSERT_EQ(proto::StatusOf(ask(hello, 1)).code(), Code::kOk);
  for (const char* name : {"..", "../../etc/passwd", "/etc/passwd", ".", "", ".shoal"}) {
    proto::Request lookup;
    lookup.mutable_lookup()->set_parent(1);
    lookup.mutable_lookup()->set_name(name);
    auto response = ask(lookup, 2);
    EXPECT_NE(proto::StatusOf(response).code(), Code::kOk) << "name '" << name << "'";
  }
  proto::Request create;
  create.mutable_create()->set_parent(1);
  create.mutable_create()->set_name("../outside");
  create.mutable_create()->set_mode(0644);
  EXPECT_EQ(proto::StatusOf(ask(create, 3)).code(), Code::kInvalidArgument);
  struct stat st;
  EXPECT_NE(::stat((dir_.path() + "/outside").c_str(), &st), 0);
  ::close(fd);
}

TEST(MountFailures, UnreachableServerFailsFastNamingTheAddressAndLeavesNoMount) {
  TempDir dir;
  ::mkdir((dir.path() + "/mnt").c_str(), 0755);
  Mount mount(dir.path() + "/mnt");
  // Port 1 on loopback: nothing listens there.
  CommandResult result = mount.Start("127.0.0.1:1:/vol", "connect-timeout=1");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(result.err, HasSubstr("127.0.0.1:1"));
  EXPECT_FALSE(mount.mounted());
}

TEST(MountFailures, UnknownVolumeIsRefusedWithItsName) {
  TempDir dir;
  ::mkdir((dir.path() + "/brick").c_str(), 0755);
  ::mkdir((dir.path() + "/mnt").c_str(), 0755);
  Server server(dir.path() + "/data", dir.path() + "/brick", "real");
  ASSERT_TRUE(server.Start()) << server.error();
  Mount mount(dir.path() + "/mnt");
  CommandResult result = mount.Start("127.0.0.1:" + std::to_string(server.port()) + ":/imaginary");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(result.err, HasSubstr("imaginary"));
  EXPECT_FALSE(mount.mounted());
}

TEST(MountFailures, MissingBrickDirectoryIsNamedAndThatVolumeRefused) {
  TempDir dir;
  ::mkdir((dir.path() + "/mnt").c_str(), 0755);
  Server server(dir.path() + "/data", dir.path() + "/no-such-brick");
  ASSERT_TRUE(server.Start()) << server.error();
  Mount mount(dir.path() + "/mnt");
  CommandResult result = mount.Start(server.spec());
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(result.err, HasSubstr("no-such-brick"));
  EXPECT_FALSE(mount.mounted());
}

TEST(MountFailures, BadSpecAndUnknownOptionAreExplained) {
  TempDir dir;
  Mount mount(dir.path());
  CommandResult no_volume = mount.Start("127.0.0.1");
  EXPECT_EQ(no_volume.exit_code, 2);
  EXPECT_THAT(no_volume.err, HasSubstr("HOST[:PORT]:/VOLUME"));
  CommandResult bad_option = mount.Start("127.0.0.1:/vol", "frobnicate=3");
  EXPECT_EQ(bad_option.exit_code, 2);
  EXPECT_THAT(bad_option.err, HasSubstr("frobnicate"));
}

TEST(BrickFull, WriterGetsEnospcAndNothingElseIsDamaged) {
  TempDir dir;
  std::string brick = dir.path() + "/brick";
  ::mkdir(brick.c_str(), 0755);
  ::mkdir((dir.path() + "/mnt").c_str(), 0755);
  ASSERT_EQ(RunCommand({"/bin/mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", brick}).exit_code, 0);
  {
    Server server(dir.path() + "/data", brick);
    ASSERT_TRUE(server.Start()) << server.error();
    Mount mount(dir.path() + "/mnt");
    ASSERT_EQ(mount.Start(server.spec()).exit_code, 0);
    std::ofstream(dir.path() + "/mnt/precious") << "keep me";
    int fd = ::open((dir.path() + "/mnt/filler").c_str(), O_WRONLY | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    std::string block(64 * 1024, 'z');
    int error = 0;
    for (int i = 0; i < 200 && error == 0; ++i)
      if (::write(fd, block.data(), block.size()) < 0) error = errno;
    if (error == 0 && ::fsync(fd) != 0) error = errno;
    ::close(fd);
    EXPECT_EQ(error, ENOSPC);
    EXPECT_EQ(ReadFile(dir.path() + "/mnt/precious"), "keep me");
    ASSERT_EQ(::unlink((dir.path() + "/mnt/filler").c_str()), 0);
    std::ofstream(dir.path() + "/mnt/after") << "room again";
    EXPECT_EQ(ReadFile(dir.path() + "/mnt/after"), "room again");
  }
  RunCommand({"/bin/umount", "-l", brick});
}

}  // namespace
}  // namespace shoal::testing
