// Helpers shared by the adapter's callback files (adapter.cc, adapter_files.cc). Internal.
#pragma once

#include <sys/stat.h>

#include <functional>
#include <optional>
#include <string>

#include "common/clock.h"
#include "fuse/adapter.h"

namespace shoal::fuse {

using client::OpenFile;
using client::Reply;

inline Adapter& Of(fuse_req_t req) { return *static_cast<Adapter*>(fuse_req_userdata(req)); }

inline std::shared_ptr<OpenFile>& FileOf(fuse_file_info* fi) { return *reinterpret_cast<std::shared_ptr<OpenFile>*>(fi->fh); }

inline void SetFile(fuse_file_info* fi, std::shared_ptr<OpenFile> file) {
  fi->fh = reinterpret_cast<uint64_t>(new std::shared_ptr<OpenFile>(std::move(file)));
}

inline struct stat StatOf(const proto::Attr& attr) {
  struct stat st {};
  st.st_ino = attr.ino();
  st.st_mode = attr.mode();
  st.st_nlink = attr.nlink();
  st.st_uid = attr.uid();
  st.st_gid = attr.gid();
  st.st_rdev = attr.rdev();
  st.st_size = static_cast<off_t>(attr.size());
  st.st_blocks = static_cast<blkcnt_t>(attr.blocks());
  st.st_blksize = attr.blksize() ? attr.blksize() : 4096;
  st.st_atim = TimespecFromNanos(attr.atime_ns());
  st.st_mtim = TimespecFromNanos(attr.mtime_ns());
  st.st_ctim = TimespecFromNanos(attr.ctime_ns());
  return st;
}

// How long the kernel may keep what `reply` says: long only while the cache is trusted and the
// server tracks the answer (docs/design.md, "Caching with invalidation").
inline CacheTimes TimesOf(const Adapter& adapter, const Reply& reply) {
  return adapter.notifier.TimesFor(reply.response.no_cache() || reply.raced_push);
}

// Records what the kernel is given for long, so that it can all be dropped when the lease lapses.
inline void NoteGranted(Adapter& adapter, const proto::Attr& attr, const CacheTimes& times) {
  if (times.attr_s > Notifier::kUntrustedCacheS) adapter.notifier.NoteNode(attr.ino(), S_ISDIR(attr.mode()));
}

// The entry for name `name` in `parent`, kept as long as `times` say.
inline fuse_entry_param EntryOf(Adapter& adapter, const proto::Attr& attr, const CacheTimes& times, fuse_ino_t parent,
                                std::string_view name) {
  fuse_entry_param e{};
  e.ino = attr.ino();
  e.attr = StatOf(attr);
  e.attr_timeout = times.attr_s;
  e.entry_timeout = times.entry_s;
  NoteGranted(adapter, attr, times);
  if (times.entry_s > Notifier::kUntrustedCacheS) adapter.notifier.NoteEntry(parent, name);
  return e;
}

// An entry whose answer's times are not known here: kept no longer than before invalidation.
inline fuse_entry_param EntryOf(const Adapter& adapter, const proto::Attr& attr) {
  fuse_entry_param e{};
  e.ino = attr.ino();
  e.attr = StatOf(attr);
  const CacheTimes times = adapter.notifier.TimesFor(/*uncacheable=*/false);
  e.attr_timeout = std::min(times.attr_s, Notifier::kUntrustedCacheS);
  e.entry_timeout = std::min(times.entry_s, Notifier::kUntrustedCacheS);
  return e;
}

inline proto::Caller CallerOf(fuse_req_t req) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  proto::Caller caller;
  caller.set_uid(ctx->uid);
  caller.set_gid(ctx->gid);
  caller.set_umask(ctx->umask);
  return caller;
}

// Everything the client learns from attributes the server sent, trusted for `attr_s`.
inline void NoteAttr(Adapter& adapter, const proto::Attr& attr, double attr_s) {
  adapter.versions.NoteSeen(attr);
  adapter.xattrs.NoteAttr(attr.ino(), attr.xattr_free(), attr_s);
}
inline void NoteAttr(Adapter& adapter, const proto::Attr& attr) {
  NoteAttr(adapter, attr, std::min(adapter.options.attr_timeout_s, Notifier::kUntrustedCacheS));
}

inline int Errno(const Status& status) { return ErrnoFromCode(status.code()); }

// Replies with the entry of node `ino` once this mount's pending writes to it have landed, with
// attributes read after them.
inline void ReplyEntryAfterWrites(fuse_req_t req, uint64_t ino) {
  Of(req).write_behind.AfterWrites(ino, [req, ino] {
    proto::Request request;
    request.mutable_get_attr()->set_node(ino);
    Of(req).client.Call(std::move(request), nullptr, [req](Result<Reply> reply) {
      Adapter& adapter = Of(req);
      if (!reply.ok()) {
        fuse_reply_err(req, Errno(reply.status()));
        return;
      }
      NoteAttr(adapter, reply->response.get_attr().attr());
      fuse_entry_param e = EntryOf(adapter, reply->response.get_attr().attr());
      fuse_reply_entry(req, &e);
    });
  });
}

