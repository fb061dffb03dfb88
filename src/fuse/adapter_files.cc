// The FUSE adapter: open files and directories, data, and locks.
#include <fcntl.h>
#include <sys/file.h>

#include <algorithm>
#include <future>
#include <thread>

#include <spdlog/spdlog.h>

#include "fuse/adapter_internal.h"

namespace shoal::fuse {
namespace {

proto::Lock LockOf(const struct flock& fl) {
  proto::Lock lock;
  lock.set_type(fl.l_type == F_RDLCK ? proto::LOCK_TYPE_READ
                : fl.l_type == F_WRLCK ? proto::LOCK_TYPE_WRITE
                                       : proto::LOCK_TYPE_UNLOCK);
  lock.set_start(fl.l_start);
  lock.set_length(fl.l_len);
  lock.set_pid(fl.l_pid);
  return lock;
}

Result<Reply> WaitOnFile(Adapter& adapter, std::shared_ptr<OpenFile> file, std::function<proto::Request(uint64_t)> build) {
  std::promise<Result<Reply>> promise;
  auto future = promise.get_future();
  adapter.client.CallOnFile(std::move(file), std::move(build), nullptr,
                            [&promise](Result<Reply> reply) { promise.set_value(std::move(reply)); });
  return future.get();
}

// Takes a lock, waiting (on this FUSE thread) while another owner holds a conflicting one if
// `wait` is set. The server never blocks; we ask again with backoff until granted or interrupted.
int TakeLock(fuse_req_t req, fuse_file_info* fi, std::function<proto::Request(uint64_t)> build, bool wait) {
  Adapter& adapter = Of(req);
  // Data written under a lock must have landed before it is let go (or taken, in order).
  adapter.write_behind.WaitForWrites(FileOf(fi)->node);
  auto delay = std::chrono::milliseconds(5);
  bool barrier_done = false;
  for (;;) {
    auto reply = WaitOnFile(adapter, FileOf(fi), build);
    if (reply.ok()) {
      adapter.client.NoteLock(FileOf(fi), build(0).set_lock());  // taken again after a failover
      return 0;
    }
    if (reply.status().code() == Code::kBusy) {
      // A new primary's grace period: the locks held before the failover are being taken again
      // first. Not an answer, even for F_SETLK: ask again when it is over.
      if (fuse_req_interrupted(req)) return EINTR;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if (reply.status().code() == Code::kWouldBlock && !wait && !barrier_done) {
      // The holder may have just closed: its release can still be on its way from another FUSE
      // thread (which may first wait for the file's writes and lock drops). Ask once more after
      // the releases under way have been sent (bounded) and everything sent has been answered.
      barrier_done = true;
      for (int waited_ms = 0; adapter.client.ReleasesUnsent() > 0 && waited_ms < 2000; ++waited_ms)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      proto::Request ping;
      ping.mutable_ping();
      (void)adapter.client.CallSync(std::move(ping));
      continue;
    }
    if (reply.status().code() != Code::kWouldBlock || !wait) return Errno(reply.status());
    if (fuse_req_interrupted(req)) return EINTR;
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(100));
  }
}

// ---------------------------------------------------------------- files

void RememberLazy(Adapter& adapter, const std::shared_ptr<OpenFile>& file) {
  std::lock_guard lock(adapter.lazy_mutex);
  std::erase_if(adapter.lazy, [](const auto& weak) { return weak.expired(); });
  adapter.lazy.push_back(file);
}

// Whether a POSIX lock was ever taken on `ino` through this mount (then its closes must reach the
// server, to drop the closing owner's locks).
bool LockedThroughMount(Adapter& adapter, fuse_ino_t ino) {
  std::lock_guard lock(adapter.locked_mutex);
  return adapter.locked.contains(ino);
}

bool LazyOpenable(int flags) {
  return (flags & O_ACCMODE) == O_RDONLY && !(flags & (O_TRUNC | O_CREAT));
}

// An open the server answers (writable or truncating), with the handle it gives.
void OpenOnServer(fuse_req_t req, fuse_ino_t ino, int flags) {
  proto::Request request;
  request.mutable_open()->set_node(ino);
  request.mutable_open()->set_flags(flags);
  Of(req).client.Call(std::move(request), nullptr, [req, ino, flags](Result<Reply> reply) {
    if (!reply.ok()) {
      fuse_reply_err(req, Errno(reply.status()));
      return;
    }
    Adapter& adapter = Of(req);
    const auto& open = reply->response.open();
    fuse_file_info info{};
    info.flags = flags;
    NoteAttr(adapter, open.attr());
    info.keep_cache = adapter.versions.KeepOnOpen(ino) && !(flags & O_TRUNC);
    SetFile(&info, adapter.client.Adopt(ino, flags, /*directory=*/false, open.handle()));
    if (fuse_reply_open(req, &info) != 0) {
      adapter.client.ReleaseComing();
      adapter.client.Release(FileOf(&info));
      delete &FileOf(&info);
    }
  });
}

void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Adapter& adapter = Of(req);
  if (LazyOpenable(fi->flags)) {
    auto file = adapter.client.AdoptUnopened(ino, fi->flags, /*directory=*/false);
    RememberLazy(adapter, file);
    fi->keep_cache = adapter.versions.KeepOnOpen(ino);
    // Its close(2) is not told to this mount (one request less per open; php_like, say) unless a
    // POSIX lock was taken on the file through the mount: dropping the closing process's POSIX
    // locks is all a read-only close would do here. Locks taken later through this descriptor go
    // when it is released (Client::Release); those its process takes through another descriptor
    // go when that one is closed, not at this close. That is the one departure from POSIX, and
    // -o strict-locks undoes it.
    fi->noflush = !adapter.options.strict_locks && !LockedThroughMount(adapter, ino);
    SetFile(fi, std::move(file));
    if (fuse_reply_open(req, fi) != 0) delete &FileOf(fi);
    return;
  }
  // Behind this mount's pending writes to the file: O_TRUNC must come after them, and the
  // attributes in the answer decide whether the cached pages are kept.
  const int flags = fi->flags;
  AfterWrites(req, ino, [req, ino, flags] { OpenOnServer(req, ino, flags); });
}

void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi) {
  proto::Request request;
  auto* create = request.mutable_create();
  create->set_parent(parent);
  create->set_name(name);
  create->set_mode(mode);
  create->set_flags(fi->flags);
  *create->mutable_caller() = CallerOf(req);
  const int flags = fi->flags;
  auto change = Of(req).directory_attrs.Begin({parent});
  Of(req).directory_names.Adding(parent, name);
  Of(req).client.Call(std::move(request), nullptr, [req, flags, parent, name = std::string(name), change](Result<Reply> reply) {
    EndChange(Of(req), change, reply);
    if (!reply.ok()) {
      fuse_reply_err(req, Errno(reply.status()));
      return;
    }
    Adapter& adapter = Of(req);
    const auto& created = reply->response.create();
    const CacheTimes times = TimesOf(adapter, *reply);
    fuse_entry_param e = EntryOf(adapter, created.entry().attr(), times, parent, name);
    NoteAttr(adapter, created.entry().attr(), times.attr_s);
    adapter.versions.KeepOnOpen(e.ino);
    fuse_file_info info{};
    info.flags = flags;
    SetFile(&info, adapter.client.Adopt(e.ino, flags, /*directory=*/false, created.handle()));
    if (fuse_reply_create(req, &e, &info) != 0) {
      adapter.client.ReleaseComing();
      adapter.client.Release(FileOf(&info));
      delete &FileOf(&info);
    }
  });
}

