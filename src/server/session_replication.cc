// The session's part of replication (DESIGN.md §5): on the primary, a change is applied here and
// forwarded to the backups through ReplicaRole; on a backup, the changes a primary forwards are
// applied one after another, in the order it sent them.
#include <fcntl.h>

#include <algorithm>
#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "server/session.h"
#include "storage/file_io.h"

namespace shoal::server {
namespace {

void AddTimes(proto::ReplicateRequest& forward, uint64_t node, const proto::Attr& attr) {
  auto* times = forward.add_times();
  times->set_node(node);
  times->set_atime_ns(attr.atime_ns());
  times->set_mtime_ns(attr.mtime_ns());
}

// The attributes of the object a successful change created or changed, from its answer.
const proto::Attr* AnsweredAttr(const proto::Response& r) {
  switch (r.op_case()) {
    case proto::Response::kSetAttr: return &r.set_attr().attr();
    case proto::Response::kMakeNode: return &r.make_node().entry().attr();
    case proto::Response::kSymlink: return &r.symlink().entry().attr();
    case proto::Response::kLink: return &r.link().entry().attr();
    case proto::Response::kCreate: return &r.create().entry().attr();
    case proto::Response::kOpen: return &r.open().attr();
    default: return nullptr;
  }
}

// The open file a forwarded change works through, if any.
uint64_t ForwardedHandle(const proto::Request& request) {
  switch (request.op_case()) {
    case proto::Request::kWrite: return request.write().handle();
    case proto::Request::kFsync: return request.fsync().handle();
    case proto::Request::kFallocate: return request.fallocate().handle();
    case proto::Request::kSetAttr: return request.set_attr().handle();
    case proto::Request::kRelease: return request.release().handle();
    default: return 0;
  }
}

}  // namespace

bool Session::Forwards(const proto::Request& request) {
  if (Changes(request)) return true;
  // The backups hold the files the primary opened for writing: they sync them too (and close
  // them, told with a later change: ReplicaRole::Released).
  if (!request.has_fsync()) return false;
  auto handle = FindHandle(request.fsync().handle());
  return handle && handle->replicated;
}

Session::Answer Session::HandleReplicated(const proto::Request& request, const net::Bulk& trailer,
                                          uint64_t request_id) {
  auto change = role_->BeginChange();
  if (!change.ok()) return {.response = proto::ErrorResponse(change.status())};
  // Looked up in the volume's order: the first try cannot be half-way through its local apply.
  if (role_->replies().Contains(client_id_, request_id)) {
    { ReplicaRole::Change over = std::move(*change); }  // lets the order go
    // It may still be waiting for the backups: its outcome, once known.
    if (auto first = role_->replies().Find(client_id_, request_id)) return Repeated(request, std::move(*first));
    return {.response = proto::ErrorResponse(Status(Code::kBusy, "the first copy of this request was forgotten"))};
  }
  Applied applied = ApplyAndForward(*change, request, trailer, request_id);
  if (!applied.forwarded) return std::move(applied.answer);
  return Settle(change->Finish(), std::move(applied), request, request_id);
}

bool Session::ServeChangeInline(uint64_t id, const proto::Request& request, const net::Bulk& trailer) {
  // Refused by Handle; or too many waiting (counted with the pool's queue, which cuts it off).
  if (volume_->read_only() || queued_requests_.load() >= kQueuedRequestsMax) return false;
  auto change = role_->TryBeginChange();
  if (!change.ok() || role_->replies().Contains(client_id_, id)) return false;
  ServeContext context = BeginServe(request);
  Applied applied = ApplyAndForward(*change, request, trailer, id);
  if (!applied.forwarded) {
    EndServe(id, request, context, std::move(applied.answer));
    return true;
  }
  queued_requests_.fetch_add(1);
  std::move(*change).FinishAsync(
      workers_, [self = shared_from_this(), id, request, context = std::move(context),
                 applied = std::move(applied)](Status replicated) mutable {
        Answer answer = self->Settle(std::move(replicated), std::move(applied), request, id);
        self->EndServe(id, request, context, std::move(answer));
        self->queued_requests_.fetch_sub(1);
      });
  return true;
}

Session::Applied Session::ApplyAndForward(ReplicaRole::Change& change, const proto::Request& request,
                                          const net::Bulk& trailer, uint64_t request_id) {
  // The file behind a handle (before a release closes it): a backup that joined (healed) after
  // the file was opened has no such handle, and opens the file for the change alone.
  uint64_t through_node = 0;
  if (const uint64_t through = ForwardedHandle(request); through != 0) {
    if (auto open = FindHandle(through)) through_node = open->node;
  }
  Applied applied{.answer = HandleLocal(request, trailer)};
  Answer& answer = applied.answer;
  // Settled below, once the backups have applied it (or it failed to replicate).
  role_->replies().Insert(client_id_, request_id, answer.response, /*settled=*/answer.response.status() != 0);
  if (answer.response.status() != 0) return applied;  // nothing changed here, so nothing goes to the backups
  proto::ReplicateRequest forward;
  *forward.mutable_request() = request;
  forward.set_client_id(client_id_);
  forward.set_request_id(request_id);
  storage::Brick& brick = *brick_.load();
  // What the backups must make identical: the ids of created objects, the handles they open (kept
  // there under the primary's numbers), and the times this brick gave the objects changed.
  const proto::Attr* attr = AnsweredAttr(answer.response);
  uint64_t handle = 0;
  if (answer.response.has_open()) handle = answer.response.open().handle();
  if (answer.response.has_create()) handle = answer.response.create().handle();
  if (handle != 0) {
    forward.set_handle(handle);
    if (auto open = FindHandle(handle)) open->replicated = true;
  }
  applied.handle = handle;
  if (request.has_make_node() || request.has_symlink() || request.has_create()) forward.set_node_id(attr->ino());
  forward.set_node(through_node);
  if (attr) AddTimes(forward, attr->ino(), *attr);
  auto parent_times = [&](uint64_t parent) {
    if (auto dir = brick.StatNode(parent); dir.ok()) AddTimes(forward, parent, *dir);
  };
  switch (request.op_case()) {
    case proto::Request::kMakeNode: parent_times(request.make_node().parent()); break;
    case proto::Request::kSymlink: parent_times(request.symlink().parent()); break;
    case proto::Request::kCreate: parent_times(request.create().parent()); break;
    case proto::Request::kLink: parent_times(request.link().new_parent()); break;
    case proto::Request::kRemove: parent_times(request.remove().parent()); break;
    case proto::Request::kRename:
      parent_times(request.rename().parent());
      if (request.rename().new_parent() != request.rename().parent()) parent_times(request.rename().new_parent());
      break;
    case proto::Request::kWrite:
    case proto::Request::kFallocate: {
      auto open = FindHandle(request.has_write() ? request.write().handle() : request.fallocate().handle());
      if (open) {
        if (auto changed = brick.StatNode(open->node); changed.ok()) AddTimes(forward, open->node, *changed);
      }
      break;
    }
    default:
      break;
  }
  change.Forward(std::move(forward), trailer, answer.response);
  applied.forwarded = true;
  return applied;
}

Session::Answer Session::Settle(Status replicated, Applied applied, const proto::Request& request,
                                uint64_t request_id) {
  if (!replicated.ok()) {
    spdlog::warn("session.not_replicated peer={} volume={} op={} error=\"{}\"", connection_->peer(), volume_name_,
                 static_cast<int>(request.op_case()), replicated.ToString());
    if (applied.handle != 0) DropHandle(applied.handle);
    Answer failed{.response = proto::ErrorResponse(replicated)};
    role_->replies().Settle(client_id_, request_id, failed.response);
    return failed;
  }
  role_->replies().Settle(client_id_, request_id, applied.answer.response);
  return std::move(applied.answer);
}

Session::Answer Session::ApplyReplicated(const proto::ReplicateRequest& forward, const net::Bulk& trailer) {
  if (Status current = role_->CheckForwarded(replication_epoch_, forward.position()); !current.ok()) {
    spdlog::warn("session.replication_refused peer={} volume={} error=\"{}\"", connection_->peer(), volume_name_,
                 current.ToString());
    return {.response = proto::ErrorResponse(current)};
  }
  const proto::Request& request = forward.request();
  // The file behind the request's handle (the primary names it), kept in the log. When the handle
  // is not open here (a change sent again by a new primary, or this brick joined after the file
  // was opened), the file is opened for that change alone.
  proto::ReplicateRequest logged = forward;
  logged.clear_shipped();
  logged.clear_released();  // this connection's handles: nothing to another brick
  CloseReleased(forward.released());
  if (request.op_case() == proto::Request::OP_NOT_SET) {  // the closes were all of it
    role_->NoteApplied(logged, trailer, 0);
    proto::Response response;
    response.mutable_replicate()->mutable_response();
    return {.response = std::move(response)};
  }
  const uint64_t handle_id = ForwardedHandle(request);
  bool borrowed = false;
  if (handle_id != 0) {
    if (auto open = FindHandle(handle_id)) {
      logged.set_node(open->node);
    } else if (forward.node() != 0) {
      const bool append = request.has_write() && request.write().append();
      auto opened = brick_.load()->OpenFile(forward.node(), O_RDWR | (append ? O_APPEND : 0));
      if (opened.ok()) {
        auto temporary = std::make_shared<OpenHandle>();
        temporary->node = forward.node();
        temporary->fd = std::move(opened->fd);
        std::lock_guard lock(mutex_);
        borrowed = handles_.emplace(handle_id, std::move(temporary)).second;
      }
    }
  }
  if (request.has_open()) logged.set_node(request.open().node());
  assign_id_ = forward.node_id();
  Answer answer = HandleLocal(request, trailer);
  assign_id_ = 0;
  if (borrowed) DropHandle(handle_id);
  // Kept under the primary's number, which is what its next requests on the file carry.
  uint64_t local = 0;
  if (answer.response.has_open()) local = answer.response.open().handle();
  if (answer.response.has_create()) local = answer.response.create().handle();
  if (local != 0 && forward.shipped()) {
    DropHandle(local);  // sent again after its primary died: no request will use it
  } else if (local != 0 && forward.handle() != 0) {
    std::lock_guard lock(mutex_);
    auto node = handles_.extract(local);
    node.key() = forward.handle();
    node.mapped()->replicated = true;
    handles_.insert(std::move(node));
  }
  if (request.has_create() && answer.response.has_create()) logged.set_node(answer.response.create().entry().attr().ino());
  if (answer.response.status() == 0) {
    storage::Brick& brick = *brick_.load();
    for (const proto::NodeTimes& times : forward.times()) {
      Status set = request.has_symlink() && times.node() == forward.node_id()
                       ? brick.SetTimes(times.node(), times.atime_ns(), times.mtime_ns(), request.symlink().parent(),
                                        request.symlink().name())
                       : brick.SetTimes(times.node(), times.atime_ns(), times.mtime_ns());
      if (!set.ok()) {
        answer.response = proto::ErrorResponse(set);
        break;
      }
    }
  }
  role_->NoteApplied(logged, trailer, answer.response.status());
  role_->replies().Insert(forward.client_id(), forward.request_id(), answer.response);
  proto::Response response;
  *response.mutable_replicate()->mutable_response() = std::move(answer.response);
  return {.response = std::move(response)};
}

void Session::CloseReleased(const google::protobuf::RepeatedField<uint64_t>& released) {
  std::vector<std::shared_ptr<OpenHandle>> closing;
  for (uint64_t id : released) {
    auto handle = FindHandle(id);
    if (handle && DropHandle(id)) closing.push_back(std::move(handle));
  }
  // Closing a descriptor may free the blocks of an unlinked file: on the pool, as for a release.
  if (!closing.empty()) workers_.Post([closing = std::move(closing)]() mutable { closing.clear(); });
}

Session::Answer Session::Repeated(const proto::Request& request, proto::Response first) {
  spdlog::info("session.repeated peer={} volume={} status={}", connection_->peer(), volume_name_, first.status());
  if (first.status() != 0 || !(first.has_create() || first.has_open())) return {.response = std::move(first)};
  // The handle of the first answer belonged to the connection that sent it (maybe to another
  // primary): open the same file again, as it is now, without creating or truncating it.
  proto::Request reopen;
  const bool created = first.has_create();
  reopen.mutable_open()->set_node(created ? first.create().entry().attr().ino() : request.open().node());
  reopen.mutable_open()->set_flags((created ? request.create().flags() : request.open().flags()) &
                                   ~(O_CREAT | O_EXCL | O_TRUNC));
  Answer opened = HandleReplicated(reopen, nullptr, 0);
  if (opened.response.status() != 0 || !created) return opened;
  first.mutable_create()->set_handle(opened.response.open().handle());
  *first.mutable_create()->mutable_entry()->mutable_attr() = opened.response.open().attr();
  return {.response = std::move(first)};
}

Session::Answer Session::HandleHeal(const proto::Request& request, const net::Bulk& trailer) {
  if (Status current = role_->CheckHealer(replication_epoch_); !current.ok())
    return {.response = proto::ErrorResponse(current)};
  storage::Brick& brick = *brick_.load();
  proto::Response response;
  Status done;
  switch (request.op_case()) {
    case proto::Request::kHealList: {
      constexpr size_t kListBytesMax = 512u << 10;  // well within a frame's body
      auto listed = brick.HealList(request.heal_list().dir(), request.heal_list().after(), kListBytesMax);
      if (listed.ok()) *response.mutable_heal_list() = std::move(*listed);
      done = listed.status();
      break;
    }
    case proto::Request::kHealHashes: {
      const auto& ask = request.heal_hashes();
      auto hashes = brick.HealHashes(ask.node(), ask.block_size(), ask.first_block(), ask.blocks_max());
      if (hashes.ok()) *response.mutable_heal_hashes() = std::move(*hashes);
      done = hashes.status();
      break;
    }
    case proto::Request::kHealPut:
      done = brick.HealPut(request.heal_put().parent(), request.heal_put().entry());
      response.mutable_heal_put();
      break;
    case proto::Request::kHealRemove:
      done = brick.HealRemove(request.heal_remove().parent(), request.heal_remove().name());
      response.mutable_heal_remove();
      break;
    case proto::Request::kHealWrite:
      done = brick.HealWrite(request.heal_write().node(), request.heal_write().offset(), net::View(trailer),
                             request.heal_write().size());
      response.mutable_heal_write();
      break;
    case proto::Request::kHealTimes: {
      const auto& t = request.heal_times();
      done = brick.SetTimes(t.node(), t.atime_ns(), t.mtime_ns(), t.parent(), t.name());  // by name: a symlink
      response.mutable_heal_times();
      break;
    }
    case proto::Request::kHealDone:
      // What the heal wrote must survive a crash before the brick counts as in sync.
      done = brick.SyncAll();
      if (done.ok()) done = brick.ClearUnsyncedLoss();
      if (done.ok()) role_->Healed(request.heal_done().position());
      response.mutable_heal_done();
      break;
    default:
      done = Status(Code::kProtocolError, "a heal connection only heals");
  }
  if (!done.ok()) {
    spdlog::warn("session.heal_failed peer={} volume={} op={} error=\"{}\"", connection_->peer(), volume_name_,
                 static_cast<int>(request.op_case()), done.ToString());
    return {.response = proto::ErrorResponse(done)};
  }
  return {.response = std::move(response)};
}

void Session::ServeInOrder(uint64_t id, proto::Request request, net::Bulk trailer) {
  // A quick change with nothing before it is applied right here, on the io thread, as a client's
  // quick request is: handing it to the pool costs a context switch, more than the work. Frames
  // of this connection wait meanwhile, so the order holds.
  bool here = request.has_replicate() && Quick(request.replicate().request(), trailer);
  {
    std::lock_guard lock(in_order_mutex_);
    here = here && !in_order_running_;
    if (!here) {
      in_order_.push_back({.id = id, .request = std::move(request), .trailer = std::move(trailer)});
      if (in_order_running_) return;
    }
    in_order_running_ = true;
  }
  if (here) {
    Serve(id, request, trailer);
    std::lock_guard lock(in_order_mutex_);
    in_order_running_ = false;
    return;
  }
  workers_.Post([self = shared_from_this()] {
    for (;;) {
      InOrder next;
      {
        std::lock_guard lock(self->in_order_mutex_);
        if (self->in_order_.empty()) {
          self->in_order_running_ = false;
          return;
        }
        next = std::move(self->in_order_.front());
        self->in_order_.pop_front();
      }
      self->Serve(next.id, next.request, next.trailer);
    }
  });
}

}  // namespace shoal::server

