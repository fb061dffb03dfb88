// Test support for the brick's unit tests: a Brick on a fresh temporary directory, and helpers
// that make one request each. Tests run as root on a filesystem with trusted.* xattrs (ext4 /tmp).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "storage/brick.h"

namespace shoal::storage::testing {

inline constexpr uint32_t kCallerUid = 1000;
inline constexpr uint32_t kCallerGid = 1001;

inline proto::Caller TestCaller() {
  proto::Caller caller;
  caller.set_uid(kCallerUid);
  caller.set_gid(kCallerGid);
  return caller;
}

// The node id recorded on `path` (0 if none), read without following a final symlink.
inline uint64_t IdXattrOf(const std::string& path) {
  uint64_t id = 0;
  if (::lgetxattr(path.c_str(), kIdXattr, &id, sizeof id) != sizeof id) return 0;
  return id;
}

inline proto::SetAttrRequest SetAttrOf(NodeId node, uint32_t fields) {
  proto::SetAttrRequest request;
  request.set_node(node);
  request.set_fields(fields);
  return request;
}

class BrickTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::umask(0);  // as shoald runs: a new object's mode is exactly what the caller asked for
    spdlog::set_level(spdlog::level::warn);  // no brick.opened line per test
    char dir[] = "/tmp/shoal-brick-test-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    top_ = dir;
    path_ = top_ + "/brick";
    outside_ = top_ + "/outside";  // next to the brick: what no request may reach
    ASSERT_EQ(::mkdir(path_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(outside_.c_str(), 0755), 0);
    ASSERT_NO_FATAL_FAILURE(Reopen());
  }

  void TearDown() override {
    brick_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(top_, ignored);
  }

  // Destroys the brick (a clean stop) and opens it again.
  void Reopen(size_t node_cache_entries_max = 1 << 16) {
    brick_.reset();
    auto opened = Brick::Open({.path = path_, .node_cache_entries_max = node_cache_entries_max});
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    brick_ = std::move(opened).value();
  }

  // Where entry `relative` of the volume lives on the brick.
  std::string OnBrick(const std::string& relative) const { return path_ + "/" + relative; }

  Result<proto::Attr> MakeNode(NodeId parent, const std::string& name, uint32_t mode, uint64_t rdev = 0) {
    proto::MakeNodeRequest request;
    request.set_parent(parent);
    request.set_name(name);
    request.set_mode(mode);
    request.set_rdev(rdev);
    *request.mutable_caller() = TestCaller();
    return brick_->MakeNode(request);
  }

  proto::Attr Mkdir(NodeId parent, const std::string& name, uint32_t mode = 0755) {
    auto made = MakeNode(parent, name, S_IFDIR | mode);
    EXPECT_TRUE(made.ok()) << "mkdir " << name << ": " << made.status().ToString();
    return made.ok() ? *made : proto::Attr{};
  }

  proto::Attr MakeFile(NodeId parent, const std::string& name, uint32_t mode = 0644) {
    auto created = Create(parent, name, mode, O_RDWR);
    EXPECT_TRUE(created.ok()) << "create " << name << ": " << created.status().ToString();
    return created.ok() ? created->attr : proto::Attr{};
  }

  Result<Brick::Opened> Create(NodeId parent, const std::string& name, uint32_t mode, uint32_t flags) {
    proto::CreateRequest request;
    request.set_parent(parent);
    request.set_name(name);
    request.set_mode(S_IFREG | mode);
    request.set_flags(flags);
    *request.mutable_caller() = TestCaller();
    return brick_->Create(request);
  }

  Result<proto::Attr> MakeSymlink(NodeId parent, const std::string& name, const std::string& target) {
    proto::SymlinkRequest request;
    request.set_parent(parent);
    request.set_name(name);
    request.set_target(target);
    *request.mutable_caller() = TestCaller();
    return brick_->Symlink(request);
  }

  Result<proto::Attr> Link(NodeId node, NodeId new_parent, const std::string& new_name) {
    proto::LinkRequest request;
    request.set_node(node);
    request.set_new_parent(new_parent);
    request.set_new_name(new_name);
    return brick_->Link(request);
  }

  Status Remove(NodeId parent, const std::string& name, bool directory = false) {
    proto::RemoveRequest request;
    request.set_parent(parent);
    request.set_name(name);
    request.set_directory(directory);
    return brick_->Remove(request);
  }

  Status Rename(NodeId parent, const std::string& name, NodeId new_parent, const std::string& new_name,
                uint32_t flags = 0) {
    proto::RenameRequest request;
    request.set_parent(parent);
    request.set_name(name);
    request.set_new_parent(new_parent);
    request.set_new_name(new_name);
    request.set_flags(flags);
    return brick_->Rename(request);
  }

  // Writes `content` to a new file on the brick directly, behind shoal's back.
  static void WriteFile(const std::string& path, const std::string& content) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0) << path;
    ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    ::close(fd);
  }

  std::string top_;
  std::string path_;
  std::string outside_;
  std::unique_ptr<Brick> brick_;
};

}  // namespace shoal::storage::testing
