#include "coord/etcd_test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include "common/unique_fd.h"

namespace shoal::coord::testing {

TempDir::TempDir() {
  char pattern[] = "/tmp/shoal-coord-test-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::vector<uint16_t> FreePorts(const std::string& address, int count) {
  std::vector<UniqueFd> held;  // all open at once, so the kernel hands out different ports
  std::vector<uint16_t> ports;
  for (int i = 0; i < count; ++i) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    if (!fd.valid() || ::inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1 ||
        ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("cannot bind a port on " + address);
    socklen_t length = sizeof addr;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &length);
    ports.push_back(ntohs(addr.sin_port));
    held.push_back(std::move(fd));
  }
  return ports;
}

MemberOptions TestMemberOptions(const std::string& name, const std::string& address, const std::string& parent_dir) {
  std::vector<uint16_t> ports = FreePorts(address, 2);
  return MemberOptions{.name = name,
                       .directory = parent_dir + "/" + name,
                       .client = {.host = address, .port = ports[0]},
                       .peer = {.host = address, .port = ports[1]}};
}

EtcdOptions ClientOptions(const std::vector<const EtcdMember*>& members) {
  EtcdOptions options{.request_timeout_ms = 3000};
  for (const EtcdMember* member : members) options.endpoints.push_back(member->options().client);
  return options;
}

}  // namespace shoal::coord::testing
