// Brick: operations that create, remove, rename or open names.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "storage/brick.h"

namespace shoal::storage {
namespace {

// Like CheckName, but for a name about to be created: the state directory's name is refused
// outright rather than reported missing.
Status CheckNewName(NodeId parent, std::string_view name) {
  if (parent == kRootNode && name == kStateDirName)
    return Status(Code::kNotPermitted, "the name .shoal is reserved at the root of a volume");
  return CheckName(parent, name);
}

// Flags a client may pass to open(2) on a brick: creation is the brick's business, O_DIRECT's
// alignment rules belong to the client's buffers, not ours. O_NOFOLLOW was the client kernel's
// to apply (it never asks to open a symlink); here it would refuse the /proc/self/fd link we
// open nodes through.
uint32_t SafeOpenFlags(uint32_t flags) {
  return (flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_DIRECT | O_PATH | O_TMPFILE | O_NOFOLLOW)) | O_CLOEXEC;
}

std::string Z(std::string_view name) { return std::string(name); }

}  // namespace

Result<proto::Attr> Brick::MakeNode(const proto::MakeNodeRequest& request, NodeId assign) {
  SHOAL_RETURN_IF_ERROR(CheckNewName(request.parent(), request.name()));
  SHOAL_ASSIGN_OR_RETURN(auto parent, Resolve(request.parent()));
  const int dir = parent->fd.get();
  const std::string name = Z(request.name());
  const uint32_t mode = CreationMode(dir, request.mode(), request.caller());
  int rc = S_ISDIR(mode) ? ::mkdirat(dir, name.c_str(), mode & 07777) : ::mknodat(dir, name.c_str(), mode, request.rdev());
  if (rc != 0) return ErrnoStatus(errno, S_ISDIR(request.mode()) ? "mkdir" : "mknod");
  return AdoptNew(request.parent(), dir, name, request.caller(), assign);
}

Result<proto::Attr> Brick::Symlink(const proto::SymlinkRequest& request, NodeId assign) {
  SHOAL_RETURN_IF_ERROR(CheckNewName(request.parent(), request.name()));
  if (request.target().empty() || request.target().size() >= PATH_MAX)
    return Status(Code::kInvalidArgument, "symlink target is empty or longer than PATH_MAX");
  if (request.target().find('\0') != std::string::npos)
    return Status(Code::kInvalidArgument, "symlink target contains a NUL byte");
  SHOAL_ASSIGN_OR_RETURN(auto parent, Resolve(request.parent()));
  const std::string name = Z(request.name());
  if (::symlinkat(request.target().c_str(), parent->fd.get(), name.c_str()) != 0)
    return ErrnoStatus(errno, "symlink");
  return AdoptNew(request.parent(), parent->fd.get(), name, request.caller(), assign);
}

Result<proto::Attr> Brick::Link(const proto::LinkRequest& request) {
  SHOAL_RETURN_IF_ERROR(CheckNewName(request.new_parent(), request.new_name()));
  SHOAL_ASSIGN_OR_RETURN(auto node, Resolve(request.node()));
  SHOAL_ASSIGN_OR_RETURN(auto parent, Resolve(request.new_parent()));
  const std::string name = Z(request.new_name());
  if (::linkat(AT_FDCWD, FdPath(node->fd.get()).c_str(), parent->fd.get(), name.c_str(),
               AT_SYMLINK_FOLLOW) != 0)
    return ErrnoStatus(errno, "link");
  return GetAttr(request.node());
}

Status Brick::Remove(const proto::RemoveRequest& request) {
  SHOAL_RETURN_IF_ERROR(CheckName(request.parent(), request.name()));
  SHOAL_ASSIGN_OR_RETURN(auto parent, Resolve(request.parent()));
  SHOAL_ASSIGN_OR_RETURN(auto target, OpenEntry(request.parent(), parent->fd.get(), request.name()));
  const std::string name = Z(request.name());
  if (::unlinkat(parent->fd.get(), name.c_str(), request.directory() ? AT_REMOVEDIR : 0) != 0)
    return ErrnoStatus(errno, request.directory() ? "rmdir" : "unlink");
  ForgetIfGone(target.first, target.second);
  return Status::Ok();
}

