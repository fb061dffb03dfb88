#include "fuse/adapter.h"
#include "fuse/adapter_internal.h"

#include <fcntl.h>
#include <sys/file.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include <spdlog/spdlog.h>

#include "proto/messages.h"

namespace shoal::fuse {
namespace {

// ---------------------------------------------------------------- session

void Init(void* userdata, fuse_conn_info* conn) {
  Adapter& adapter = *static_cast<Adapter*>(userdata);
  conn->max_write = adapter.client.max_io_bytes();
  conn->max_readahead = adapter.client.max_io_bytes();
  conn->max_background = 64;
  conn->congestion_threshold = 48;
  // POSIX_ACL: the kernel enforces ACLs and caches them (ls -l asks every file for one).
  // DONT_MASK: the server applies the umask, unless the directory has a default ACL (as open(2)).
  uint32_t wanted = FUSE_CAP_ATOMIC_O_TRUNC | FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS | FUSE_CAP_READDIRPLUS |
                    FUSE_CAP_POSIX_ACL | FUSE_CAP_DONT_MASK |
                    FUSE_CAP_READDIRPLUS_AUTO | FUSE_CAP_PARALLEL_DIROPS | FUSE_CAP_AUTO_INVAL_DATA |
                    FUSE_CAP_ASYNC_READ | FUSE_CAP_ASYNC_DIO | FUSE_CAP_EXPORT_SUPPORT;
  conn->want |= wanted & conn->capable;
  // Names can be expired without locking their directory: needed to cache them for long (notifier.h).
  adapter.notifier.SetExpireSupported(conn->capable & FUSE_CAP_EXPIRE_ONLY);
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;  // the kernel would trust its own sizes: wrong for a shared volume
  spdlog::info("fuse.init max_write={} capable={:#x} want={:#x}", conn->max_write, conn->capable, conn->want);
}

// ---------------------------------------------------------------- names and attributes

void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  // A name not in a directory this mount made and nobody else changed (not cached as such).
  if (Of(req).notifier.Trusted() && Of(req).directory_names.Absent(parent, name))
    return (void)fuse_reply_err(req, ENOENT);
  proto::Request request;
  request.mutable_lookup()->set_parent(parent);
  request.mutable_lookup()->set_name(name);
  const uint64_t writes_since = Of(req).write_behind.Since();
  // Through the transport itself: a "not found" answer still says whether it may be cached.
  Of(req).client.transport().Call(std::move(request), nullptr, /*retry_safe=*/true,
                                  [req, parent, name = std::string(name), writes_since](Result<Reply> reply) {
    Adapter& adapter = Of(req);
    if (reply.ok() && reply->response.status() == static_cast<uint32_t>(Code::kNotFound)) {
      const CacheTimes times = TimesOf(adapter, *reply);
      if (times.negative_s <= 0) return (void)fuse_reply_err(req, ENOENT);
      fuse_entry_param e{};  // ino 0: "no such name", cached for the negative timeout
      e.entry_timeout = times.negative_s;
      if (times.negative_s > Notifier::kUntrustedCacheS) adapter.notifier.NoteEntry(parent, name);
      fuse_reply_entry(req, &e);
      return;
    }
    if (reply.ok())
      if (Status status = proto::StatusOf(reply->response); !status.ok()) reply = std::move(status);
    ReplyEntry(req, reply, [](const proto::Response& r) -> const proto::Entry& { return r.lookup().entry(); }, parent,
               name, writes_since);
  });
}

void Forget(fuse_req_t req, fuse_ino_t, uint64_t) { fuse_reply_none(req); }

void ForgetMulti(fuse_req_t req, size_t, fuse_forget_data*) { fuse_reply_none(req); }

void GetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  // Size and mtime must include this mount's writes still on their way, from any open file.
  auto file = fi != nullptr && !FileOf(fi)->directory ? FileOf(fi) : nullptr;
  // A directory this mount just changed a name in: the change's answer said what it is now.
  if (!file)
    if (auto kept = Of(req).directory_attrs.Take(ino)) {
      Adapter& adapter = Of(req);
      NoteAttr(adapter, kept->attr, kept->ttl_s);
      NoteGranted(adapter, kept->attr, CacheTimes{.attr_s = kept->ttl_s});
      struct stat st = StatOf(kept->attr);
      fuse_reply_attr(req, &st, kept->ttl_s);
      return;
    }
  AfterWrites(req, ino, [req, ino, file] {
    proto::Request request;
    request.mutable_get_attr()->set_node(ino);
    auto reply_attr = [req](const Reply& reply) { ReplyAttr(req, reply.response.get_attr().attr(), reply); };
    if (file) {
      // Through the open file: still answers for a file whose last name was removed.
      AskOnFile(req, file, [ino](uint64_t handle) {
        proto::Request r;
        r.mutable_get_attr()->set_node(ino);
        r.mutable_get_attr()->set_handle(handle);
        return r;
      }, reply_attr);
      return;
    }
    Ask(req, std::move(request), reply_attr);
  });
}

