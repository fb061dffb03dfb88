// Helpers shared by the adapter's callback files (adapter.cc, adapter_files.cc). Internal.
#pragma once

#include <sys/stat.h>

#include <functional>
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

// Replies with the entry in `entry` (from lookup, mknod, ...), or the error. ENOENT from a lookup
// becomes a negative entry the kernel may cache.
inline void ReplyEntry(fuse_req_t req, const Result<Reply>& reply, const proto::Entry& (*pick)(const proto::Response&)) {
  Adapter& adapter = Of(req);
  if (!reply.ok()) {
    fuse_reply_err(req, Errno(reply.status()));
    return;
  }
  NoteAttr(adapter, pick(reply->response).attr());
  fuse_entry_param e = EntryOf(adapter, pick(reply->response).attr());
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
void AskOnFile(fuse_req_t req, fuse_file_info* fi, std::function<proto::Request(uint64_t)> build, OnOk on_ok,
               net::Bulk trailer = nullptr) {
  Of(req).client.CallOnFile(FileOf(fi), std::move(build), std::move(trailer),
                            [req, on_ok = std::move(on_ok)](Result<Reply> reply) {
                              if (!reply.ok()) {
                                fuse_reply_err(req, Errno(reply.status()));
                                return;
                              }
                              on_ok(*reply);
                            });
}

inline void ReplyOk(fuse_req_t req) { fuse_reply_err(req, 0); }

inline void ReplyAttr(fuse_req_t req, const proto::Attr& attr) {
  Adapter& adapter = Of(req);
  NoteAttr(adapter, attr);
  struct stat st = StatOf(attr);
  fuse_reply_attr(req, &st, adapter.options.attr_timeout_s);
}

}  // namespace shoal::fuse
