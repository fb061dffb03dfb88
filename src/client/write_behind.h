// WriteBehind: file writes answered before the server has them (DESIGN.md §5), sent pipelined on
// the one connection, and the barriers that make everything else see them.
//
// A write at an offset is *accepted* (its callback says "written") as soon as it fits in the
// mount's budget of bytes not yet answered by the server (`in_flight_bytes_max`); beyond that it
// waits, oldest first, and so does its caller. Accepted writes go to the server without waiting
// for each other. Writes ending past `behind_end_bytes_max` and O_APPEND writes are not write-behind:
// they are answered only when the server answers (the brick's file size limit is decided there, an
// append's place too, and an append cannot be resent after a lost connection).
//
// Order. Writes to one node are in flight together only when their byte ranges do not overlap; a
// write overlapping an earlier one still pending is sent once that one has been answered (an
// append overlaps everything). The client orders them rather than the server because the server
// runs larger writes on a worker pool, where two writes of one handle may land in either order, and
// because the transport resends a write caught by a reconnect: even a server keeping per-handle
// order could see a resent old write land after a newer one if both were in flight. Writes that do
// not overlap commute, so a sequential stream is never held back.
//
// Errors. A write that fails after it was accepted is kept on its OpenFile (write_error) and
// returned by the next write or fsync on that file, which clear it (TakeError), and by every flush
// before them (ErrorOf), as NFS does: a flush comes from any close(2) of a descriptor sharing the
// open file (a forked child's exit, say), and must not hide the error from the fsync of the
// process that wrote. A short write is continued with the rest, so that it fails with its real
// error.
//
// Barriers. AfterWrites(node, then) runs `then` once every write to `node` that arrived before the
// call has been answered by the server. Whatever observes a file (read, getattr, setattr, fsync,
// flush, release, locks, fallocate, lseek, opens) goes behind one. Attributes that a request
// returns without a barrier (lookup, readdirplus) may predate pending writes: MayBeStale says so.
//
// Thread-safe. Callbacks run on the calling thread or on the transport's thread, never under the
// lock; they must be quick and must not wait (no WaitForWrites from a callback).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "client/client.h"

namespace shoal::client {

// The budget bounds memory and the server's queue (which cuts a client off at 4,096 requests or
// 256 MiB); the count also bounds the cost of ordering, which compares a node's pending writes.
struct WriteBehindOptions {
  uint64_t in_flight_bytes_max = 16u << 20;    // accepted and not yet answered, for the whole mount
  uint64_t in_flight_writes_max = 64;          // the same, counted in writes
  uint64_t behind_end_bytes_max = 1ull << 40;  // writes ending past this wait for the server (EFBIG)
};

// How a write reaches the server: one request on the file's current handle (Client::CallOnFile in
// a mount, a fake in tests). `done` gets the count the server wrote or its error.
using Written = std::function<void(Result<uint32_t>)>;
using WriteSender = std::function<void(std::shared_ptr<OpenFile> file, uint64_t offset, bool append,
                                       net::Bulk data, Written done)>;
WriteSender SendThrough(Client& client);

class WriteBehind {
 public:
  explicit WriteBehind(WriteSender send, WriteBehindOptions options = {});
  ~WriteBehind();  // waits until every write has been answered (not from the transport's thread)
  WriteBehind(const WriteBehind&) = delete;
  WriteBehind& operator=(const WriteBehind&) = delete;

  // Writes `data` (not empty) at `offset` of `file` (or at its end if `append`). `done` gets the
  // count written, or an error: the write's own if it waited for the server, or an earlier
  // accepted write's that failed (and then this write is not made). `data` need only stay valid
  // until Write returns: a write accepted at once is answered before its bytes are copied, so that
  // the caller's next write (the kernel's copy into its page cache) overlaps this copy.
  void Write(std::shared_ptr<OpenFile> file, uint64_t offset, std::string_view data, bool append, Written done);

  // Runs `then` once every write to `node` that arrived before this call has been answered: now,
  // on this thread, if there is none.
  void AfterWrites(NodeId node, std::function<void()> then);
  // The same, waiting on this thread (a FUSE thread; never the transport's).
  void WaitForWrites(NodeId node);

  // The error of an accepted write to `file` that failed, not cleared yet; Ok if none. TakeError
  // clears it (write, fsync); ErrorOf leaves it for them (flush).
  static Status TakeError(OpenFile& file);
  static Status ErrorOf(OpenFile& file);
  // Whether `file` holds an error no write, flush or fsync returned (at release: nobody was told).
  static bool ErrorUntold(OpenFile& file);

  // For attributes that came back without a barrier: a point in the history of answered writes to
  // take before sending the request, and whether attributes of `node` returned by it may miss a
  // write of this mount (one pending now, or answered since `since`).
  uint64_t Since();
  bool MayBeStale(NodeId node, uint64_t since);

 private:
  struct Entry;
  struct Buffers;  // shared with the buffers lent out, which may outlive this object
  struct NodeWrites {
    std::list<std::shared_ptr<Entry>> entries;                    // pending, in arrival order
    std::vector<std::pair<uint64_t, std::function<void()>>> barriers;  // (sequence, then)
  };
  using Actions = std::vector<std::function<void()>>;  // to run once the lock is released

  net::Bulk Copy(std::string_view data);
  void Admit(Actions& actions);
  void SendReady(NodeWrites& writes, Actions& actions);
  void Send(std::shared_ptr<Entry> entry);
  void Answered(std::shared_ptr<Entry> entry, Result<uint32_t> result);

  const WriteSender send_;
  const WriteBehindOptions options_;
  const std::shared_ptr<Buffers> buffers_;

  std::mutex mutex_;
  std::condition_variable idle_;                     // signalled when nodes_ becomes empty
  uint64_t next_sequence_ = 1;                       // guarded by mutex_
  uint64_t bytes_admitted_ = 0;                      // guarded by mutex_
  uint64_t writes_admitted_ = 0;                     // guarded by mutex_
  std::deque<std::shared_ptr<Entry>> waiting_;       // guarded by mutex_: not yet admitted, oldest first
  std::unordered_map<NodeId, NodeWrites> nodes_;     // guarded by mutex_: nodes with pending writes or barriers
  // Recently answered writes (answer number, node), for MayBeStale; bounded.
  static constexpr size_t kAnsweredKept = 4096;
  uint64_t answers_ = 0;                             // guarded by mutex_
  std::deque<std::pair<uint64_t, NodeId>> answered_;  // guarded by mutex_
};

}  // namespace shoal::client
