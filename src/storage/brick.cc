// Brick: opening, resolving node ids, and lookup/getattr/setattr. The rest of the namespace is in
// brick_namespace.cc, xattrs and statfs in brick_xattr.cc.
#include "storage/brick.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/clock.h"

namespace shoal::storage {
namespace {

// Marks a brick as in use; holds the boot id so that a restart can tell a crashed process (the
// index is intact in the page cache) from a crashed machine (the unsynced index must go).
constexpr const char* kRunningFile = "running";
// Present from a start after the machine restarted without a clean stop until the next heal:
// what the brick applied before may be lost (brick.h, unsynced_loss).
constexpr const char* kUnsyncedLossFile = "unsynced-loss";

std::string BootId() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

struct EncodedHandle {
  struct file_handle header;
  unsigned char bytes[MAX_HANDLE_SZ];
};

Result<std::string> HandleOf(int fd) {
  EncodedHandle handle{};
  handle.header.handle_bytes = MAX_HANDLE_SZ;
  int mount_id = 0;
  if (::name_to_handle_at(fd, "", &handle.header, &mount_id, AT_EMPTY_PATH) != 0)
    return ErrnoStatus(errno, "name_to_handle_at");
  std::string out(sizeof(int) + handle.header.handle_bytes, '\0');
  std::memcpy(out.data(), &handle.header.handle_type, sizeof(int));
  std::memcpy(out.data() + sizeof(int), handle.header.f_handle, handle.header.handle_bytes);
  return out;
}

Result<UniqueFd> OpenHandle(int mount_fd, const std::string& encoded) {
  if (encoded.size() < sizeof(int) || encoded.size() > sizeof(int) + MAX_HANDLE_SZ)
    return Status(Code::kStale, "index holds a malformed file handle");
  EncodedHandle handle{};
  std::memcpy(&handle.header.handle_type, encoded.data(), sizeof(int));
  handle.header.handle_bytes = encoded.size() - sizeof(int);
  std::memcpy(handle.header.f_handle, encoded.data() + sizeof(int), handle.header.handle_bytes);
  int fd = ::open_by_handle_at(mount_fd, &handle.header, O_PATH | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno == ESTALE ? ESTALE : errno, "open_by_handle_at");
  return UniqueFd(fd);
}

Status Stat(int fd, struct stat* st) {
  if (::fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) return ErrnoStatus(errno, "fstat");
  return Status::Ok();
}

// What clients see of node `node`, open as `fd`, from its stat alone (no xattr_free hint).
Result<proto::Attr> StatAttr(int fd, NodeId node) {
  struct stat st;
  SHOAL_RETURN_IF_ERROR(Stat(fd, &st));
  proto::Attr attr = AttrFromStat(node, st);
  HideStateDirectory(node, attr);
  return attr;
}

}  // namespace

proto::Attr AttrFromStat(NodeId node, const struct stat& st) {
  proto::Attr attr;
  attr.set_ino(node);
  attr.set_mode(st.st_mode);
  attr.set_nlink(st.st_nlink);
  attr.set_uid(st.st_uid);
  attr.set_gid(st.st_gid);
  attr.set_rdev(st.st_rdev);
  attr.set_size(st.st_size);
  attr.set_blocks(st.st_blocks);
  attr.set_blksize(st.st_blksize);
  attr.set_atime_ns(NanosFromTimespec(st.st_atim));
  attr.set_mtime_ns(NanosFromTimespec(st.st_mtim));
  attr.set_ctime_ns(NanosFromTimespec(st.st_ctim));
  return attr;
}

std::string FdPath(int fd) { return fmt::format("/proc/self/fd/{}", fd); }

void HideStateDirectory(NodeId node, proto::Attr& attr) {
  // .shoal/ is a subdirectory of the root, and so one of the root's links; clients never see it.
  if (node == kRootNode && attr.nlink() > 2) attr.set_nlink(attr.nlink() - 1);
}

Status CheckName(NodeId parent, std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos)
    return Status(Code::kInvalidArgument, "not a single path component");
  if (name.size() > NAME_MAX) return Status(Code::kNameTooLong, "name longer than NAME_MAX");
  if (parent == kRootNode && name == kStateDirName)
    return Status(Code::kNotFound, "reserved for the brick's state");
  return Status::Ok();
}

size_t NodeCacheEntriesForLimit() {
  constexpr size_t kEntriesMax = 1 << 16;
  struct rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return kEntriesMax;
  return std::clamp<size_t>(limit.rlim_cur / 4, 16, kEntriesMax);
}

