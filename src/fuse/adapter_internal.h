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

inline fuse_entry_param EntryOf(const Adapter& adapter, const proto::Attr& attr) {
  fuse_entry_param e{};
  e.ino = attr.ino();
  e.attr = StatOf(attr);
  e.attr_timeout = adapter.options.attr_timeout_s;
  e.entry_timeout = adapter.options.entry_timeout_s;
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

// Everything the client learns from attributes the server sent.
inline void NoteAttr(Adapter& adapter, const proto::Attr& attr) {
  adapter.versions.NoteSeen(attr);
  adapter.xattrs.NoteAttr(attr.ino(), attr.xattr_free());
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

// Replies with the entry in `entry` (from lookup, mknod, ...), or the error. ENOENT from a lookup
// becomes a negative entry the kernel may cache. For an existing node, `writes_since` is
// WriteBehind::Since() from before the request was sent: attributes read while a write of this
// mount to the node was pending would take the kernel's size back, so they are read again.
inline void ReplyEntry(fuse_req_t req, const Result<Reply>& reply, const proto::Entry& (*pick)(const proto::Response&),
                       std::optional<uint64_t> writes_since = std::nullopt) {
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
  NoteAttr(adapter, attr);
  fuse_entry_param e = EntryOf(adapter, attr);
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

inline void ReplyAttr(fuse_req_t req, const proto::Attr& attr) {
  Adapter& adapter = Of(req);
  NoteAttr(adapter, attr);
  struct stat st = StatOf(attr);
  fuse_reply_attr(req, &st, adapter.options.attr_timeout_s);
}

}  // namespace shoal::fuse
