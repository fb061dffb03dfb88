// Brick: one server's full copy of a volume, stored as the volume's tree at its real paths.
//
// On disk (DESIGN.md §4): every object carries its node id in the trusted.shoal.id xattr; the
// hidden .shoal/ directory holds the index (node id -> kernel file handle), the id reservation and
// the clean-shutdown marker. Clients never see .shoal/ and never see a brick's st_ino.
//
// Safety: every name given to the brick is a single path component, checked by CheckName, and is
// only ever resolved with *at() calls relative to its parent's descriptor and O_NOFOLLOW, so no
// request can reach outside the brick — not through "..", "/", ".shoal" or a symlink on the brick
// pointing elsewhere. The server runs as root; permission checks are the client kernel's
// (default_permissions), ownership of new objects is the caller's.
//
// Thread-safe: every method may be called from any thread concurrently.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/status.h"
#include "common/unique_fd.h"
#include "proto/shoal.pb.h"
#include "storage/id_allocator.h"
#include "storage/node_cache.h"
#include "storage/node_index.h"

namespace shoal::storage {

using NodeId = uint64_t;

inline constexpr NodeId kRootNode = IdAllocator::kRootId;
inline constexpr std::string_view kStateDirName = ".shoal";
inline constexpr const char* kIdXattr = "trusted.shoal.id";

struct BrickOptions {
  std::string path;                     // the brick directory; must exist
  // Open O_PATH descriptors kept for recent nodes; 0: NodeCacheEntriesForLimit().
  size_t node_cache_entries_max = 0;
};

// How many node descriptors a brick keeps by default: a quarter of the process's open-file limit
// (RLIMIT_NOFILE, as it is now), at most 65,536. The rest is for the files clients have open, their
// connections, and the server's other bricks; a cache that outgrew the limit would make every
// further open or create fail with EMFILE.
size_t NodeCacheEntriesForLimit();

// Builds the Attr a client sees from the brick's stat of node `node`.
proto::Attr AttrFromStat(NodeId node, const struct stat& st);

// The root's attributes as clients see them: without the link that .shoal/ adds.
void HideStateDirectory(NodeId node, proto::Attr& attr);

// Sets attr.xattr_free if the object has no xattr but shoal's own. `fd` is a descriptor of it
// (even O_PATH) when `name` is empty; otherwise the object is `name` in directory `fd`.
void NoteXattrFree(int fd, std::string_view name, proto::Attr& attr);
// The same through an open (not O_PATH) descriptor of the object: no /proc path to resolve.
void NoteXattrFreeOpen(int open_fd, proto::Attr& attr);

// The mode to create an object with in directory `parent_fd`: as open(2) would make it, the
// caller's umask applies unless the directory has a default ACL (which then decides).
uint32_t CreationMode(int parent_fd, uint32_t mode, const proto::Caller& caller);

// "/proc/self/fd/N": the path that reaches what descriptor `fd` refers to (even an O_PATH one).
std::string FdPath(int fd);

class Brick {
 public:
  // Opens the brick at options.path, creating .shoal/ on first use. Fails with a clear message
  // when the directory is missing, unreadable or not a directory.
  static Result<std::unique_ptr<Brick>> Open(const BrickOptions& options);
  // Syncs the index and records a clean shutdown.
  ~Brick();
  Brick(const Brick&) = delete;
  Brick& operator=(const Brick&) = delete;

  const std::string& path() const { return options_.path; }

