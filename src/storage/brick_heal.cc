// Brick: the operations a heal uses (server/tree_sync.h). The primary lists and hashes its own
// brick with them, and the brick being healed answers the same calls, so both sides describe
// their trees the same way; the brick being healed then applies what differs. And the scrub,
// which checks the brick's index against its tree.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <map>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <xxhash.h>

#include "storage/brick.h"
#include "storage/file_io.h"

namespace shoal::storage {
namespace {

constexpr std::string_view kOwnXattrPrefix = "trusted.shoal.";
constexpr int kScrubExamplesMax = 10;

// Every xattr of the object `path` reaches but the brick's own, by name. `follow`: whether a final
// symlink is followed (only right for /proc/self/fd links, which lead to the object itself).
Result<std::map<std::string, std::string>> ReadXattrs(const std::string& path, bool follow) {
  auto list = follow ? ::listxattr : ::llistxattr;
  auto get = follow ? ::getxattr : ::lgetxattr;
  std::string names;
  for (;;) {
    ssize_t n = list(path.c_str(), nullptr, 0);
    if (n < 0) return ErrnoStatus(errno, "listxattr");
    names.resize(static_cast<size_t>(n));
    n = list(path.c_str(), names.data(), names.size());
    if (n >= 0) {
      names.resize(static_cast<size_t>(n));
      break;
    }
    if (errno != ERANGE) return ErrnoStatus(errno, "listxattr");
  }
  std::map<std::string, std::string> xattrs;
  for (size_t at = 0; at < names.size();) {
    std::string name(names.data() + at);
    at += name.size() + 1;
    if (name.starts_with(kOwnXattrPrefix)) continue;
    for (;;) {
      ssize_t n = get(path.c_str(), name.c_str(), nullptr, 0);
      if (n < 0 && errno == ENODATA) break;  // removed meanwhile
      if (n < 0) return ErrnoStatus(errno, "getxattr " + name);
      std::string value(static_cast<size_t>(n), '\0');
      n = get(path.c_str(), name.c_str(), value.data(), value.size());
      if (n >= 0) {
        value.resize(static_cast<size_t>(n));
        xattrs.emplace(name, std::move(value));
        break;
      }
      if (errno != ERANGE) return ErrnoStatus(errno, "getxattr " + name);
    }
  }
  return xattrs;
}

Status AddXattrs(const std::string& path, bool follow, proto::HealEntry& entry) {
  SHOAL_ASSIGN_OR_RETURN(auto xattrs, ReadXattrs(path, follow));
  for (auto& [name, value] : xattrs) {
    proto::Xattr* xattr = entry.add_xattrs();
    xattr->set_name(name);
    xattr->set_value(std::move(value));
  }
  return Status::Ok();
}

// Makes the xattrs of what `path` reaches (never following a final symlink) those of `entry`.
Status MatchXattrs(const std::string& path, const proto::HealEntry& entry) {
  SHOAL_ASSIGN_OR_RETURN(auto current, ReadXattrs(path, /*follow=*/false));
  std::map<std::string, std::string> wanted;
  for (const proto::Xattr& xattr : entry.xattrs()) wanted.emplace(xattr.name(), xattr.value());
  for (const auto& [name, value] : current)
    if (!wanted.contains(name) && ::lremovexattr(path.c_str(), name.c_str()) != 0 && errno != ENODATA)
      return ErrnoStatus(errno, "removexattr " + name);
  for (const auto& [name, value] : wanted) {
    if (name.starts_with(kOwnXattrPrefix)) continue;
    auto it = current.find(name);
    if (it != current.end() && it->second == value) continue;
    if (::lsetxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0) != 0)
      return ErrnoStatus(errno, "setxattr " + name);
  }
  return Status::Ok();
}

std::vector<std::string> Names(int dir_fd) {
  std::vector<std::string> names;
  int copy = ::dup(dir_fd);
  if (copy < 0) return names;
  DIR* dir = ::fdopendir(copy);
  if (dir == nullptr) {
    ::close(copy);
    return names;
  }
  ::rewinddir(dir);
  while (struct dirent* found = ::readdir(dir)) {
    std::string_view name(found->d_name);
    if (name != "." && name != "..") names.emplace_back(name);
  }
  ::closedir(dir);
  return names;
}

}  // namespace

