// VolumeAdmin's brick-side half: what a brick's own server checks and reports about it.
#include <dirent.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "server/volume_admin.h"

namespace shoal::server {
namespace {

// Up to `max` names in directory `path` (without . and ..); how many there are, at most max + 1.
std::vector<std::string> SomeEntries(const std::string& path, size_t max) {
  std::vector<std::string> names;
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return names;
  while (dirent* entry = ::readdir(dir)) {
    if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0) continue;
    names.emplace_back(entry->d_name);
    if (names.size() > max) break;
  }
  ::closedir(dir);
  return names;
}

}  // namespace

Result<proto::BrickCheckResponse> VolumeAdmin::CheckBrick(const proto::BrickCheckRequest& request) {
  const std::string& path = request.path();
  const std::string where = fmt::format("{}:{}", pool_.name(), path);
  if (options_.witness)
    return Status(Code::kInvalidArgument,
                  fmt::format("server {} is a witness (shoald --witness): it holds no bricks; name it as a volume's "
                              "`witness` instead",
                              pool_.name()));
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT)
      return Status(Code::kNotFound,
                    fmt::format("brick directory {} does not exist: create it first (mkdir -p {} on {})", where, path,
                                pool_.name()));
    return ErrnoStatus(errno, fmt::format("brick directory {}", where));
  }
  if (!S_ISDIR(st.st_mode)) return Status(Code::kNotDirectory, fmt::format("brick {} is not a directory", where));
  if (::access(path.c_str(), R_OK | W_OK | X_OK) != 0)
    return ErrnoStatus(errno, fmt::format("brick directory {} is not usable by shoald", where));
  for (const std::string& name : volumes_.StaticVolumes()) {
    const std::string used = volumes_.BrickPath(name);
    if (path == used || path.starts_with(used + "/") || used.starts_with(path + "/"))
      return Status(Code::kBusy, fmt::format("brick {} is already used by volume {}, served by shoald --volume from {}",
                                             where, name, used));
  }

  proto::BrickCheckResponse response;
  std::vector<std::string> entries = SomeEntries(path, 3);
  if (!entries.empty()) {
    const bool was_brick = std::find(entries.begin(), entries.end(), ".shoal") != entries.end();
    std::string shown = fmt::format("{}", fmt::join(entries.begin(), entries.begin() + std::min<size_t>(3, entries.size()), ", "));
    if (entries.size() > 3) shown += ", ...";
    std::string what = was_brick ? fmt::format("brick directory {} was the brick of another volume (it holds .shoal/)", where)
                                 : fmt::format("brick directory {} is not empty (it holds {})", where, shown);
    if (!request.force())
      return Status(Code::kNotEmpty,
                    fmt::format("{}: use an empty directory, or add `force` to make what it holds the volume's "
                                "content", what));
    response.add_warnings(what + "; accepted with force: its content is the volume's");
  }
  struct stat root {};
  if (::stat("/", &root) == 0 && root.st_dev == st.st_dev) {
    std::string what = fmt::format("brick directory {} is on the root filesystem of {}", where, pool_.name());
    if (!request.force())
      return Status(Code::kInvalidArgument,
                    fmt::format("{}: a full volume would fill it and stall the server; use a directory on a "
                                "filesystem of its own, or add `force` to use it anyway", what));
    response.add_warnings(what + "; accepted with force");
  }
  return response;
}

proto::BrickStatus VolumeAdmin::LocalBrickStatus(const std::string& volume, const std::string& path) {
  proto::BrickStatus status;
  status.set_server(pool_.name());
  status.set_path(path);
  status.set_pid(::getpid());
  struct statvfs fs {};
  if (::statvfs(path.c_str(), &fs) == 0) {
    status.set_bytes_total(static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize);
    status.set_bytes_free(static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize);
  }
  auto served = volumes_.Find(volume);
  if (served.ok() && volumes_.BrickPath(volume) == path) {
    // A replicated brick says what it is in its replica set: primary, in-sync or out-of-sync.
    status.set_state((*served)->role() ? (*served)->role()->StateName() : "online");
    if (auto role = (*served)->role()) {
      *status.mutable_applied() = role->applied();
      for (proto::HealProgress& heal : role->heals()) *status.add_heals() = std::move(heal);
    }
    status.set_clients((*served)->clients());
    status.set_reads((*served)->reads());
  } else if (volumes_.BrickPath(volume) == path) {
    status.set_state("error");
    status.set_reason(served.status().message());
  } else {
    status.set_state("offline");
    status.set_reason("not served: the volume is not started");
  }
  return status;
}

}  // namespace shoal::server