void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info* fi) {
  AfterWrites(req, ino, [req, size, offset, file = FileOf(fi)] {
    Of(req).client.Read(file, offset, static_cast<uint32_t>(size), [req](Result<Reply> reply) {
      if (!reply.ok()) return (void)fuse_reply_err(req, Errno(reply.status()));
      fuse_reply_buf(req, reply->data().data(), reply->data().size());
    });
  });
}

// Answered once the client library has the data (write-behind, client/write_behind.h), unless
// the write must wait for the server's answer (O_APPEND) or for room in the mount's budget.
void Write(fuse_req_t req, fuse_ino_t, const char* data, size_t size, off_t offset, fuse_file_info* fi) {
  const bool append = fi->flags & O_APPEND;
  Of(req).write_behind.Write(FileOf(fi), offset, std::string_view(data, size), append,
                             [req](Result<uint32_t> written) {
                               if (!written.ok()) {
                                 fuse_reply_err(req, Errno(written.status()));
                                 return;
                               }
                               fuse_reply_write(req, *written);
                             });
}

// close(2): the file's pending writes land first, and one that failed after it was answered is
// returned here (close returns flush's error; release cannot return one). It stays for fsync: the
// close may be another process's, sharing the open file.
void Flush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  const uint64_t owner = fi->lock_owner;
  AfterWrites(req, ino, [req, ino, owner, file = FileOf(fi)] {
    Adapter& adapter = Of(req);
    const int failed = Errno(client::WriteBehind::ErrorOf(*file));  // 0 if none; kept for fsync
    // Nothing on the server to let go of unless a lock was taken through the mount.
    if (!LockedThroughMount(adapter, ino)) return (void)fuse_reply_err(req, failed);
    // The closing owner's locks go even when close(2) reports an error.
    AskOnFile(req, file, [owner](uint64_t handle) {
      proto::Request r;
      r.mutable_flush()->set_handle(handle);
      r.mutable_flush()->set_owner(owner);
      return r;
    }, [req, failed, owner, ino](const Reply&) {
      Of(req).client.ForgetLocks(ino, owner);  // close(2) dropped them on the server
      fuse_reply_err(req, failed);
    });
  });
}