Status Brick::Rename(const proto::RenameRequest& request) {
  SHOAL_RETURN_IF_ERROR(CheckName(request.parent(), request.name()));
  SHOAL_RETURN_IF_ERROR(CheckNewName(request.new_parent(), request.new_name()));
  if (request.flags() & ~static_cast<uint32_t>(RENAME_NOREPLACE | RENAME_EXCHANGE))
    return Status(Code::kInvalidArgument, "unsupported rename flags");
  SHOAL_ASSIGN_OR_RETURN(auto from, Resolve(request.parent()));
  SHOAL_ASSIGN_OR_RETURN(auto to, Resolve(request.new_parent()));
  // Learn what the rename may replace, so that a replaced object's last name is accounted for.
  auto replaced = OpenEntry(request.new_parent(), to->fd.get(), request.new_name());
  const std::string name = Z(request.name()), new_name = Z(request.new_name());
  if (::renameat2(from->fd.get(), name.c_str(), to->fd.get(), new_name.c_str(), request.flags()) != 0)
    return ErrnoStatus(errno, "rename");
  if (replaced.ok() && !(request.flags() & RENAME_EXCHANGE))
    ForgetIfGone(replaced->first, replaced->second);
  return Status::Ok();
}

Result<std::string> Brick::ReadLink(NodeId node) {
  SHOAL_ASSIGN_OR_RETURN(auto fd, Resolve(node));
  char target[PATH_MAX];
  ssize_t n = ::readlinkat(fd->fd.get(), "", target, sizeof target);
  // On an O_PATH descriptor of something that is not a symlink, readlinkat says ENOENT;
  // readlink(2) says EINVAL, and that is what a program expects.
  if (n < 0) return ErrnoStatus(errno == ENOENT ? EINVAL : errno, "readlink");
  return std::string(target, n);
}

Result<Brick::Opened> Brick::OpenFile(NodeId node, uint32_t flags) {
  SHOAL_ASSIGN_OR_RETURN(auto fd, Resolve(node));
  UniqueFd opened(::open(FdPath(fd->fd.get()).c_str(), SafeOpenFlags(flags)));
  if (!opened.valid()) return ErrnoStatus(errno, "open");
  struct stat st;
  if (::fstat(opened.get(), &st) != 0) return ErrnoStatus(errno, "fstat");
  return Opened{.fd = std::move(opened), .attr = AttrFromStat(node, st)};
}

Result<Brick::Opened> Brick::Create(const proto::CreateRequest& request, NodeId assign) {
  SHOAL_RETURN_IF_ERROR(CheckNewName(request.parent(), request.name()));
  SHOAL_ASSIGN_OR_RETURN(auto parent, Resolve(request.parent()));
  const std::string name = Z(request.name());
  const uint32_t flags = SafeOpenFlags(request.flags()) | O_CREAT | O_EXCL | O_NOFOLLOW;  // never through a symlink
  const uint32_t mode = CreationMode(parent->fd.get(), request.mode(), request.caller());
  UniqueFd opened(::openat(parent->fd.get(), name.c_str(), flags, mode & 07777));
  if (!opened.valid()) {
    if (errno != EEXIST || (request.flags() & O_EXCL)) return ErrnoStatus(errno, "create");
    // Another client created it between our lookup and now: open what is there, as open(2) would.
    SHOAL_ASSIGN_OR_RETURN(auto entry, OpenEntry(request.parent(), parent->fd.get(), name));
    return OpenFile(entry.first, request.flags());
  }
  SHOAL_ASSIGN_OR_RETURN(proto::Attr attr, AdoptNew(request.parent(), parent->fd.get(), name, request.caller(), assign,
                                                      opened.get()));
  return Opened{.fd = std::move(opened), .attr = std::move(attr)};
}

Result<UniqueFd> Brick::OpenDirectory(NodeId node) {
  SHOAL_ASSIGN_OR_RETURN(auto fd, Resolve(node));
  UniqueFd opened(::openat(fd->fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!opened.valid()) return ErrnoStatus(errno, "opendir");
  return opened;
}

Result<NodeId> Brick::IdOfEntry(NodeId dir, int dir_fd, std::string_view name, ino_t brick_ino) {
  if (name == ".") return dir;
  if (name == "..") {
    if (dir == kRootNode) return kRootNode;  // never look above the brick
    return ReadId(FdPath(dir_fd) + "/..");
  }
  auto id = ReadId(FdPath(dir_fd) + "/" + std::string(name), /*follow=*/false);
  if (!id.ok() && id.status().code() != Code::kNoData) return id;
  // The cheap answer is right when the id is this object's own, as the node cache says it is.
  // Otherwise (no id, the root's id, an id the cache places on another object: a copy made on
  // the brick) the full lookup settles it, as it would for Lookup.
  if (id.ok() && *id != kRootNode) {
    if (auto cached = cache_.Find(*id); cached && cached->brick_ino == brick_ino) return *id;
  }
  SHOAL_ASSIGN_OR_RETURN(auto entry, OpenEntry(dir, dir_fd, name));
  return entry.first;
}

}  // namespace shoal::storage
