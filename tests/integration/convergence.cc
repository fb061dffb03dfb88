#include "tests/integration/convergence.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <set>
#include <system_error>
#include <utility>
#include <vector>

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

namespace shoal::test {
namespace {

constexpr const char* kStateDirName = ".shoal";
constexpr const char* kIdXattr = "trusted.shoal.id";

[[noreturn]] void ThrowErrno(int error, const std::string& what, const std::string& path) {
  throw std::system_error(error, std::generic_category(), what + " " + path);
}

// Closes a descriptor or a DIR* when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

class Dir {
 public:
  explicit Dir(DIR* dir) : dir_(dir) {}
  ~Dir() {
    if (dir_ != nullptr) ::closedir(dir_);
  }
  Dir(const Dir&) = delete;
  Dir& operator=(const Dir&) = delete;
  DIR* get() const { return dir_; }

 private:
  DIR* dir_;
};

ObjectType TypeOf(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFDIR: return ObjectType::kDirectory;
    case S_IFLNK: return ObjectType::kSymlink;
    case S_IFIFO: return ObjectType::kFifo;
    case S_IFSOCK: return ObjectType::kSocket;
    case S_IFCHR: return ObjectType::kCharDevice;
    case S_IFBLK: return ObjectType::kBlockDevice;
    default: return ObjectType::kRegular;
  }
}

std::string Hex(const unsigned char* bytes, size_t count) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  text.reserve(count * 2);
  for (size_t i = 0; i < count; ++i) {
    text += kDigits[bytes[i] >> 4];
    text += kDigits[bytes[i] & 0xf];
  }
  return text;
}

std::string HashFile(const std::string& path) {
  // O_NOATIME: the checker should not disturb what it reads (root may use it on any file).
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) ThrowErrno(errno, "open", path);
  Fd file(fd);
  XXH3_state_t state;
  XXH3_128bits_reset(&state);
  std::vector<char> buffer(1 << 20);
  for (;;) {
    ssize_t n = ::read(file.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ThrowErrno(errno, "read", path);
    if (n == 0) break;
    XXH3_128bits_update(&state, buffer.data(), static_cast<size_t>(n));
  }
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(&state));
  return "xxh3-128:" + Hex(canonical.digest, sizeof canonical.digest);
}

std::map<std::string, std::string> ReadXattrs(const std::string& path) {
  std::map<std::string, std::string> xattrs;
  std::string names;
  for (;;) {  // the list may grow between the two calls: retry until it fits
    ssize_t size = ::llistxattr(path.c_str(), nullptr, 0);
    if (size < 0 && errno == ENOTSUP) return xattrs;
    if (size < 0) ThrowErrno(errno, "llistxattr", path);
    names.resize(static_cast<size_t>(size));
    size = ::llistxattr(path.c_str(), names.data(), names.size());
    if (size < 0 && errno == ERANGE) continue;
    if (size < 0) ThrowErrno(errno, "llistxattr", path);
    names.resize(static_cast<size_t>(size));
    break;
  }
  for (size_t start = 0; start < names.size();) {
    std::string name(names.c_str() + start);
    start += name.size() + 1;
    if (name.empty()) continue;
    std::string value;
    for (;;) {
      ssize_t size = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
      if (size < 0) ThrowErrno(errno, "lgetxattr " + name, path);
      value.resize(static_cast<size_t>(size));
      size = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
      if (size < 0 && errno == ERANGE) continue;
      if (size < 0) ThrowErrno(errno, "lgetxattr " + name, path);
      value.resize(static_cast<size_t>(size));
      break;
    }
    xattrs.emplace(std::move(name), std::move(value));
  }
  return xattrs;
}

std::string ReadSymlink(const std::string& path, size_t size_hint) {
  std::string target(size_hint + 1, '\0');
  for (;;) {
    ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
    if (n < 0) ThrowErrno(errno, "readlink", path);
    if (static_cast<size_t>(n) < target.size()) {
      target.resize(static_cast<size_t>(n));
      return target;
    }
    target.resize(target.size() * 2);
  }
}

// One scan of one brick: hard links share their content hash, computed once per inode.
class Scanner {
 public:
  explicit Scanner(std::string root) : root_(std::move(root)) {}