// The server lets go of the file once the writes sent through it have landed.
void Release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  std::shared_ptr<OpenFile> file = std::move(FileOf(fi));
  delete &FileOf(fi);
  Of(req).client.ReleaseComing();
  AfterWrites(req, ino, [req, file] {
    Adapter& adapter = Of(req);
    if (client::WriteBehind::ErrorUntold(*file))  // written after the last close
      spdlog::error("write_behind.unreported node={} error=\"{}\"", file->node,
                    client::WriteBehind::TakeError(*file).ToString());
    adapter.client.Release(file);
    ReplyOk(req);
  });
}

// The pending writes land, then the server syncs; a write that failed after it was answered is
// this fsync's error.
void Fsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
  AfterWrites(req, ino, [req, datasync, file = FileOf(fi)] {
    AskOnFile(req, file, [datasync](uint64_t handle) {
      proto::Request r;
      r.mutable_fsync()->set_handle(handle);
      r.mutable_fsync()->set_data_only(datasync != 0);
      return r;
    }, [req, file](const Reply&) { fuse_reply_err(req, Errno(client::WriteBehind::TakeError(*file))); });
  });
}

void Fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length, fuse_file_info* fi) {
  AfterWrites(req, ino, [req, mode, offset, length, file = FileOf(fi)] {
    AskOnFile(req, file, [mode, offset, length](uint64_t handle) {
      proto::Request r;
      r.mutable_fallocate()->set_handle(handle);
      r.mutable_fallocate()->set_mode(mode);
      r.mutable_fallocate()->set_offset(offset);
      r.mutable_fallocate()->set_length(length);
      return r;
    }, [req](const Reply&) { ReplyOk(req); });
  });
}

void Seek(fuse_req_t req, fuse_ino_t ino, off_t offset, int whence, fuse_file_info* fi) {
  AfterWrites(req, ino, [req, offset, whence, file = FileOf(fi)] {
    AskOnFile(req, file, [offset, whence](uint64_t handle) {
      proto::Request r;
      r.mutable_seek()->set_handle(handle);
      r.mutable_seek()->set_offset(offset);
      r.mutable_seek()->set_whence(whence);
      return r;
    }, [req](const Reply& reply) { fuse_reply_lseek(req, static_cast<off_t>(reply.response.seek().offset())); });
  });
}

// ---------------------------------------------------------------- directories

// Directories open without a round trip, like read-only files: the server sees the directory
// only when a listing is not in the kernel's cache. The kernel keeps listings (cache_readdir)
// and checks them itself against the directory's mtime, which it refreshes with the attribute
// timeout, and drops them when this mount changes the directory.
void OpenDirectory(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Adapter& adapter = Of(req);
  auto file = adapter.client.AdoptUnopened(ino, O_RDONLY | O_DIRECTORY, /*directory=*/true);
  RememberLazy(adapter, file);
  SetFile(fi, std::move(file));
  fi->cache_readdir = 1;
  fi->keep_cache = 1;
  if (fuse_reply_open(req, fi) != 0) delete &FileOf(fi);
}

void ReadDirectory(fuse_req_t req, size_t size, off_t offset, fuse_file_info* fi, bool plus) {
  // The smallest entry takes 24 (plain) or 152 (plus) bytes of the kernel's buffer.
  const uint32_t entries_max = static_cast<uint32_t>(size / (plus ? 152 : 24) + 1);
  const uint64_t writes_since = Of(req).write_behind.Since();
  Of(req).directory_attrs.Forget(FileOf(fi)->node);  // listing it may change its atime
  AskOnFile(req, fi, [offset, entries_max, plus](uint64_t handle) {
    proto::Request r;
    auto* read_dir = r.mutable_read_dir();
    read_dir->set_handle(handle);
    read_dir->set_cookie(static_cast<uint64_t>(offset));
    read_dir->set_max_entries(entries_max);
    read_dir->set_plus(plus);
    return r;
  }, [req, size, plus, writes_since, directory = FileOf(fi)->node](const Reply& reply) {
    Adapter& adapter = Of(req);
    const CacheTimes times = TimesOf(adapter, reply);
    std::string buffer(size, '\0');
    size_t used = 0;
    for (const auto& entry : reply.response.read_dir().entries()) {
      const bool dot = entry.name() == "." || entry.name() == "..";
      size_t room = size - used;
      size_t needed = 0;
      if (plus) {
        fuse_entry_param e{};
        // Attributes read while a write of this mount to the node was pending would take the
        // kernel's size back: such an entry goes without them (ino 0), as "." and ".." do.
        if (dot || adapter.write_behind.MayBeStale(entry.attr().ino(), writes_since)) {
          e.attr.st_ino = entry.attr().ino();
          e.attr.st_mode = entry.type() << 12;
        } else {
          NoteAttr(adapter, entry.attr(), times.attr_s);
          e = EntryOf(adapter, entry.attr(), times, directory, entry.name());
        }
        needed = fuse_add_direntry_plus(req, buffer.data() + used, room, entry.name().c_str(), &e, entry.cookie());
      } else {
        struct stat st {};
        st.st_ino = entry.attr().ino();
        st.st_mode = entry.type() << 12;
        needed = fuse_add_direntry(req, buffer.data() + used, room, entry.name().c_str(), &st, entry.cookie());
      }
      if (needed > room) break;  // the rest comes with the next call, from this entry's cookie
      used += needed;
    }
    fuse_reply_buf(req, buffer.data(), used);
  });
}

