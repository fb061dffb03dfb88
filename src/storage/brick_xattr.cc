// Brick: extended attributes and statfs. Every xattr namespace is passed through (user.*,
// security.*, system.posix_acl_*, trusted.*) except the brick's own trusted.shoal.*, which clients
// can neither see nor touch.
#include <sys/statvfs.h>
#include <sys/xattr.h>

#include <cstring>
#include <vector>

#include "storage/brick.h"

namespace shoal::storage {
namespace {

constexpr std::string_view kOwnXattrPrefix = "trusted.shoal.";

bool IsOwnXattr(std::string_view name) { return name.starts_with(kOwnXattrPrefix); }

Status CheckXattrName(std::string_view name) {
  if (name.empty() || name.size() > XATTR_NAME_MAX) return Status(Code::kRange, "bad xattr name length");
  if (name.find('\0') != std::string_view::npos) return Status(Code::kInvalidArgument, "NUL in xattr name");
  return Status::Ok();
}

// One listxattr into a buffer that holds shoal's own id xattr name and nothing more: `list` runs
// it (returns what listxattr returns); larger lists fail with ERANGE and leave the hint unset.
template <typename List>
void NoteListed(List list, proto::Attr& attr) {
  char names[64];
  const ssize_t n = list(names, sizeof names);
  if (n == 0) {
    attr.set_xattr_free(true);
  } else if (n > 0) {
    attr.set_xattr_free(std::string_view(names, static_cast<size_t>(n)) ==
                        std::string_view(kIdXattr, std::strlen(kIdXattr) + 1));
  }
}

}  // namespace

void NoteXattrFree(int fd, std::string_view name, proto::Attr& attr) {
  // The /proc/self/fd link must be followed to reach the object; a name in a directory must not.
  NoteListed([&](char* names, size_t size) {
    return name.empty() ? ::listxattr(FdPath(fd).c_str(), names, size)
                        : ::llistxattr((FdPath(fd) + "/" + std::string(name)).c_str(), names, size);
  }, attr);
}

void NoteXattrFreeOpen(int open_fd, proto::Attr& attr) {
  NoteListed([&](char* names, size_t size) { return ::flistxattr(open_fd, names, size); }, attr);
}

uint32_t CreationMode(int parent_fd, uint32_t mode, const proto::Caller& caller) {
  ssize_t n = ::getxattr(FdPath(parent_fd).c_str(), "system.posix_acl_default", nullptr, 0);
  if (n > 0) return mode;  // the file system combines it with the default ACL
  return mode & ~caller.umask();
}

Status Brick::SetXattr(const proto::SetXattrRequest& request) {
  SHOAL_RETURN_IF_ERROR(CheckXattrName(request.name()));
  if (IsOwnXattr(request.name())) return Status(Code::kNotPermitted, "trusted.shoal.* belongs to shoal");
  if (request.value().size() > XATTR_SIZE_MAX) return Status(Code::kTooBig, "xattr value too large");
  SHOAL_ASSIGN_OR_RETURN(auto fd, Resolve(request.node()));
  if (::setxattr(FdPath(fd->fd.get()).c_str(), request.name().c_str(), request.value().data(),
                 request.value().size(), static_cast<int>(request.flags())) != 0)
    return ErrnoStatus(errno, "setxattr");
  return Status::Ok();
}

Result<proto::GetXattrResponse> Brick::GetXattr(const proto::GetXattrRequest& request) {
  SHOAL_RETURN_IF_ERROR(CheckXattrName(request.name()));
  if (IsOwnXattr(request.name())) return Status(Code::kNoData, "no such attribute");
  SHOAL_ASSIGN_OR_RETURN(auto fd, Resolve(request.node()));
  const std::string path = FdPath(fd->fd.get());
  proto::GetXattrResponse response;
  const size_t size = std::min<size_t>(request.size(), XATTR_SIZE_MAX);
  std::string value(size, '\0');
  ssize_t n = ::getxattr(path.c_str(), request.name().c_str(), size ? value.data() : nullptr, size);
  if (n < 0) return ErrnoStatus(errno, "getxattr");
  value.resize(size ? n : 0);
  response.set_value(std::move(value));
  response.set_size(n);
  return response;
}

Result<proto::ListXattrResponse> Brick::ListXattr(const proto::ListXattrRequest& request) {
  SHOAL_ASSIGN_OR_RETURN(auto fd, Resolve(request.node()));
  const std::string path = FdPath(fd->fd.get());
  std::vector<char> names;
  for (;;) {
    ssize_t n = ::listxattr(path.c_str(), nullptr, 0);
    if (n < 0) return ErrnoStatus(errno, "listxattr");
    names.resize(n);
    n = ::listxattr(path.c_str(), names.data(), names.size());
    if (n >= 0) {
      names.resize(n);
      break;
    }
    if (errno != ERANGE) return ErrnoStatus(errno, "listxattr");  // grew meanwhile: ask again
  }
  std::string visible;
  for (size_t at = 0; at < names.size();) {
    std::string_view name(names.data() + at);
    if (!IsOwnXattr(name)) visible.append(name).push_back('\0');
    at += name.size() + 1;
  }
  proto::ListXattrResponse response;
  response.set_size(visible.size());
  if (request.size() != 0) {
    if (visible.size() > request.size()) return Status(Code::kRange, "xattr list larger than buffer");
    response.set_names(std::move(visible));
  }
  return response;
}

Status Brick::RemoveXattr(const proto::RemoveXattrRequest& request) {
  SHOAL_RETURN_IF_ERROR(CheckXattrName(request.name()));
  if (IsOwnXattr(request.name())) return Status(Code::kNotPermitted, "trusted.shoal.* belongs to shoal");
  SHOAL_ASSIGN_OR_RETURN(auto fd, Resolve(request.node()));
  if (::removexattr(FdPath(fd->fd.get()).c_str(), request.name().c_str()) != 0)
    return ErrnoStatus(errno, "removexattr");
  return Status::Ok();
}

Result<proto::StatFsResponse> Brick::StatFs() {
  struct statvfs st;
  if (::fstatvfs(root_fd_.get(), &st) != 0) return ErrnoStatus(errno, "statfs");
  proto::StatFsResponse response;
  response.set_blocks(st.f_blocks);
  response.set_blocks_free(st.f_bfree);
  response.set_blocks_available(st.f_bavail);
  response.set_files(st.f_files);
  response.set_files_free(st.f_ffree);
  response.set_block_size(st.f_bsize);
  response.set_fragment_size(st.f_frsize);
  response.set_name_max(st.f_namemax);
  return response;
}

}  // namespace shoal::storage