namespace shoal::server {
namespace {

// The descriptors a read connection keeps open, of the files it read last: a client reads a file
// in many pieces.
constexpr size_t kSpreadFilesMax = 64;

}  // namespace

Session::Answer Session::HandleSpreadRead(const proto::Request& request) {
  if (!request.has_read() || request.read().node() == 0)
    return {.response = proto::ErrorResponse(
                Status(Code::kProtocolError, "a read connection only reads files, by node id"))};
  const auto& read = request.read();
  storage::Brick& brick = *brick_.load();
  std::shared_ptr<UniqueFd> fd;
  {
    std::lock_guard lock(mutex_);
    if (auto it = spread_files_.find(read.node()); it != spread_files_.end()) fd = it->second;
  }
  if (!fd) {
    auto opened = brick.OpenFile(read.node(), O_RDONLY);
    if (!opened.ok()) return {.response = proto::ErrorResponse(opened.status())};
    fd = std::make_shared<UniqueFd>(std::move(opened->fd));
    std::lock_guard lock(mutex_);
    if (spread_files_.size() >= kSpreadFilesMax) spread_files_.clear();
    spread_files_[read.node()] = fd;
  }
  auto data = storage::ReadAt(fd->get(), read.offset(), std::min(read.size(), proto::kIoBytesMax));
  if (!data.ok()) return {.response = proto::ErrorResponse(data.status())};
  // After the read: had the lease ended before it, a change this brick missed could have been
  // acknowledged meanwhile.
  if (role_) {
    if (Status may = role_->MayServeSpreadRead(); !may.ok()) {
      std::lock_guard lock(mutex_);
      spread_files_.clear();
      return {.response = proto::ErrorResponse(may)};
    }
  }
  volume_->CountRead();
  proto::Response response;
  response.mutable_read();
  return {.response = std::move(response), .trailer = std::move(*data)};
}

}  // namespace shoal::server