  std::map<std::string, BrickObject> Run() {
    Visit(".", root_);
    return std::move(objects_);
  }

 private:
  void Visit(const std::string& relative, const std::string& full) {
    struct stat st;
    if (::lstat(full.c_str(), &st) != 0) ThrowErrno(errno, "lstat", full);
    BrickObject object{
        .path = relative,
        .type = TypeOf(st.st_mode),
        .mode = static_cast<mode_t>(st.st_mode & 07777),
        .uid = st.st_uid,
        .gid = st.st_gid,
        .size = static_cast<uint64_t>(st.st_size),
        .mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
        .nlink = static_cast<uint64_t>(st.st_nlink),
    };
    if (object.type == ObjectType::kCharDevice || object.type == ObjectType::kBlockDevice)
      object.rdev = st.st_rdev;
    if (object.type == ObjectType::kRegular) object.content_hash = ContentHash(full, st);
    if (object.type == ObjectType::kSymlink)
      object.symlink_target = ReadSymlink(full, static_cast<size_t>(st.st_size));
    object.xattrs = ReadXattrs(full);
    objects_.emplace(relative, std::move(object));
    if (S_ISDIR(st.st_mode)) VisitChildren(relative, full);
  }

  void VisitChildren(const std::string& relative, const std::string& full) {
    int fd = ::open(full.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) ThrowErrno(errno, "open", full);
    Dir dir(::fdopendir(fd));
    if (dir.get() == nullptr) {
      int error = errno;
      ::close(fd);
      ThrowErrno(error, "fdopendir", full);
    }
    std::set<std::string> names;  // read the whole directory before descending: fewer open fds
    for (;;) {
      errno = 0;
      struct dirent* entry = ::readdir(dir.get());
      if (entry == nullptr) {
        if (errno != 0) ThrowErrno(errno, "readdir", full);
        break;
      }
      std::string name = entry->d_name;
      if (name == "." || name == "..") continue;
      if (relative == "." && name == kStateDirName) continue;
      names.insert(std::move(name));
    }
    for (const std::string& name : names)
      Visit(relative == "." ? name : relative + "/" + name, full + "/" + name);
  }

  std::string ContentHash(const std::string& full, const struct stat& st) {
    std::pair<dev_t, ino_t> inode{st.st_dev, st.st_ino};
    if (st.st_nlink > 1) {
      auto known = hashes_.find(inode);
      if (known != hashes_.end()) return known->second;
    }
    std::string hash = HashFile(full);
    if (st.st_nlink > 1) hashes_.emplace(inode, hash);
    return hash;
  }

  std::string root_;
  std::map<std::string, BrickObject> objects_;
  std::map<std::pair<dev_t, ino_t>, std::string> hashes_;
};

// An xattr value for a message: the node id as a number, text as text, anything else as hex.
std::string XattrText(const std::string& name, const std::string& value) {
  if (name == kIdXattr && value.size() == sizeof(uint64_t)) {
    uint64_t id;
    std::memcpy(&id, value.data(), sizeof id);
    return "node id " + std::to_string(id);
  }
  bool printable = !value.empty();
  for (unsigned char c : value) printable = printable && c >= 0x20 && c < 0x7f;
  if (printable) return "\"" + value + "\"";
  return "0x" + Hex(reinterpret_cast<const unsigned char*>(value.data()), value.size());
}

std::string ModeText(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode));
  return text;
}

// The bricks that hold one path, and the values one attribute has on them.
using Holders = std::vector<std::pair<const std::string*, const BrickObject*>>;

// Appends "path P: WHAT v1 on /b1, v2 on /b2" if the values are not all equal.
void CompareField(const std::string& path, const std::string& what, const Holders& holders,
                  const std::function<std::string(const BrickObject&)>& value,
                  std::vector<std::string>& differences) {
  std::vector<std::string> values;
  for (const auto& [brick, object] : holders) values.push_back(value(*object));
  bool same = true;
  for (const std::string& v : values) same = same && v == values.front();
  if (same) return;
  std::string line = "path " + path + ": " + what + " ";
  for (size_t i = 0; i < holders.size(); ++i)
    line += (i == 0 ? "" : ", ") + values[i] + " on " + *holders[i].first;
  differences.push_back(std::move(line));
}