void ReadDir(fuse_req_t req, fuse_ino_t, size_t size, off_t offset, fuse_file_info* fi) {
  ReadDirectory(req, size, offset, fi, false);
}

void ReadDirPlus(fuse_req_t req, fuse_ino_t, size_t size, off_t offset, fuse_file_info* fi) {
  ReadDirectory(req, size, offset, fi, true);
}

void ReleaseDirectory(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) { Release(req, ino, fi); }

void FsyncDirectory(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) { Fsync(req, ino, datasync, fi); }

// ---------------------------------------------------------------- locks

void GetLock(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi, struct flock* fl) {
  const uint64_t owner = fi->lock_owner;
  proto::Lock wanted = LockOf(*fl);
  Of(req).write_behind.WaitForWrites(ino);
  AskOnFile(req, fi, [owner, wanted](uint64_t handle) {
    proto::Request r;
    r.mutable_get_lock()->set_handle(handle);
    r.mutable_get_lock()->set_owner(owner);
    *r.mutable_get_lock()->mutable_lock() = wanted;
    return r;
  }, [req, asked = *fl](const Reply& reply) {
    struct flock found = asked;
    const auto& lock = reply.response.get_lock().lock();
    found.l_type = lock.type() == proto::LOCK_TYPE_READ ? F_RDLCK : lock.type() == proto::LOCK_TYPE_WRITE ? F_WRLCK : F_UNLCK;
    if (found.l_type != F_UNLCK) {
      found.l_whence = SEEK_SET;
      found.l_start = static_cast<off_t>(lock.start());
      found.l_len = static_cast<off_t>(lock.length());
      found.l_pid = static_cast<pid_t>(lock.pid());  // 0 when the holder is on another client
    }
    fuse_reply_lock(req, &found);
  });
}

void SetLock(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi, struct flock* fl, int sleep) {
  Adapter& adapter = Of(req);
  if (fl->l_type != F_UNLCK) {
    std::lock_guard lock(adapter.locked_mutex);
    adapter.locked.insert(ino);
  }
  const uint64_t owner = fi->lock_owner;
  proto::Lock wanted = LockOf(*fl);
  fuse_reply_err(req, TakeLock(req, fi, [owner, wanted](uint64_t handle) {
    proto::Request r;
    r.mutable_set_lock()->set_handle(handle);
    r.mutable_set_lock()->set_owner(owner);
    *r.mutable_set_lock()->mutable_lock() = wanted;
    return r;
  }, sleep != 0));
}

void Flock(fuse_req_t req, fuse_ino_t, fuse_file_info* fi, int op) {
  proto::Lock wanted;
  wanted.set_type((op & LOCK_SH) ? proto::LOCK_TYPE_READ : (op & LOCK_EX) ? proto::LOCK_TYPE_WRITE : proto::LOCK_TYPE_UNLOCK);
  fuse_reply_err(req, TakeLock(req, fi, [wanted](uint64_t handle) {
    proto::Request r;
    r.mutable_set_lock()->set_handle(handle);
    r.mutable_set_lock()->set_whole_file(true);
    *r.mutable_set_lock()->mutable_lock() = wanted;
    return r;
  }, !(op & LOCK_NB)));
}

}  // namespace

void RegisterFileOperations(fuse_lowlevel_ops& o) {
  o.open = Open;
  o.create = Create;
  o.read = Read;
  o.write = Write;
  o.flush = Flush;
  o.release = Release;
  o.fsync = Fsync;
  o.fallocate = Fallocate;
  o.lseek = Seek;
  o.opendir = OpenDirectory;
  o.readdir = ReadDir;
  o.readdirplus = ReadDirPlus;
  o.releasedir = ReleaseDirectory;
  o.fsyncdir = FsyncDirectory;
  o.getlk = GetLock;
  o.setlk = SetLock;
  o.flock = Flock;
}

}  // namespace shoal::fuse