void SetAttr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))
    Of(req).xattrs.Forget(ino);  // chmod rewrites an ACL's mask; chown may drop capabilities
  proto::SetAttrRequest set;
  set.set_node(ino);
  uint32_t fields = 0;
  if (to_set & FUSE_SET_ATTR_MODE) fields |= proto::SET_ATTR_MODE, set.set_mode(attr->st_mode);
  if (to_set & FUSE_SET_ATTR_UID) fields |= proto::SET_ATTR_UID, set.set_uid(attr->st_uid);
  if (to_set & FUSE_SET_ATTR_GID) fields |= proto::SET_ATTR_GID, set.set_gid(attr->st_gid);
  if (to_set & FUSE_SET_ATTR_SIZE) fields |= proto::SET_ATTR_SIZE, set.set_size(attr->st_size);
  if (to_set & FUSE_SET_ATTR_ATIME_NOW) fields |= proto::SET_ATTR_ATIME_NOW;
  else if (to_set & FUSE_SET_ATTR_ATIME)
    fields |= proto::SET_ATTR_ATIME, set.set_atime_ns(NanosFromTimespec(attr->st_atim));
  if (to_set & FUSE_SET_ATTR_MTIME_NOW) fields |= proto::SET_ATTR_MTIME_NOW;
  else if (to_set & FUSE_SET_ATTR_MTIME)
    fields |= proto::SET_ATTR_MTIME, set.set_mtime_ns(NanosFromTimespec(attr->st_mtim));
  set.set_fields(fields);
  *set.mutable_caller() = CallerOf(req);
  // Behind this mount's pending writes: a truncation or new times must come after them.
  auto file = fi != nullptr && !FileOf(fi)->directory ? FileOf(fi) : nullptr;
  AfterWrites(req, ino, [req, file, set = std::move(set)]() mutable {
    auto reply_attr = [req](const Reply& reply) { ReplyAttr(req, reply.response.set_attr().attr(), reply); };
    if (file) {
      AskOnFile(req, file, [set](uint64_t handle) {
        proto::Request r;
        *r.mutable_set_attr() = set;
        r.mutable_set_attr()->set_handle(handle);
        return r;
      }, reply_attr);
      return;
    }
    const uint64_t node = set.node();
    proto::Request request;
    *request.mutable_set_attr() = std::move(set);
    AskChanging(req, std::move(request), {node}, reply_attr);
  });
}

void ReadLink(fuse_req_t req, fuse_ino_t ino) {
  proto::Request request;
  request.mutable_read_link()->set_node(ino);
  Ask(req, std::move(request), [req](const Reply& reply) { fuse_reply_readlink(req, reply.response.read_link().target().c_str()); });
}

void MakeNode(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  proto::Request request;
  auto* make = request.mutable_make_node();
  make->set_parent(parent);
  make->set_name(name);
  make->set_mode(mode);
  make->set_rdev(rdev);
  *make->mutable_caller() = CallerOf(req);
  auto change = Of(req).directory_attrs.Begin({parent});
  Of(req).directory_names.Adding(parent, name);
  const uint64_t names_epoch = Of(req).directory_names.epoch();
  Of(req).client.Call(std::move(request), nullptr, [req, parent, name = std::string(name), change, names_epoch,
                                                    directory = S_ISDIR(mode)](Result<Reply> reply) {
    EndChange(Of(req), change, reply);
    Adapter& adapter = Of(req);
    if (directory && reply.ok() && reply->response.status() == 0 && adapter.notifier.Trusted() &&
        TimesOf(adapter, reply.value()).attr_s > Notifier::kUntrustedCacheS)
      adapter.directory_names.Made(reply->response.make_node().entry().attr().ino(), names_epoch);
    ReplyEntry(req, reply, [](const proto::Response& r) -> const proto::Entry& { return r.make_node().entry(); }, parent,
               name);
  });
}

void MakeDirectory(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  MakeNode(req, parent, name, (mode & 07777) | S_IFDIR, 0);
}

void Symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  proto::Request request;
  auto* symlink = request.mutable_symlink();
  symlink->set_parent(parent);
  symlink->set_name(name);
  symlink->set_target(target);
  *symlink->mutable_caller() = CallerOf(req);
  auto change = Of(req).directory_attrs.Begin({parent});
  Of(req).directory_names.Adding(parent, name);
  Of(req).client.Call(std::move(request), nullptr, [req, parent, name = std::string(name), change](Result<Reply> reply) {
    EndChange(Of(req), change, reply);
    ReplyEntry(req, reply, [](const proto::Response& r) -> const proto::Entry& { return r.symlink().entry(); }, parent,
               name);
  });
}

void Link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t new_parent, const char* new_name) {
  proto::Request request;
  request.mutable_link()->set_node(ino);
  request.mutable_link()->set_new_parent(new_parent);
  request.mutable_link()->set_new_name(new_name);
  const uint64_t writes_since = Of(req).write_behind.Since();
  auto change = Of(req).directory_attrs.Begin({new_parent});
  Of(req).directory_names.Adding(new_parent, new_name);
  Of(req).client.Call(std::move(request), nullptr,
                      [req, new_parent, new_name = std::string(new_name), writes_since, change](Result<Reply> reply) {
    EndChange(Of(req), change, reply);
    ReplyEntry(req, reply, [](const proto::Response& r) -> const proto::Entry& { return r.link().entry(); }, new_parent,
               new_name, writes_since);
  });
}

// Makes every lazily opened file real on the server (see Adapter::lazy). Runs on a FUSE thread.
void MaterializeLazyOpens(Adapter& adapter) {
  std::vector<std::shared_ptr<OpenFile>> files;
  {
    std::lock_guard lock(adapter.lazy_mutex);
    for (auto& weak : adapter.lazy)
      if (auto file = weak.lock()) files.push_back(std::move(file));
    adapter.lazy.clear();
  }
  for (auto& file : files) (void)adapter.client.Materialize(file);
}

void Remove(fuse_req_t req, fuse_ino_t parent, const char* name, bool directory) {
  MaterializeLazyOpens(Of(req));
  proto::Request request;
  request.mutable_remove()->set_parent(parent);
  request.mutable_remove()->set_name(name);
  request.mutable_remove()->set_directory(directory);
  if (directory) Of(req).directory_attrs.Clear();  // it may be kept itself
  AskChanging(req, std::move(request), {parent}, [req, parent, name = std::string(name)](const Reply&) {
    Of(req).directory_names.Removed(parent, name);
    ReplyOk(req);
  });
}

void Unlink(fuse_req_t req, fuse_ino_t parent, const char* name) { Remove(req, parent, name, false); }
void RemoveDirectory(fuse_req_t req, fuse_ino_t parent, const char* name) { Remove(req, parent, name, true); }

void Rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t new_parent, const char* new_name,
            unsigned int flags) {
  MaterializeLazyOpens(Of(req));
  proto::Request request;
  auto* rename = request.mutable_rename();
  rename->set_parent(parent);
  rename->set_name(name);
  rename->set_new_parent(new_parent);
  rename->set_new_name(new_name);
  rename->set_flags(flags);
  Of(req).directory_attrs.Clear();  // the node renamed may be a directory kept, its ctime about to change
  Of(req).directory_names.Adding(new_parent, new_name);
  // Done, the old name is gone: a rename onto another link of the same file, which leaves both
  // names, never gets here (the kernel answers it itself).
  AskChanging(req, std::move(request), {parent, new_parent},
              [req, parent, name = std::string(name), flags](const Reply&) {
                if (!(flags & RENAME_EXCHANGE)) Of(req).directory_names.Removed(parent, name);
                ReplyOk(req);
              });
}

void StatFs(fuse_req_t req, fuse_ino_t) {
  proto::Request request;
  request.mutable_stat_fs();
  Ask(req, std::move(request), [req](const Reply& reply) {
    const auto& s = reply.response.stat_fs();
    struct statvfs st {};
    st.f_bsize = s.block_size();
    st.f_frsize = s.fragment_size();
    st.f_blocks = s.blocks();
    st.f_bfree = s.blocks_free();
    st.f_bavail = s.blocks_available();
    st.f_files = s.files();
    st.f_ffree = s.files_free();
    st.f_favail = s.files_free();
    st.f_namemax = s.name_max();
    fuse_reply_statfs(req, &st);
  });
}

// ---------------------------------------------------------------- xattrs

void SetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size, int flags) {
  Of(req).xattrs.Forget(ino);
  proto::Request request;
  auto* set = request.mutable_set_xattr();
  set->set_node(ino);
  set->set_name(name);
  set->set_value(std::string(value, size));
  set->set_flags(flags);
  AskChanging(req, std::move(request), {ino}, [req](const Reply&) { ReplyOk(req); });
}