Brick::Brick(BrickOptions options, UniqueFd root_fd, std::unique_ptr<NodeIndex> index,
             std::unique_ptr<IdAllocator> ids)
    : options_(std::move(options)),
      root_fd_(std::move(root_fd)),
      index_(std::move(index)),
      ids_(std::move(ids)),
      cache_(options_.node_cache_entries_max > 0 ? options_.node_cache_entries_max : NodeCacheEntriesForLimit()) {}

Result<std::unique_ptr<Brick>> Brick::Open(const BrickOptions& options) {
  struct stat st;
  if (::stat(options.path.c_str(), &st) != 0)
    return ErrnoStatus(errno, fmt::format("brick directory {}", options.path));
  if (!S_ISDIR(st.st_mode))
    return Status(Code::kNotDirectory, fmt::format("brick {} is not a directory", options.path));
  UniqueFd root(::open(options.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return ErrnoStatus(errno, fmt::format("opening brick directory {}", options.path));

  std::string state = options.path + "/" + std::string(kStateDirName);
  if (::mkdir(state.c_str(), 0700) != 0 && errno != EEXIST)
    return ErrnoStatus(errno, fmt::format("creating {}", state));
  std::string index_dir = state + "/index";
  if (::mkdir(index_dir.c_str(), 0700) != 0 && errno != EEXIST)
    return ErrnoStatus(errno, fmt::format("creating {}", index_dir));

  std::string running = state + "/" + kRunningFile;
  std::string boot_id = BootId();
  std::ifstream previous(running);
  std::string previous_boot;
  if (previous && std::getline(previous, previous_boot) && previous_boot != boot_id) {
    spdlog::warn("brick.index_discarded path={} reason=\"machine restarted without a clean stop\"",
                 options.path);
    ::unlink((index_dir + "/data.mdb").c_str());
    ::unlink((index_dir + "/lock.mdb").c_str());
    std::ofstream(state + "/" + kUnsyncedLossFile) << boot_id << "\n";
  }
  {
    std::ofstream out(running, std::ios::trunc);
    out << boot_id << "\n";
    if (!out) return Status(Code::kIoError, fmt::format("cannot write {}", running));
  }

  SHOAL_ASSIGN_OR_RETURN(auto index, NodeIndex::Open(index_dir));
  SHOAL_ASSIGN_OR_RETURN(auto ids, IdAllocator::Open(state + "/next-id"));
  std::unique_ptr<Brick> brick(new Brick(options, std::move(root), std::move(index), std::move(ids)));

  auto root_id = brick->ReadId(FdPath(brick->root_fd_.get()));
  if (!root_id.ok() && root_id.status().code() == Code::kNoData) {
    SHOAL_RETURN_IF_ERROR(brick->WriteId(FdPath(brick->root_fd_.get()), kRootNode));
  } else if (!root_id.ok()) {
    return root_id.status();
  } else if (*root_id != kRootNode) {
    return Status(Code::kInvalidArgument,
                  fmt::format("{} is not the root of a brick (it is node {} of one)", options.path, *root_id));
  }
  spdlog::info("brick.opened path={}", options.path);
  return brick;
}

Brick::~Brick() {
  Status synced = index_->Sync();
  if (synced.ok()) {
    std::string running = options_.path + "/" + std::string(kStateDirName) + "/" + kRunningFile;
    ::unlink(running.c_str());
  } else {
    spdlog::error("brick.sync_failed path={} error=\"{}\"", options_.path, synced.ToString());
  }
}

Status Brick::Sync() { return index_->Sync(); }

bool Brick::unsynced_loss() const {
  struct stat st;
  return ::stat((options_.path + "/" + std::string(kStateDirName) + "/" + kUnsyncedLossFile).c_str(), &st) == 0;
}

Status Brick::ClearUnsyncedLoss() {
  const std::string marker = options_.path + "/" + std::string(kStateDirName) + "/" + kUnsyncedLossFile;
  if (::unlink(marker.c_str()) != 0 && errno != ENOENT) return ErrnoStatus(errno, "removing " + marker);
  return Status::Ok();
}

Result<NodeId> Brick::ReadId(const std::string& path, bool follow) {
  uint64_t id = 0;
  ssize_t n = follow ? ::getxattr(path.c_str(), kIdXattr, &id, sizeof id)
                     : ::lgetxattr(path.c_str(), kIdXattr, &id, sizeof id);
  if (n < 0) return ErrnoStatus(errno, "reading node id");
  if (n != sizeof id || id == 0) return Status(Code::kNoData, "node id xattr is malformed");
  return id;
}

Status Brick::WriteId(const std::string& path, NodeId node) {
  if (::setxattr(path.c_str(), kIdXattr, &node, sizeof node, 0) != 0)
    return ErrnoStatus(errno, "writing node id");
  return Status::Ok();
}

Result<std::shared_ptr<NodeFd>> Brick::Resolve(NodeId node) {
  if (auto cached = cache_.Find(node)) return cached;
  if (node == kRootNode) {
    auto fd = std::make_shared<NodeFd>();
    fd->fd.Reset(::open(options_.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd->fd.valid()) return ErrnoStatus(errno, "opening brick root");
    cache_.Insert(node, fd);
    return fd;
  }
  {
    std::lock_guard lock(pinned_mutex_);
    auto it = pinned_.find(node);
    if (it != pinned_.end()) {
      if (auto pinned = it->second.lock()) return pinned;
    }
  }
  SHOAL_ASSIGN_OR_RETURN(auto handle, index_->Get(node));
  if (!handle) return Status(Code::kStale, fmt::format("node {} is not on this brick", node));
  auto opened = OpenHandle(root_fd_.get(), *handle);
  if (!opened.ok()) {
    if (opened.status().code() == Code::kStale) (void)index_->Delete(node);
    return Status(Code::kStale, fmt::format("node {}: {}", node, opened.status().message()));
  }
  auto fd = std::make_shared<NodeFd>();
  fd->fd = std::move(opened.value());
  struct stat st;
  SHOAL_RETURN_IF_ERROR(Stat(fd->fd.get(), &st));
  fd->brick_ino = st.st_ino;
  cache_.Insert(node, fd);
  return fd;
}

Result<std::shared_ptr<NodeFd>> Brick::Pin(NodeId node) {
  SHOAL_ASSIGN_OR_RETURN(auto fd, Resolve(node));
  std::lock_guard lock(pinned_mutex_);
  if (pinned_.size() >= pinned_sweep_at_) {
    std::erase_if(pinned_, [](const auto& entry) { return entry.second.expired(); });
    pinned_sweep_at_ = std::max<size_t>(1024, 2 * pinned_.size());
  }
  pinned_[node] = fd;
  return fd;
}

Status Brick::Remember(NodeId node, int fd, const struct stat& st) { return Reindex(node, fd).status(); }

Result<bool> Brick::Reindex(NodeId node, int fd) {
  SHOAL_ASSIGN_OR_RETURN(std::string handle, HandleOf(fd));
  SHOAL_ASSIGN_OR_RETURN(auto known, index_->Get(node));
  if (known && *known == handle) return false;
  SHOAL_RETURN_IF_ERROR(index_->Put(node, handle));
  return true;
}

Result<std::pair<NodeId, std::shared_ptr<NodeFd>>> Brick::OpenEntry(NodeId parent, int parent_fd,
                                                                    std::string_view name) {
  std::string name_z(name);
  auto entry = std::make_shared<NodeFd>();
  entry->fd.Reset(::openat(parent_fd, name_z.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!entry->fd.valid()) return ErrnoStatus(errno, "lookup");
  struct stat st;
  SHOAL_RETURN_IF_ERROR(Stat(entry->fd.get(), &st));
  entry->brick_ino = st.st_ino;

  auto id = ReadId(FdPath(entry->fd.get()));
  bool fresh = false;
  // No id: an object put on the brick behind shoal's back. The root's id under a name: a copy of
  // the brick root made inside the brick (cp -a). Either way it gets an id of its own now.
  if (!id.ok() || *id == kRootNode) {
    if (!id.ok() && id.status().code() != Code::kNoData) return id.status();
    SHOAL_ASSIGN_OR_RETURN(id, ReplaceId(entry->fd.get(), id.ok() ? *id : 0));
    fresh = true;
  }
  auto cached = cache_.Find(*id);
  if (cached && cached->brick_ino == st.st_ino) return std::pair{*id, cached};
  if (!fresh) {
    // Another object may carry the same id: a copy made on the brick with its xattrs (cp -a).
    // The one the index knows keeps the id; this one gets a new one.
    SHOAL_ASSIGN_OR_RETURN(auto known, index_->Get(*id));
    SHOAL_ASSIGN_OR_RETURN(std::string handle, HandleOf(entry->fd.get()));
    if (known && *known != handle && OpenHandle(root_fd_.get(), *known).ok()) {
      NodeId duplicate = *id;
      SHOAL_ASSIGN_OR_RETURN(id, ReplaceId(entry->fd.get(), duplicate));
      spdlog::warn("brick.duplicate_id path={} name={} id={} new_id={}", options_.path, name, duplicate, *id);
    }
  }
  SHOAL_RETURN_IF_ERROR(Remember(*id, entry->fd.get(), st));
  cache_.Insert(*id, entry);
  return std::pair{*id, entry};
}

Result<NodeId> Brick::ReplaceId(int fd, NodeId wrong) {
  // Two lookups of the same object may get here at once: the first one decides, under the lock,
  // and the second finds the object already carrying a different id and takes that.
  std::lock_guard lock(adopt_mutex_);
  auto current = ReadId(FdPath(fd));
  if (current.ok() && *current != wrong && *current != kRootNode) return *current;
  if (!current.ok() && current.status().code() != Code::kNoData) return current.status();
  SHOAL_ASSIGN_OR_RETURN(NodeId id, ids_->Next());
  SHOAL_RETURN_IF_ERROR(WriteId(FdPath(fd), id));
  return id;
}

Result<proto::Attr> Brick::AdoptNew(NodeId parent, int parent_fd, std::string_view name,
                                    const proto::Caller& caller, NodeId assign, int open_fd) {
  std::string name_z(name);
  auto entry = std::make_shared<NodeFd>();
  entry->fd.Reset(::openat(parent_fd, name_z.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!entry->fd.valid()) return ErrnoStatus(errno, "opening new entry");
  struct stat parent_st, created_st;
  SHOAL_RETURN_IF_ERROR(Stat(parent_fd, &parent_st));
  SHOAL_RETURN_IF_ERROR(Stat(entry->fd.get(), &created_st));
  // Under a set-group-ID directory the new object already has the directory's group.
  gid_t gid = (parent_st.st_mode & S_ISGID) ? static_cast<gid_t>(-1) : caller.gid();
  if (::fchownat(entry->fd.get(), "", caller.uid(), gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
    return ErrnoStatus(errno, "setting owner of new entry");
  // chown clears the set-user-ID and set-group-ID bits of a file; the caller asked for them.
  if (S_ISREG(created_st.st_mode) && (created_st.st_mode & (S_ISUID | S_ISGID)) &&
      ::chmod(FdPath(entry->fd.get()).c_str(), created_st.st_mode & 07777) != 0)
    return ErrnoStatus(errno, "restoring set-id bits of new entry");
  NodeId id = assign;
  if (id != 0) {
    SHOAL_RETURN_IF_ERROR(ids_->Observe(id));
  } else {
    SHOAL_ASSIGN_OR_RETURN(id, ids_->Next());
  }
  if (open_fd >= 0) {
    if (::fsetxattr(open_fd, kIdXattr, &id, sizeof id, 0) != 0) return ErrnoStatus(errno, "writing node id");
  } else {
    SHOAL_RETURN_IF_ERROR(WriteId(FdPath(entry->fd.get()), id));
  }
  struct stat st;
  SHOAL_RETURN_IF_ERROR(Stat(entry->fd.get(), &st));
  entry->brick_ino = st.st_ino;
  SHOAL_RETURN_IF_ERROR(Remember(id, entry->fd.get(), st));
  cache_.Insert(id, entry);
  proto::Attr attr = AttrFromStat(id, st);
  // A default ACL (or a security module) may have given it one.
  if (open_fd >= 0) {
    NoteXattrFreeOpen(open_fd, attr);
  } else {
    NoteXattrFree(entry->fd.get(), {}, attr);
  }
  return attr;
}

void Brick::ForgetIfGone(NodeId node, const std::shared_ptr<NodeFd>& target) {
  struct stat st;
  if (!Stat(target->fd.get(), &st).ok() || st.st_nlink == 0) {  // rmdir leaves a directory at 0 too
    cache_.Erase(node);
    Status deleted = index_->Delete(node);
    if (!deleted.ok()) spdlog::warn("brick.index_delete_failed node={} error=\"{}\"", node, deleted.ToString());
  }
}

Result<proto::Attr> Brick::Lookup(NodeId parent, std::string_view name) {
  SHOAL_RETURN_IF_ERROR(CheckName(parent, name));
  SHOAL_ASSIGN_OR_RETURN(auto parent_fd, Resolve(parent));
  SHOAL_ASSIGN_OR_RETURN(auto entry, OpenEntry(parent, parent_fd->fd.get(), name));
  struct stat st;
  SHOAL_RETURN_IF_ERROR(Stat(entry.second->fd.get(), &st));
  proto::Attr attr = AttrFromStat(entry.first, st);
  NoteXattrFree(entry.second->fd.get(), {}, attr);
  return attr;
}

Result<proto::Attr> Brick::GetAttr(NodeId node) {
  SHOAL_ASSIGN_OR_RETURN(auto fd, Resolve(node));
  SHOAL_ASSIGN_OR_RETURN(proto::Attr attr, StatAttr(fd->fd.get(), node));
  NoteXattrFree(fd->fd.get(), {}, attr);
  return attr;
}

Result<proto::Attr> Brick::StatNode(NodeId node) {
  SHOAL_ASSIGN_OR_RETURN(auto fd, Resolve(node));
  return StatAttr(fd->fd.get(), node);
}

Result<proto::Attr> Brick::SetAttr(const proto::SetAttrRequest& request, int handle_fd) {
  SHOAL_ASSIGN_OR_RETURN(auto fd, Resolve(request.node()));
  const uint32_t fields = request.fields();
  if (fields & proto::SET_ATTR_MODE) {
    if (::chmod(FdPath(fd->fd.get()).c_str(), request.mode() & 07777) != 0) return ErrnoStatus(errno, "chmod");
  }
  if (fields & (proto::SET_ATTR_UID | proto::SET_ATTR_GID)) {
    uid_t uid = (fields & proto::SET_ATTR_UID) ? request.uid() : static_cast<uid_t>(-1);
    gid_t gid = (fields & proto::SET_ATTR_GID) ? request.gid() : static_cast<gid_t>(-1);
    if (::fchownat(fd->fd.get(), "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
      return ErrnoStatus(errno, "chown");
  }
  if (fields & proto::SET_ATTR_SIZE) {
    int rc = handle_fd >= 0 ? ::ftruncate(handle_fd, request.size())
                            : ::truncate(FdPath(fd->fd.get()).c_str(), request.size());
    if (rc != 0) return ErrnoStatus(errno, "truncate");
  }
  if (fields & (proto::SET_ATTR_ATIME | proto::SET_ATTR_MTIME | proto::SET_ATTR_ATIME_NOW |
                proto::SET_ATTR_MTIME_NOW)) {
    auto time_of = [&](uint32_t set, uint32_t now, int64_t ns) {
      if (fields & now) return timespec{0, UTIME_NOW};
      if (fields & set) return TimespecFromNanos(ns);
      return timespec{0, UTIME_OMIT};
    };
    timespec times[2] = {
        time_of(proto::SET_ATTR_ATIME, proto::SET_ATTR_ATIME_NOW, request.atime_ns()),
        time_of(proto::SET_ATTR_MTIME, proto::SET_ATTR_MTIME_NOW, request.mtime_ns()),
    };
    int rc = handle_fd >= 0 ? ::futimens(handle_fd, times) : ::utimensat(fd->fd.get(), "", times, AT_EMPTY_PATH);
    if (rc != 0) return ErrnoStatus(errno, "utimensat");
  }
  struct stat st;
  SHOAL_RETURN_IF_ERROR(Stat(handle_fd >= 0 ? handle_fd : fd->fd.get(), &st));
  proto::Attr attr = AttrFromStat(request.node(), st);
  HideStateDirectory(request.node(), attr);
  return attr;
}

Status Brick::SetTimes(NodeId node, int64_t atime_ns, int64_t mtime_ns, NodeId parent, std::string_view name) {
  const timespec times[2] = {TimespecFromNanos(atime_ns), TimespecFromNanos(mtime_ns)};
  if (!name.empty()) {
    SHOAL_RETURN_IF_ERROR(CheckName(parent, name));
    SHOAL_ASSIGN_OR_RETURN(auto dir, Resolve(parent));
    if (::utimensat(dir->fd.get(), std::string(name).c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
      return ErrnoStatus(errno, "utimensat");
    return Status::Ok();
  }
  SHOAL_ASSIGN_OR_RETURN(auto fd, Resolve(node));
  if (::utimensat(fd->fd.get(), "", times, AT_EMPTY_PATH) != 0) return ErrnoStatus(errno, "utimensat");
  return Status::Ok();
}

}  // namespace shoal::storage