  Result<proto::Attr> Lookup(NodeId parent, std::string_view name);
  Result<proto::Attr> GetAttr(NodeId node);
  // The same without the xattr_free hint (one listxattr less): for callers after times or sizes.
  Result<proto::Attr> StatNode(NodeId node);
  // `handle_fd` is an open descriptor of the node (truncate through it), or -1.
  Result<proto::Attr> SetAttr(const proto::SetAttrRequest& request, int handle_fd);
  // `assign`: the node id the new object gets (a backup applying its primary's change); 0: a new one.
  Result<proto::Attr> MakeNode(const proto::MakeNodeRequest& request, NodeId assign = 0);
  Result<proto::Attr> Symlink(const proto::SymlinkRequest& request, NodeId assign = 0);
  Result<proto::Attr> Link(const proto::LinkRequest& request);
  Status Remove(const proto::RemoveRequest& request);
  Status Rename(const proto::RenameRequest& request);
  Result<std::string> ReadLink(NodeId node);

  struct Opened {
    UniqueFd fd;
    proto::Attr attr;
  };
  Result<Opened> OpenFile(NodeId node, uint32_t flags);
  Result<Opened> Create(const proto::CreateRequest& request, NodeId assign = 0);
  // Sets the access and modification times of `node` to those its primary chose. A symlink's are
  // set through its name (`name` in directory `parent`): a symlink cannot be opened.
  Status SetTimes(NodeId node, int64_t atime_ns, int64_t mtime_ns, NodeId parent = 0, std::string_view name = {});
  // A readable descriptor of directory `node`.
  Result<UniqueFd> OpenDirectory(NodeId node);

  Status SetXattr(const proto::SetXattrRequest& request);
  Result<proto::GetXattrResponse> GetXattr(const proto::GetXattrRequest& request);
  Result<proto::ListXattrResponse> ListXattr(const proto::ListXattrRequest& request);
  Status RemoveXattr(const proto::RemoveXattrRequest& request);
  Result<proto::StatFsResponse> StatFs();

  // The node id of entry `name` (brick inode `brick_ino`, from readdir) in the directory open as
  // `dir_fd` (node `dir`), settling it as Lookup would when it is missing or not unique.
  Result<NodeId> IdOfEntry(NodeId dir, int dir_fd, std::string_view name, ino_t brick_ino);
  // Writes the index to stable storage.
  Status Sync();

  // Keeps `node` reachable by its id for as long as the returned pointer lives, even after its
  // last name is removed: a file a client still has open (fstat of an unlinked file).
  Result<std::shared_ptr<NodeFd>> Pin(NodeId node);

  // The directory that holds `node` under one of its names (a file with several hard links: any
  // of them); kNotFound for the root and for a node with no name left (unlinked, still open).
  Result<NodeId> ParentOf(NodeId node);

  // Heal (brick_heal.cc): what a primary compares and copies to bring a brick back into the
  // in-sync set (server/healer.h). Entries carry node ids, never the brick's inode numbers.
  // Directory `dir` and its entries after name `after`, in name order, with everything a heal
  // compares; stops (end unset) once the answer holds `bytes_max` bytes.
  Result<proto::HealListResponse> HealList(NodeId dir, std::string_view after = {}, size_t bytes_max = SIZE_MAX);
  // The xxh3-64 of the blocks of regular file `node` from `first_block`, `blocks_max` of them at
  // most (0: to the end). Reads do not touch its atime.
  Result<proto::HealHashesResponse> HealHashes(NodeId node, uint32_t block_size, uint64_t first_block = 0,
                                               uint32_t blocks_max = 0);
  // Makes entry.name in `parent` the object `entry` describes, under its node id: an object of
  // another id or type there goes first; a directory of that id elsewhere on the brick is moved
  // here, a file of that id elsewhere gets this name as a hard link. Then owner, mode and xattrs
  // are made the same (times: SetTimes, after the content). Parent 0: the root's own attributes.
  Status HealPut(NodeId parent, const proto::HealEntry& entry);
  // Removes `name` from `parent` with everything below it.
  Status HealRemove(NodeId parent, std::string_view name);
  // Writes `data` at `offset` into regular file `node`, then sets its size to `size`.
  Status HealWrite(NodeId node, uint64_t offset, std::string_view data, uint64_t size);
  // Puts everything written to the brick's file system on stable storage (syncfs) and the index too.
  Status SyncAll();
  // Whether changes this brick applied may have been lost: its server started after the machine
  // restarted without a clean stop (the page cache went with it), and no heal has completed since.
  // A heal that relies on what the brick applied before must compare everything instead.
  bool unsynced_loss() const;
  // A heal made the brick whole and synced it.
  Status ClearUnsyncedLoss();