void ReplyXattr(fuse_req_t req, size_t size, const XattrCache::Answer& answer) {
  if (answer.error != 0) {
    fuse_reply_err(req, answer.error);
  } else if (size == 0) {
    fuse_reply_xattr(req, answer.value.size());
  } else if (answer.value.size() > size) {
    fuse_reply_err(req, ERANGE);
  } else {
    fuse_reply_buf(req, answer.value.data(), answer.value.size());
  }
}

void GetXattrUncached(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  proto::Request request;
  request.mutable_get_xattr()->set_node(ino);
  request.mutable_get_xattr()->set_name(name);
  request.mutable_get_xattr()->set_size(static_cast<uint32_t>(std::min<size_t>(size, UINT32_MAX)));
  Ask(req, std::move(request), [req, size](const Reply& reply) {
    const auto& got = reply.response.get_xattr();
    if (size == 0) {
      fuse_reply_xattr(req, got.size());
    } else {
      fuse_reply_buf(req, got.value().data(), got.value().size());
    }
  });
}

void GetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  Adapter& adapter = Of(req);
  if (auto cached = adapter.xattrs.Find(ino, name)) return ReplyXattr(req, size, *cached);
  // Ask for the whole value (up to what the cache keeps) whatever the caller's size, so that the
  // usual size-then-value pair of calls costs one round trip.
  proto::Request request;
  request.mutable_get_xattr()->set_node(ino);
  request.mutable_get_xattr()->set_name(name);
  request.mutable_get_xattr()->set_size(static_cast<uint32_t>(std::max(size, XattrCache::kValueBytesMax)));
  // Through the transport itself: an error answer still says whether it may be cached.
  adapter.client.transport().Call(std::move(request), nullptr, /*retry_safe=*/true,
                                  [req, ino, size, name = std::string(name)](Result<Reply> reply) {
    Adapter& adapter = Of(req);
    XattrCache::Answer answer;
    const double keep_s = reply.ok() ? TimesOf(adapter, *reply).attr_s : 0;
    if (reply.ok())
      if (Status status = proto::StatusOf(reply->response); !status.ok()) reply = std::move(status);
    if (!reply.ok()) {
      answer.error = Errno(reply.status());
      if (answer.error != ENODATA && answer.error != ENOTSUP && answer.error != ERANGE) {
        fuse_reply_err(req, answer.error);
        return;
      }
      if (answer.error == ERANGE) {  // larger than the cache keeps: ask again as the caller asked
        GetXattrUncached(req, ino, name.c_str(), size);
        return;
      }
    } else {
      answer.value = reply->response.get_xattr().value();
    }
    adapter.xattrs.Store(ino, name, answer, keep_s);
    ReplyXattr(req, size, answer);
  });
}

void ListXattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  proto::Request request;
  request.mutable_list_xattr()->set_node(ino);
  request.mutable_list_xattr()->set_size(static_cast<uint32_t>(std::min<size_t>(size, UINT32_MAX)));
  Ask(req, std::move(request), [req, size](const Reply& reply) {
    const auto& list = reply.response.list_xattr();
    if (size == 0) {
      fuse_reply_xattr(req, list.size());
    } else {
      fuse_reply_buf(req, list.names().data(), list.names().size());
    }
  });
}

void RemoveXattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  Of(req).xattrs.Forget(ino);
  proto::Request request;
  request.mutable_remove_xattr()->set_node(ino);
  request.mutable_remove_xattr()->set_name(name);
  AskChanging(req, std::move(request), {ino}, [req](const Reply&) { ReplyOk(req); });
}

}  // namespace

void RegisterFileOperations(fuse_lowlevel_ops& ops);  // adapter_files.cc

const fuse_lowlevel_ops& Operations() {
  static const fuse_lowlevel_ops ops = [] {
    fuse_lowlevel_ops o{};
    o.init = Init;
    o.lookup = Lookup;
    o.forget = Forget;
    o.forget_multi = ForgetMulti;
    o.getattr = GetAttr;
    o.setattr = SetAttr;
    o.readlink = ReadLink;
    o.mknod = MakeNode;
    o.mkdir = MakeDirectory;
    o.symlink = Symlink;
    o.link = Link;
    o.unlink = Unlink;
    o.rmdir = RemoveDirectory;
    o.rename = Rename;
    o.statfs = StatFs;
    o.setxattr = SetXattr;
    o.getxattr = GetXattr;
    o.listxattr = ListXattr;
    o.removexattr = RemoveXattr;
    RegisterFileOperations(o);
    return o;
  }();
  return ops;
}

}  // namespace shoal::fuse