Result<NodeId> Brick::ParentOf(NodeId node) {
  if (node == kRootNode) return Status(Code::kNotFound, "the root has no parent");
  SHOAL_ASSIGN_OR_RETURN(auto resolved, Resolve(node));
  // The kernel's name for the object and for the brick's root, without symlinks: the first is
  // below the second unless the object has no name left (" (deleted)").
  auto link = [](int fd) -> Result<std::string> {
    char buffer[PATH_MAX + 1];
    const ssize_t n = ::readlink(FdPath(fd).c_str(), buffer, PATH_MAX);
    if (n < 0) return ErrnoStatus(errno, "readlink");
    return std::string(buffer, static_cast<size_t>(n));
  };
  SHOAL_ASSIGN_OR_RETURN(std::string path, link(resolved->fd.get()));
  SHOAL_ASSIGN_OR_RETURN(std::string root, link(root_fd_.get()));
  if (!path.starts_with(root + "/") || path.ends_with(" (deleted)"))
    return Status(Code::kNotFound, fmt::format("node {} has no name on the brick", node));
  const std::string relative = path.substr(root.size() + 1);
  const size_t slash = relative.rfind('/');
  if (slash == std::string::npos) return kRootNode;
  UniqueFd parent(::openat(root_fd_.get(), relative.substr(0, slash).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!parent.valid()) return ErrnoStatus(errno, fmt::format("the directory of node {}", node));
  return ReadId(FdPath(parent.get()));
}

Result<proto::HealListResponse> Brick::HealList(NodeId dir, std::string_view after, size_t bytes_max) {
  SHOAL_ASSIGN_OR_RETURN(UniqueFd fd, OpenDirectory(dir));
  proto::HealListResponse response;
  SHOAL_ASSIGN_OR_RETURN(*response.mutable_self()->mutable_attr(), GetAttr(dir));
  if (!S_ISDIR(response.self().attr().mode())) return Status(Code::kNotDirectory, "not a directory");
  SHOAL_RETURN_IF_ERROR(AddXattrs(FdPath(fd.get()), /*follow=*/true, *response.mutable_self()));
  std::vector<std::string> names = Names(fd.get());
  std::sort(names.begin(), names.end());
  size_t bytes = response.ByteSizeLong();
  response.set_end(true);
  for (auto it = std::upper_bound(names.begin(), names.end(), after); it != names.end(); ++it) {
    const std::string& name = *it;
    if (dir == kRootNode && name == kStateDirName) continue;
    if (bytes >= bytes_max) {
      response.set_end(false);
      break;
    }
    struct stat st;
    if (::fstatat(fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // removed meanwhile
    auto id = IdOfEntry(dir, fd.get(), name, st.st_ino);
    if (!id.ok()) continue;
    proto::HealEntry* entry = response.add_entries();
    entry->set_name(name);
    *entry->mutable_attr() = AttrFromStat(*id, st);
    if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t n = ::readlinkat(fd.get(), name.c_str(), target, sizeof target);
      if (n < 0) return ErrnoStatus(errno, "readlink " + name);
      entry->set_target(target, static_cast<size_t>(n));
    }
    SHOAL_RETURN_IF_ERROR(AddXattrs(FdPath(fd.get()) + "/" + name, /*follow=*/false, *entry));
    bytes += entry->ByteSizeLong() + 8;
  }
  return response;
}

Result<proto::HealHashesResponse> Brick::HealHashes(NodeId node, uint32_t block_size, uint64_t first_block,
                                                   uint32_t blocks_max) {
  block_size = std::clamp<uint32_t>(block_size, 4096, 16u << 20);
  SHOAL_ASSIGN_OR_RETURN(Opened file, OpenFile(node, O_RDONLY | O_NOATIME));
  if (!S_ISREG(file.attr.mode())) return Status(Code::kInvalidArgument, "not a regular file");
  proto::HealHashesResponse response;
  response.set_size(file.attr.size());
  const uint64_t end = blocks_max == 0 ? file.attr.size()
                                       : std::min<uint64_t>(file.attr.size(), (first_block + blocks_max) * block_size);
  for (uint64_t offset = first_block * block_size; offset < end; offset += block_size) {
    SHOAL_ASSIGN_OR_RETURN(std::string block, ReadAt(file.fd.get(), offset, block_size));
    response.add_hashes(XXH3_64bits(block.data(), block.size()));
  }
  return response;
}

Status Brick::HealPut(NodeId parent, const proto::HealEntry& entry) {
  const proto::Attr& want = entry.attr();
  std::shared_ptr<NodeFd> dir;
  std::string path;  // reaches the object without following it
  if (parent == 0) {
    SHOAL_ASSIGN_OR_RETURN(dir, Resolve(kRootNode));
    path = FdPath(dir->fd.get()) + "/.";
  } else {
    SHOAL_RETURN_IF_ERROR(CheckName(parent, entry.name()));
    SHOAL_ASSIGN_OR_RETURN(dir, Resolve(parent));
    const std::string& name = entry.name();
    struct stat st;
    if (::fstatat(dir->fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      auto there = OpenEntry(parent, dir->fd.get(), name);
      if (!there.ok() || there->first != want.ino() || (st.st_mode & S_IFMT) != (want.mode() & S_IFMT)) {
        SHOAL_RETURN_IF_ERROR(RemoveTree(dir->fd.get(), name));
        SHOAL_RETURN_IF_ERROR(HealCreate(parent, dir->fd.get(), entry));
      }
    } else if (errno == ENOENT) {
      SHOAL_RETURN_IF_ERROR(HealCreate(parent, dir->fd.get(), entry));
    } else {
      return ErrnoStatus(errno, "stat " + name);
    }
    path = FdPath(dir->fd.get()) + "/" + name;
  }
  // Owner first: chown clears the set-id bits the mode may carry. Xattrs before the mode: a
  // POSIX ACL sets the group bits, which the mode then sets as the primary has them.
  if (::lchown(path.c_str(), want.uid(), want.gid()) != 0) return ErrnoStatus(errno, "chown");
  SHOAL_RETURN_IF_ERROR(MatchXattrs(path, entry));
  if (!S_ISLNK(want.mode()) && ::chmod(path.c_str(), want.mode() & 07777) != 0) return ErrnoStatus(errno, "chmod");
  return Status::Ok();
}

Status Brick::HealCreate(NodeId parent, int parent_fd, const proto::HealEntry& entry) {
  const proto::Attr& want = entry.attr();
  const std::string& name = entry.name();
  const uint32_t type = want.mode() & S_IFMT;
  // The node may be elsewhere on the brick already: renamed or linked while the brick was away.
  std::shared_ptr<NodeFd> elsewhere;
  if (auto found = Resolve(want.ino()); found.ok()) {
    struct stat st;
    if (::fstatat((*found)->fd.get(), "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0 && st.st_nlink > 0 &&
        (st.st_mode & S_IFMT) == type)
      elsewhere = *found;
  }
  if (elsewhere && type == S_IFREG) {
    if (::linkat(AT_FDCWD, FdPath(elsewhere->fd.get()).c_str(), parent_fd, name.c_str(), AT_SYMLINK_FOLLOW) == 0)
      return Status::Ok();
  }
  if (elsewhere && type == S_IFDIR) {
    // Moved with everything in it: what is below is compared next, not copied again.
    char from[PATH_MAX];
    ssize_t n = ::readlink(FdPath(elsewhere->fd.get()).c_str(), from, sizeof from - 1);
    const std::string root = options_.path.ends_with('/') ? options_.path : options_.path + "/";
    if (n > 0) {
      from[n] = '\0';
      std::string_view source(from, static_cast<size_t>(n));
      if (source.starts_with(root) && !source.substr(root.size()).starts_with(std::string(kStateDirName) + "/") &&
          ::renameat(AT_FDCWD, from, parent_fd, name.c_str()) == 0)
        return Status::Ok();
    }
  }
  int rc;
  switch (type) {
    case S_IFDIR: rc = ::mkdirat(parent_fd, name.c_str(), 0700); break;
    case S_IFLNK: rc = ::symlinkat(entry.target().c_str(), parent_fd, name.c_str()); break;
    case S_IFREG: {
      UniqueFd created(::openat(parent_fd, name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600));
      rc = created.valid() ? 0 : -1;
      break;
    }
    default: rc = ::mknodat(parent_fd, name.c_str(), (want.mode() & S_IFMT) | 0600, want.rdev()); break;
  }
  if (rc != 0) return ErrnoStatus(errno, "creating " + name);
  proto::Caller owner;
  owner.set_uid(want.uid());
  owner.set_gid(want.gid());
  return AdoptNew(parent, parent_fd, name, owner, want.ino()).status();
}

Status Brick::HealRemove(NodeId parent, std::string_view name) {
  SHOAL_RETURN_IF_ERROR(CheckName(parent, name));
  SHOAL_ASSIGN_OR_RETURN(auto dir, Resolve(parent));
  return RemoveTree(dir->fd.get(), std::string(name));
}

Status Brick::RemoveTree(int dir_fd, const std::string& name) {
  struct stat st;
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return errno == ENOENT ? Status::Ok() : ErrnoStatus(errno, "stat " + name);
  auto id = ReadId(FdPath(dir_fd) + "/" + name, /*follow=*/false);
  if (S_ISDIR(st.st_mode)) {
    UniqueFd below(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!below.valid()) return ErrnoStatus(errno, "opendir " + name);
    for (const std::string& child : Names(below.get())) SHOAL_RETURN_IF_ERROR(RemoveTree(below.get(), child));
  }
  if (::unlinkat(dir_fd, name.c_str(), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) != 0 && errno != ENOENT)
    return ErrnoStatus(errno, "removing " + name);
  if (id.ok() && (S_ISDIR(st.st_mode) || st.st_nlink <= 1)) {
    cache_.Erase(*id);
    if (Status deleted = index_->Delete(*id); !deleted.ok())
      spdlog::warn("brick.index_delete_failed node={} error=\"{}\"", *id, deleted.ToString());
  }
  return Status::Ok();
}

Status Brick::HealWrite(NodeId node, uint64_t offset, std::string_view data, uint64_t size) {
  SHOAL_ASSIGN_OR_RETURN(Opened file, OpenFile(node, O_WRONLY));
  if (!S_ISREG(file.attr.mode())) return Status(Code::kInvalidArgument, "not a regular file");
  auto bytes = std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  while (!bytes.empty()) {
    SHOAL_ASSIGN_OR_RETURN(uint32_t written, WriteAt(file.fd.get(), offset, bytes));
    if (written == 0) return Status(Code::kNoSpace, "short write");
    offset += written;
    bytes = bytes.subspan(written);
  }
  if (::ftruncate(file.fd.get(), static_cast<off_t>(size)) != 0) return ErrnoStatus(errno, "truncate");
  return Status::Ok();
}

Status Brick::SyncAll() {
  if (::syncfs(root_fd_.get()) != 0) return ErrnoStatus(errno, "syncfs");
  return index_->Sync();
}

Result<proto::ScrubReport> Brick::Scrub() {
  proto::ScrubReport report;
  UniqueFd root(::open(options_.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return ErrnoStatus(errno, "opening brick root");
  std::unordered_map<NodeId, ino_t> seen;  // node id -> the brick inode that carries it
  struct stat st;
  if (::fstat(root.get(), &st) != 0) return ErrnoStatus(errno, "stat brick root");
  seen.emplace(kRootNode, st.st_ino);
  ScrubBelow(root.get(), "", seen, report);
  NodeId highest = kRootNode;
  for (const auto& [node, ino] : seen) highest = std::max(highest, node);
  SHOAL_RETURN_IF_ERROR(ids_->Observe(highest));
  // Entries whose object is gone: Resolve drops them when their handle no longer opens. An
  // object removed while a client still has it open stays, as it should.
  SHOAL_ASSIGN_OR_RETURN(std::vector<NodeId> indexed, index_->Nodes());
  for (NodeId node : indexed) {
    if (seen.contains(node)) continue;
    cache_.Erase(node);
    auto resolved = Resolve(node);
    if (!resolved.ok() && resolved.status().code() == Code::kStale) report.set_index_removed(report.index_removed() + 1);
  }
  SHOAL_RETURN_IF_ERROR(index_->Sync());
  spdlog::info("brick.scrubbed path={} objects={} index_added={} index_removed={} without_id={} duplicate_ids={}",
               options_.path, report.objects(), report.index_added(), report.index_removed(), report.without_id(),
               report.duplicate_ids());
  return report;
}

void Brick::ScrubBelow(int dir_fd, const std::string& relative, std::unordered_map<NodeId, ino_t>& seen,
                       proto::ScrubReport& report) {
  auto example = [&](const std::string& path) {
    if (report.examples_size() < kScrubExamplesMax) report.add_examples(path);
  };
  for (const std::string& name : Names(dir_fd)) {
    if (relative.empty() && name == kStateDirName) continue;
    const std::string path = relative.empty() ? name : relative + "/" + name;
    UniqueFd entry(::openat(dir_fd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    struct stat st;
    if (!entry.valid() || ::fstatat(entry.get(), "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) continue;
    report.set_objects(report.objects() + 1);
    auto id = ReadId(FdPath(entry.get()));
    if (!id.ok() || *id == kRootNode) {
      report.set_without_id(report.without_id() + 1);
      example(path + " (no node id)");
    } else if (auto [it, fresh] = seen.emplace(*id, st.st_ino); !fresh && it->second != st.st_ino) {
      report.set_duplicate_ids(report.duplicate_ids() + 1);
      example(fmt::format("{} (node id {} is also another object's)", path, *id));
    } else if (fresh) {
      auto added = Reindex(*id, entry.get());
      if (added.ok() && *added) report.set_index_added(report.index_added() + 1);
    }
    if (!S_ISDIR(st.st_mode)) continue;
    UniqueFd below(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (below.valid()) ScrubBelow(below.get(), path, seen, report);
  }
}

}  // namespace shoal::storage
