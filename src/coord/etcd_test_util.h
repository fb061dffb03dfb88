// Test support for src/coord: temporary directories, free loopback ports, and real etcd members
// started on them. Every member is stopped (by pid) and every directory removed when its owner
// goes out of scope, also when a test fails; a crashed test leaves no etcd behind either, because
// members die with the thread that started them (see etcd_member.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "coord/etcd_client.h"
#include "coord/etcd_member.h"

namespace shoal::coord::testing {

// A fresh directory under /tmp, removed recursively when destroyed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// `count` different TCP ports on `address` that nothing listens on: bound together with port 0,
// then released. Another process could take one in between; on a test machine that is rare.
std::vector<uint16_t> FreePorts(const std::string& address, int count);

// Options for a member called `name` on `address`, with free client and peer ports, in
// `parent_dir`/`name`.
MemberOptions TestMemberOptions(const std::string& name, const std::string& address, const std::string& parent_dir);

// Options for a client of these members, with a short timeout so that failures show quickly.
EtcdOptions ClientOptions(const std::vector<const EtcdMember*>& members);

}  // namespace shoal::coord::testing