  // Checks the index against the tree (brick_scrub.cc): adds what it misses, drops entries whose
  // object is gone, and makes the id allocator pass every id in the tree. Objects without an id
  // or with a duplicate one are counted and named, not changed: on a replicated volume a new id
  // on one brick would set it apart from the others (a lookup settles them as before).
  Result<proto::ScrubReport> Scrub();

 private:
  Brick(BrickOptions options, UniqueFd root_fd, std::unique_ptr<NodeIndex> index,
        std::unique_ptr<IdAllocator> ids);

  // An O_PATH descriptor of `node`; kStale if the node no longer exists.
  Result<std::shared_ptr<NodeFd>> Resolve(NodeId node);
  // Opens `name` in `parent` (O_PATH, no following), learns or assigns its id, and caches it.
  Result<std::pair<NodeId, std::shared_ptr<NodeFd>>> OpenEntry(NodeId parent, int parent_fd,
                                                               std::string_view name);
  // Gives a freshly created object its id and the caller's ownership, then indexes it. `open_fd`:
  // a descriptor of it open for I/O (a created file's), which spares /proc path lookups; or -1.
  Result<proto::Attr> AdoptNew(NodeId parent, int parent_fd, std::string_view name,
                               const proto::Caller& caller, NodeId assign = 0, int open_fd = -1);
  Status Remember(NodeId node, int fd, const struct stat& st);
  // Records that `node` is the object open as `fd`; true if the index did not say so already.
  Result<bool> Reindex(NodeId node, int fd);
  // Gives the object open as `fd` a new id unless it no longer carries `wrong` (0: none); returns
  // the id it carries afterwards.
  Result<NodeId> ReplaceId(int fd, NodeId wrong);
  // Called after an unlink/rmdir/rename that may have removed the last name of `target`.
  void ForgetIfGone(NodeId node, const std::shared_ptr<NodeFd>& target);
  // The id recorded on what `path` names; `follow` says whether a final symlink is followed, which
  // is right only for /proc/self/fd magic links (they lead to the object itself).
  Result<NodeId> ReadId(const std::string& path, bool follow = true);
  Status WriteId(const std::string& path, NodeId node);
  // Heal: the object entry.name in `parent` (open as parent_fd) made from nothing; and the removal
  // of `name` in the directory open as `dir_fd` with everything below it.
  Status HealCreate(NodeId parent, int parent_fd, const proto::HealEntry& entry);
  Status RemoveTree(int dir_fd, const std::string& name);
  void ScrubBelow(int dir_fd, const std::string& relative, std::unordered_map<NodeId, ino_t>& seen,
                  proto::ScrubReport& report);

  const BrickOptions options_;
  const UniqueFd root_fd_;
  std::unique_ptr<NodeIndex> index_;
  std::unique_ptr<IdAllocator> ids_;
  NodeCache cache_;
  std::mutex adopt_mutex_;  // serializes giving ids to objects found without a (unique) one
  std::mutex pinned_mutex_;
  std::unordered_map<NodeId, std::weak_ptr<NodeFd>> pinned_;  // guarded by pinned_mutex_
  // pinned_ is swept of expired entries when it grows to this: twice what the last sweep left, so
  // that a sweep costs each Pin O(1) however many stay pinned.
  size_t pinned_sweep_at_ = 1024;  // guarded by pinned_mutex_
};

// Checks that `name` may be created or looked up in `parent`: a single path component, not "."
// or "..", at most NAME_MAX bytes, and not the brick's state directory.
Status CheckName(NodeId parent, std::string_view name);

}  // namespace shoal::storage