// Replies with the entry in `entry` (from lookup, mknod, ...) for name `name` in `parent`, or the
// error. For an existing node, `writes_since` is
// WriteBehind::Since() from before the request was sent: attributes read while a write of this
// mount to the node was pending would take the kernel's size back, so they are read again.
inline void ReplyEntry(fuse_req_t req, const Result<Reply>& reply, const proto::Entry& (*pick)(const proto::Response&),
                       fuse_ino_t parent, std::string_view name, std::optional<uint64_t> writes_since = std::nullopt) {
  Adapter& adapter = Of(req);
  if (!reply.ok()) {
    fuse_reply_err(req, Errno(reply.status()));
    return;
  }
  const proto::Attr& attr = pick(reply->response).attr();
  if (writes_since && adapter.write_behind.MayBeStale(attr.ino(), *writes_since)) {
    ReplyEntryAfterWrites(req, attr.ino());
    return;
  }
  const CacheTimes times = TimesOf(adapter, reply.value());
  NoteAttr(adapter, attr, times.attr_s);
  fuse_entry_param e = EntryOf(adapter, attr, times, parent, name);
  fuse_reply_entry(req, &e);
}

// Calls the server and answers `req` with an error or with what `on_ok` replies.
template <typename OnOk>
void Ask(fuse_req_t req, proto::Request request, OnOk on_ok, net::Bulk trailer = nullptr) {
  Of(req).client.Call(std::move(request), std::move(trailer), [req, on_ok = std::move(on_ok)](Result<Reply> reply) {
    if (!reply.ok()) {
      fuse_reply_err(req, Errno(reply.status()));
      return;
    }
    on_ok(*reply);
  });
}

// Ends the change `change` of directories' names or attributes with its reply: keeps what the
// reply says of those directories' attributes for as long as the kernel could keep the reply
// (DirectoryAttrs). Before the kernel hears of the reply, which makes it ask for them.
inline void EndChange(Adapter& adapter, const DirectoryAttrs::Change& change, const Result<Reply>& reply) {
  if (!reply.ok() || reply->response.status() != 0)
    return adapter.directory_attrs.End(change, std::vector<proto::Attr>{}, 0);
  const CacheTimes times = TimesOf(adapter, reply.value());
  adapter.directory_attrs.End(change, reply->response.changed_dirs(), times.attr_s);
}

// Ask, for a change of the names or attributes of directories `dirs`.
template <typename OnOk>
void AskChanging(fuse_req_t req, proto::Request request, std::vector<uint64_t> dirs, OnOk on_ok) {
  Adapter& adapter = Of(req);
  auto change = adapter.directory_attrs.Begin(std::move(dirs));
  adapter.client.Call(std::move(request), nullptr,
                      [req, change = std::move(change), on_ok = std::move(on_ok)](Result<Reply> reply) {
                        EndChange(Of(req), change, reply);
                        if (!reply.ok()) return (void)fuse_reply_err(req, Errno(reply.status()));
                        on_ok(*reply);
                      });
}

template <typename OnOk>
void AskOnFile(fuse_req_t req, std::shared_ptr<OpenFile> file, std::function<proto::Request(uint64_t)> build,
               OnOk on_ok, net::Bulk trailer = nullptr) {
  Of(req).client.CallOnFile(std::move(file), std::move(build), std::move(trailer),
                            [req, on_ok = std::move(on_ok)](Result<Reply> reply) {
                              if (!reply.ok()) {
                                fuse_reply_err(req, Errno(reply.status()));
                                return;
                              }
                              on_ok(*reply);
                            });
}

template <typename OnOk>
void AskOnFile(fuse_req_t req, fuse_file_info* fi, std::function<proto::Request(uint64_t)> build, OnOk on_ok,
               net::Bulk trailer = nullptr) {
  AskOnFile(req, FileOf(fi), std::move(build), std::move(on_ok), std::move(trailer));
}

// Runs `then` once this mount's writes to `ino` that arrived before now have landed (write-behind:
// client/write_behind.h). `then` may run later, on another thread: whatever it needs from the
// callback's arguments (fi, pointers into libfuse's buffers) must be copied into it first.
inline void AfterWrites(fuse_req_t req, fuse_ino_t ino, std::function<void()> then) {
  Of(req).write_behind.AfterWrites(ino, std::move(then));
}

inline void ReplyOk(fuse_req_t req) { fuse_reply_err(req, 0); }

inline void ReplyAttr(fuse_req_t req, const proto::Attr& attr, const Reply& reply) {
  Adapter& adapter = Of(req);
  const CacheTimes times = TimesOf(adapter, reply);
  NoteAttr(adapter, attr, times.attr_s);
  NoteGranted(adapter, attr, times);
  struct stat st = StatOf(attr);
  fuse_reply_attr(req, &st, times.attr_s);
}

}  // namespace shoal::fuse
