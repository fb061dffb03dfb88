#include "server/tree_sync.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>
#include <thread>

#include <fmt/format.h>

#include "proto/messages.h"
#include "storage/file_io.h"

namespace shoal::server {
namespace {

// Gone on one side or the other since the node was noted: nothing to compare there.
bool Vanished(const Status& status) { return status.code() == Code::kStale || status.code() == Code::kNotFound; }

constexpr uint32_t kBlockBytes = 256u << 10;     // the unit a changed large file is sent in
constexpr uint64_t kWholeFileMax = 256u << 10;   // files up to this size are sent whole
constexpr uint32_t kWriteBytesMax = 1u << 20;    // one HealWrite
// Blocks hashed per request: a large file is compared in parts of 256 MiB.
constexpr uint32_t kHashBlocksMax = 1024;
// Requests sent ahead of their answers (the brick applies them in the order sent).
constexpr size_t kInFlightMax = 64;
constexpr uint64_t kInFlightBytesMax = 16u << 20;

bool SameXattrs(const proto::HealEntry& a, const proto::HealEntry& b) {
  if (a.xattrs_size() != b.xattrs_size()) return false;
  for (int i = 0; i < a.xattrs_size(); ++i)
    if (a.xattrs(i).name() != b.xattrs(i).name() || a.xattrs(i).value() != b.xattrs(i).value()) return false;
  return true;
}

// Owner, mode (with the type) and xattrs: what HealPut sets.
bool SameMeta(const proto::HealEntry& a, const proto::HealEntry& b) {
  return a.attr().mode() == b.attr().mode() && a.attr().uid() == b.attr().uid() && a.attr().gid() == b.attr().gid() &&
         a.target() == b.target() && a.attr().rdev() == b.attr().rdev() && SameXattrs(a, b);
}

bool SameObject(const proto::HealEntry& a, const proto::HealEntry& b) {
  return a.attr().ino() == b.attr().ino() && (a.attr().mode() & S_IFMT) == (b.attr().mode() & S_IFMT);
}

void CountBelow(int dir_fd, bool root, TreeSize& size) {
  int copy = ::dup(dir_fd);
  if (copy < 0) return;
  DIR* dir = ::fdopendir(copy);
  if (dir == nullptr) {
    ::close(copy);
    return;
  }
  std::vector<std::string> subdirectories;
  while (struct dirent* found = ::readdir(dir)) {
    std::string_view name(found->d_name);
    if (name == "." || name == ".." || (root && name == storage::kStateDirName)) continue;
    ++size.entries;
    if (found->d_type == DT_DIR) subdirectories.emplace_back(name);
    struct stat st;
    if (found->d_type == DT_REG && ::fstatat(dir_fd, found->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
      size.file_bytes += static_cast<uint64_t>(st.st_size);
  }
  ::closedir(dir);
  for (const std::string& name : subdirectories) {
    UniqueFd below(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (below.valid()) CountBelow(below.get(), false, size);
  }
}

}  // namespace

TreeSize CountEntries(storage::Brick& brick) {
  TreeSize size;
  if (auto root = brick.OpenDirectory(storage::kRootNode); root.ok()) CountBelow(root->get(), true, size);
  return size;
}

TreeSize SizeOf(storage::Brick& brick, const std::unordered_set<uint64_t>& nodes) {
  TreeSize size;
  for (uint64_t node : nodes) {
    auto attr = brick.GetAttr(node);
    if (!attr.ok()) continue;  // removed since
    ++size.entries;
    if (S_ISREG(attr->mode())) size.file_bytes += attr->size();
  }
  return size;
}

TreeSync::~TreeSync() { (void)Drain(); }

Status TreeSync::Pass(const std::unordered_set<uint64_t>* dirty, bool full) {
  dirty_ = dirty;
  full_ = full;
  compared_.clear();
  Status walked = dirty == nullptr ? Walk(storage::kRootNode, /*fresh=*/false) : CompareDirty();
  Status drained = Drain();
  return walked.ok() ? drained : walked;
}

Status TreeSync::CompareDirty() {
  // The directories to compare: those holding a dirty node (where its own metadata is compared,
  // as an entry), and the dirty directories themselves (their entries). A change that adds,
  // removes or renames a name marks the directories involved too, so a node gone here needs no
  // look of its own. Lower node ids first: parents are mostly older than their children, and a
  // directory the brick does not have yet is made by its parent's compare.
  std::set<uint64_t> dirs;
  for (uint64_t node : *dirty_) {
    auto attr = local_.GetAttr(node);
    if (!attr.ok()) continue;
    if (S_ISDIR(attr->mode())) dirs.insert(node);
    if (auto parent = local_.ParentOf(node); parent.ok()) dirs.insert(*parent);
  }
  for (uint64_t dir : dirs) {
    if (stop_) return Status(Code::kInterrupted, "the heal was stopped");
    if (compared_.contains(dir)) continue;  // made there by its parent's compare, and compared then
    auto mine = local_.HealList(dir);
    if (!mine.ok()) {
      if (Vanished(mine.status())) continue;
      return mine.status();
    }
    auto theirs = ListThere(dir);
    if (!theirs.ok()) {
      if (Vanished(theirs.status())) continue;  // not made there yet: see above
      return theirs.status();
    }
    SHOAL_RETURN_IF_ERROR(Compare(dir, *mine, *theirs, /*fresh=*/false));
  }
  return Status::Ok();
}

Status TreeSync::Walk(uint64_t dir, bool fresh) {
  if (stop_) return Status(Code::kInterrupted, "the heal was stopped");
  SHOAL_ASSIGN_OR_RETURN(proto::HealListResponse mine, local_.HealList(dir));
  bool compare = fresh || Dirty(dir);
  for (const proto::HealEntry& entry : mine.entries()) compare = compare || Dirty(entry.attr().ino());
  if (compare) return Compare(dir, mine, fresh);
  for (const proto::HealEntry& entry : mine.entries())
    if (S_ISDIR(entry.attr().mode())) SHOAL_RETURN_IF_ERROR(Walk(entry.attr().ino(), /*fresh=*/false));
  return Status::Ok();
}

Status TreeSync::Compare(uint64_t dir, const proto::HealListResponse& mine, bool fresh) {
  proto::HealListResponse theirs;
  if (!fresh) {
    SHOAL_ASSIGN_OR_RETURN(theirs, ListThere(dir));
  }
  return Compare(dir, mine, theirs, fresh);
}

Status TreeSync::Compare(uint64_t dir, const proto::HealListResponse& mine, const proto::HealListResponse& theirs,
                         bool fresh) {
  ++counters_.directories;
  compared_.insert(dir);
  if (dir == storage::kRootNode && !SameMeta(mine.self(), theirs.self())) {
    proto::Request put;
    put.mutable_heal_put()->set_parent(0);
    *put.mutable_heal_put()->mutable_entry() = mine.self();
    SHOAL_RETURN_IF_ERROR(Send(std::move(put)));
  }
  bool changed = fresh;
  std::vector<Content> contents;  // files whose data goes once their entries are made there
  int i = 0, j = 0;
  while (i < mine.entries_size() || j < theirs.entries_size()) {
    if (stop_) return Status(Code::kInterrupted, "the heal was stopped");
    const proto::HealEntry* m = i < mine.entries_size() ? &mine.entries(i) : nullptr;
    const proto::HealEntry* t = j < theirs.entries_size() ? &theirs.entries(j) : nullptr;
    if (m == nullptr || (t != nullptr && t->name() < m->name())) {
      proto::Request remove;
      remove.mutable_heal_remove()->set_parent(dir);
      remove.mutable_heal_remove()->set_name(t->name());
      SHOAL_RETURN_IF_ERROR(Send(std::move(remove)));
      ++counters_.removed;
      changed = true;
      ++j;
      continue;
    }
    if (t == nullptr || m->name() < t->name()) t = nullptr;
    ++counters_.entries;
    if (S_ISREG(m->attr().mode())) counters_.file_bytes += m->attr().size();
    if (t == nullptr || !SameObject(*m, *t)) {
      SHOAL_RETURN_IF_ERROR(Copy(dir, *m, nullptr, contents));
      changed = true;
    } else {
      if (!SameMeta(*m, *t)) {
        SHOAL_RETURN_IF_ERROR(Copy(dir, *m, t, contents));
      } else if (S_ISDIR(m->attr().mode()) && dirty_ == nullptr) {
        // Comparing everything: on down. Comparing dirty nodes (CompareDirty), a subdirectory
        // the same on both sides needs a look only if it holds one, and then it has its own.
        SHOAL_RETURN_IF_ERROR(Walk(m->attr().ino(), /*fresh=*/false));
      } else if (S_ISREG(m->attr().mode()) &&
                 (full_ || m->attr().size() != t->attr().size() || m->attr().mtime_ns() != t->attr().mtime_ns())) {
        contents.push_back({.mine = *m, .theirs = *t, .compared = true});
        ++counters_.copied;
      } else if (m->attr().mtime_ns() != t->attr().mtime_ns()) {
        SHOAL_RETURN_IF_ERROR(SetTimes(dir, *m));
      }
    }
    ++i;
    if (t != nullptr) ++j;
  }
  SHOAL_RETURN_IF_ERROR(SendContents(dir, contents));
  // The directory's own times, now that its entries are as here.
  if (changed || mine.self().attr().mtime_ns() != theirs.self().attr().mtime_ns()) {
    proto::HealEntry self = mine.self();
    self.clear_name();
    SHOAL_RETURN_IF_ERROR(SetTimes(0, self));
  }
  return Status::Ok();
}

Status TreeSync::Copy(uint64_t dir, const proto::HealEntry& mine, const proto::HealEntry* theirs,
                      std::vector<Content>& contents) {
  proto::Request put;
  put.mutable_heal_put()->set_parent(dir);
  *put.mutable_heal_put()->mutable_entry() = mine;
  SHOAL_RETURN_IF_ERROR(Send(std::move(put)));
  ++counters_.copied;
  const uint32_t type = mine.attr().mode() & S_IFMT;
  // A directory sets its own times once its entries are there. What it holds is compared, not
  // assumed empty nor assumed alike: it may have been moved there from elsewhere on the brick, or
  // made empty in place of one removed there under its old name (a directory renamed while the
  // brick was away: only the two parents are among the nodes it missed, and the old name's
  // parent may be compared first).
  if (type == S_IFDIR) {
    SHOAL_ASSIGN_OR_RETURN(proto::HealListResponse held, local_.HealList(mine.attr().ino()));
    return Compare(mine.attr().ino(), held, /*fresh=*/false);
  }
  const bool same_content = theirs != nullptr && mine.attr().size() == theirs->attr().size() &&
                            mine.attr().mtime_ns() == theirs->attr().mtime_ns() && !full_;
  if (type == S_IFREG && !same_content) {
    contents.push_back({.mine = mine, .theirs = theirs ? *theirs : proto::HealEntry(), .compared = theirs != nullptr});
    return Status::Ok();
  }
  return SetTimes(dir, mine);
}

Status TreeSync::SendContents(uint64_t dir, const std::vector<Content>& contents) {
  if (contents.empty()) return Status::Ok();
  // The entries must exist there before data goes to them on another lane.
  if (lanes_.size() > 1) SHOAL_RETURN_IF_ERROR(Drain(/*lane=*/0));
  size_t next = 0;
  for (const Content& content : contents) {
    if (stop_) return Status(Code::kInterrupted, "the heal was stopped");
    const size_t lane = lanes_.size() > 1 ? 1 + next++ % (lanes_.size() - 1) : 0;
    SHOAL_RETURN_IF_ERROR(SendContent(content.mine, content.compared ? &content.theirs : nullptr, lane));
    SHOAL_RETURN_IF_ERROR(SetTimes(dir, content.mine, lane));  // after the data, on the same lane
  }
  return Status::Ok();
}

Status TreeSync::SendContent(const proto::HealEntry& mine, const proto::HealEntry* theirs, size_t lane) {
  const uint64_t node = mine.attr().ino();
  SHOAL_ASSIGN_OR_RETURN(storage::Brick::Opened file, local_.OpenFile(node, O_RDONLY | O_NOATIME));
  const uint64_t size = file.attr.size();
  auto send = [&](uint64_t offset, uint64_t length) -> Status {
    for (uint64_t end = offset + length; offset < end;) {
      const auto chunk = static_cast<uint32_t>(std::min<uint64_t>(end - offset, kWriteBytesMax));
      SHOAL_ASSIGN_OR_RETURN(std::string data, storage::ReadAt(file.fd.get(), offset, chunk));
      if (data.empty()) break;  // shrunk meanwhile: a later pass sends what it became
      proto::Request write;
      write.mutable_heal_write()->set_node(node);
      write.mutable_heal_write()->set_offset(offset);
      write.mutable_heal_write()->set_size(size);
      offset += data.size();
      counters_.bytes += data.size();
      const size_t sent = data.size();
      SHOAL_RETURN_IF_ERROR(Send(std::move(write), std::move(data), lane));
      Throttle(sent);
    }
    return Status::Ok();
  };
  auto truncate = [&]() -> Status {
    proto::Request write;
    write.mutable_heal_write()->set_node(node);
    write.mutable_heal_write()->set_offset(size);
    write.mutable_heal_write()->set_size(size);
    return Send(std::move(write), {}, lane);
  };
  // A small file that differs is sent whole, unless a full comparison finds it the same there.
  if (size <= kWholeFileMax && !(full_ && theirs != nullptr)) return size == 0 ? truncate() : send(0, size);
  // A large file is compared block by block, a part at a time; only the blocks that differ go.
  bool sent = false;
  uint64_t there_size = 0;
  const uint64_t blocks = (size + kBlockBytes - 1) / kBlockBytes;
  for (uint64_t first = 0; first == 0 || first < blocks; first += kHashBlocksMax) {
    proto::Request ask;
    ask.mutable_heal_hashes()->set_node(node);
    ask.mutable_heal_hashes()->set_block_size(kBlockBytes);
    ask.mutable_heal_hashes()->set_first_block(first);
    ask.mutable_heal_hashes()->set_blocks_max(kHashBlocksMax);
    SHOAL_ASSIGN_OR_RETURN(proto::Response answer, Call(std::move(ask), {}, lane));
    const proto::HealHashesResponse& there = answer.heal_hashes();
    there_size = there.size();
    SHOAL_ASSIGN_OR_RETURN(proto::HealHashesResponse here, local_.HealHashes(node, kBlockBytes, first, kHashBlocksMax));
    for (int i = 0; i < here.hashes_size(); ++i) {
      const uint64_t block = first + static_cast<uint64_t>(i);
      if (i < there.hashes_size() && here.hashes(i) == there.hashes(i) && (block + 1) * kBlockBytes <= there.size())
        continue;
      const uint64_t offset = block * kBlockBytes;
      SHOAL_RETURN_IF_ERROR(send(offset, std::min<uint64_t>(kBlockBytes, size - std::min(size, offset))));
      sent = true;
    }
    counters_.compared += static_cast<uint64_t>(here.hashes_size()) * kBlockBytes;
    if (blocks == 0) break;
  }
  if (!sent && there_size != size) return truncate();
  return Status::Ok();
}

void TreeSync::Throttle(uint64_t bytes) {
  if (rate_ == 0) return;
  rate_bytes_ += bytes;
  const auto due = rate_start_ + std::chrono::microseconds(rate_bytes_ * 1'000'000 / rate_);
  while (!stop_ && std::chrono::steady_clock::now() < due)
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(due - std::chrono::steady_clock::now(),
                                                                              std::chrono::milliseconds(50)));
}

Status TreeSync::SetTimes(uint64_t dir, const proto::HealEntry& mine, size_t lane) {
  proto::Request times;
  auto* t = times.mutable_heal_times();
  t->set_node(mine.attr().ino());
  if (S_ISLNK(mine.attr().mode())) {  // a symlink cannot be opened: its times are set by name
    t->set_parent(dir);
    t->set_name(mine.name());
  }
  t->set_atime_ns(mine.attr().atime_ns());
  t->set_mtime_ns(mine.attr().mtime_ns());
  return Send(std::move(times), {}, lane);
}

Result<proto::HealListResponse> TreeSync::ListThere(uint64_t dir) {
  proto::HealListResponse all;
  std::string after;
  for (bool first = true;; first = false) {
    proto::Request list;
    list.mutable_heal_list()->set_dir(dir);
    list.mutable_heal_list()->set_after(after);
    SHOAL_ASSIGN_OR_RETURN(proto::Response answer, Call(std::move(list)));
    proto::HealListResponse* page = answer.mutable_heal_list();
    if (first) *all.mutable_self() = page->self();
    for (proto::HealEntry& entry : *page->mutable_entries()) *all.add_entries() = std::move(entry);
    if (page->end() || page->entries_size() == 0) break;
    after = all.entries(all.entries_size() - 1).name();
  }
  return all;
}

Status TreeSync::Send(proto::Request request, std::string data, size_t lane) {
  const uint64_t bytes = data.size();
  {
    std::unique_lock lock(mutex_);
    answered_.wait(lock, [&] { return in_flight_ < kInFlightMax && in_flight_bytes_ + bytes <= kInFlightBytesMax; });
    if (!failed_.ok()) return failed_;
    ++in_flight_;
    ++lane_in_flight_[lane];
    in_flight_bytes_ += bytes;
  }
  net::Bulk trailer = data.empty() ? nullptr : std::make_shared<const std::string>(std::move(data));
  lanes_[lane]->Call(std::move(request), std::move(trailer), /*retry_safe=*/false, [this, bytes, lane](Result<net::Reply> reply) {
    Status status = reply.ok() ? proto::StatusOf(reply->response) : reply.status();
    std::lock_guard lock(mutex_);
    if (!status.ok() && failed_.ok()) failed_ = std::move(status);
    --in_flight_;
    --lane_in_flight_[lane];
    in_flight_bytes_ -= bytes;
    answered_.notify_all();
  });
  return Status::Ok();
}

Status TreeSync::Drain(std::optional<size_t> lane) {
  std::unique_lock lock(mutex_);
  answered_.wait(lock, [&] { return (lane ? lane_in_flight_[*lane] : in_flight_) == 0; });
  return failed_;
}

Result<proto::Response> TreeSync::Call(proto::Request request, std::string data, size_t lane) {
  {
    std::lock_guard lock(mutex_);
    if (!failed_.ok()) return failed_;
  }
  net::Bulk trailer = data.empty() ? nullptr : std::make_shared<const std::string>(std::move(data));
  SHOAL_ASSIGN_OR_RETURN(net::Reply reply, lanes_[lane]->CallSync(std::move(request), trailer, /*retry_safe=*/false));
  SHOAL_RETURN_IF_ERROR(proto::StatusOf(reply.response));
  return std::move(reply.response);
}

}  // namespace shoal::server
