// The convergence checker: proves that the bricks of one volume hold the same tree (DESIGN.md §4,
// §10: "after each fault run, a checker proves every in-sync brick holds the same tree").
//
// It reads the brick directories directly (not through a mount), so it sees what a heal or a
// replica would serve: every path, its type, mode, owner, size, content, symlink target, mtime,
// nlink and every xattr, including trusted.shoal.id (the node id, which must be the same on every
// brick). atime and ctime are not compared: ctime cannot be set from userspace, and atime differs
// where reads went. The brick's private state directory `.shoal/` (top level only) is skipped.
//
// Call it on a quiet volume (no writes in flight): it takes no locks and a tree that changes under
// it may be reported as different. Reading trusted.* xattrs needs CAP_SYS_ADMIN (tests run as
// root); without it the node ids are silently absent on every brick and so not compared.
// Thread-compatible: no shared state.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace shoal::test {

enum class ObjectType { kRegular, kDirectory, kSymlink, kFifo, kSocket, kCharDevice, kBlockDevice };

// "regular", "directory", "symlink", ...: for messages.
const char* ObjectTypeName(ObjectType type);

// What the checker compares of one object on a brick.
struct BrickObject {
  std::string path;  // relative to the brick: "." for its root, "a/b" below it
  ObjectType type = ObjectType::kRegular;
  mode_t mode = 0;  // permission bits with setuid/setgid/sticky (st_mode & 07777)
  uid_t uid = 0;
  gid_t gid = 0;
  uint64_t size = 0;  // st_size, for every type (a directory's too)
  int64_t mtime_ns = 0;
  uint64_t nlink = 0;
  dev_t rdev = 0;                // device nodes only, else 0
  std::string content_hash{};    // regular files: "xxh3-128:<32 hex digits>", else ""
  std::string symlink_target{};  // symlinks only
  std::map<std::string, std::string> xattrs{};  // every name (incl. trusted.shoal.id) -> raw value
};

// Walks the brick directory at `brick_path`, lstat-ing every object (never following symlinks)
// and hashing the content of regular files (each inode once). Skips the top-level `.shoal`.
// Returns the objects by relative path (the root as "."). Throws std::system_error, naming the
// path, if the brick or anything in it cannot be read.
std::map<std::string, BrickObject> ScanBrick(const std::string& brick_path);

// What CompareBricks compares. The defaults compare everything listed above.
struct CompareOptions {
  // A directory's st_size on ext4 grows with the entries it ever held and never shrinks, so two
  // bricks with the same entries can differ if they got there by different histories (e.g. one
  // healed by copying). Clients see the brick's size, so it is compared unless this is false.
  bool compare_directory_sizes = true;
};

// Compares the bricks of one volume and returns their differences, one human-readable line per
// path and attribute, naming every brick's value:
//   "path a/b: mtime 1700000000123456789 on /b1, 1700000000000000000 on /b2, ... on /b3"
//   "path c: missing on /b3 (present on /b1, /b2)"
// Empty when they are identical (or fewer than two bricks are given). A brick that cannot be
// scanned is reported as a difference ("brick /b3: cannot scan: ..."), never thrown.
std::vector<std::string> CompareBricks(const std::vector<std::string>& brick_paths,
                                       const CompareOptions& options = {});

}  // namespace shoal::test