void CompareXattrs(const std::string& path, const Holders& holders,
                   std::vector<std::string>& differences) {
  std::set<std::string> names;
  for (const auto& [brick, object] : holders)
    for (const auto& [name, value] : object->xattrs) names.insert(name);
  for (const std::string& name : names) {
    CompareField(path, "xattr " + name, holders, [&name](const BrickObject& o) {
      auto found = o.xattrs.find(name);
      return found == o.xattrs.end() ? std::string("absent") : XattrText(name, found->second);
    }, differences);
  }
}

void CompareObject(const std::string& path, const Holders& holders, const CompareOptions& options,
                   std::vector<std::string>& differences) {
  size_t before = differences.size();
  CompareField(path, "type", holders, [](const BrickObject& o) { return std::string(ObjectTypeName(o.type)); },
               differences);
  if (differences.size() != before) return;  // the rest would only repeat that
  ObjectType type = holders.front().second->type;
  CompareField(path, "mode", holders, [](const BrickObject& o) { return ModeText(o.mode); }, differences);
  CompareField(path, "uid", holders, [](const BrickObject& o) { return std::to_string(o.uid); }, differences);
  CompareField(path, "gid", holders, [](const BrickObject& o) { return std::to_string(o.gid); }, differences);
  if (type != ObjectType::kDirectory || options.compare_directory_sizes)
    CompareField(path, "size", holders, [](const BrickObject& o) { return std::to_string(o.size); }, differences);
  CompareField(path, "content", holders, [](const BrickObject& o) { return o.content_hash; }, differences);
  CompareField(path, "symlink target", holders,
               [](const BrickObject& o) { return "\"" + o.symlink_target + "\""; }, differences);
  CompareField(path, "rdev", holders, [](const BrickObject& o) { return std::to_string(o.rdev); }, differences);
  CompareField(path, "mtime", holders, [](const BrickObject& o) { return std::to_string(o.mtime_ns); },
               differences);
  CompareField(path, "nlink", holders, [](const BrickObject& o) { return std::to_string(o.nlink); }, differences);
  CompareXattrs(path, holders, differences);
}

}  // namespace

const char* ObjectTypeName(ObjectType type) {
  switch (type) {
    case ObjectType::kRegular: return "regular";
    case ObjectType::kDirectory: return "directory";
    case ObjectType::kSymlink: return "symlink";
    case ObjectType::kFifo: return "fifo";
    case ObjectType::kSocket: return "socket";
    case ObjectType::kCharDevice: return "char-device";
    case ObjectType::kBlockDevice: return "block-device";
  }
  return "unknown";
}

std::map<std::string, BrickObject> ScanBrick(const std::string& brick_path) {
  return Scanner(brick_path).Run();
}

std::vector<std::string> CompareBricks(const std::vector<std::string>& brick_paths,
                                       const CompareOptions& options) {
  std::vector<std::string> differences;
  std::vector<std::pair<const std::string*, std::map<std::string, BrickObject>>> scans;
  for (const std::string& brick : brick_paths) {
    try {
      scans.emplace_back(&brick, ScanBrick(brick));
    } catch (const std::system_error& error) {
      differences.push_back("brick " + brick + ": cannot scan: " + error.what());
    }
  }
  if (!differences.empty() || scans.size() < 2) return differences;

  std::set<std::string> paths;
  for (const auto& [brick, objects] : scans)
    for (const auto& [path, object] : objects) paths.insert(path);
  for (const std::string& path : paths) {
    Holders holders;
    std::string missing, present;
    for (const auto& [brick, objects] : scans) {
      auto found = objects.find(path);
      if (found == objects.end()) {
        missing += (missing.empty() ? "" : ", ") + *brick;
      } else {
        present += (present.empty() ? "" : ", ") + *brick;
        holders.emplace_back(brick, &found->second);
      }
    }
    if (!missing.empty())
      differences.push_back("path " + path + ": missing on " + missing + " (present on " + present + ")");
    if (holders.size() >= 2) CompareObject(path, holders, options, differences);
  }
  return differences;
}

}  // namespace shoal::test
