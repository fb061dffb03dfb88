#include "server/session.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "server/response.h"
#include "storage/file_io.h"

namespace shoal::server {
namespace {

constexpr uint32_t kProtocolVersion = 1;
constexpr uint32_t kReadDirEntriesMax = 4096;
// A write this small is a copy into the page cache, as quick as a setxattr: on the io thread it
// saves a replicated small file two hand-offs on every brick. Larger ones keep the io thread free
// for everyone else.
constexpr size_t kQuickWriteBytesMax = 64u << 10;

}  // namespace

// Whether a request is quick enough to run on the io thread: metadata work that touches only
// the page cache in the common case. Everything that can wait for the disk or free many blocks
// (data, but for small writes: Session::Quick; fsync, truncation, removal, release of a possibly
// unlinked file, listing a directory) goes to the worker pool. Running the quick ones inline
// saves two thread hand-offs per request, which on a small-file workload is most of the
// server's time.
bool RunsInline(const proto::Request& request) {
  switch (request.op_case()) {
    case proto::Request::kLookup:
    case proto::Request::kGetAttr:
    case proto::Request::kMakeNode:
    case proto::Request::kSymlink:
    case proto::Request::kLink:
    case proto::Request::kReadLink:
    case proto::Request::kStatFs:
    case proto::Request::kSetXattr:
    case proto::Request::kGetXattr:
    case proto::Request::kListXattr:
    case proto::Request::kRemoveXattr:
    case proto::Request::kSeek:
    case proto::Request::kGetLock:
    case proto::Request::kSetLock:
    case proto::Request::kFlush:
    case proto::Request::kRelease:  // the descriptor itself is closed on the pool (HandleRelease)
      return true;
    case proto::Request::kSetAttr:
      return !(request.set_attr().fields() & proto::SET_ATTR_SIZE);
    case proto::Request::kOpen:
      return !(request.open().flags() & O_TRUNC);
    case proto::Request::kCreate:
      return !(request.create().flags() & O_TRUNC);
    default:
      return false;
  }
}

bool Changes(const proto::Request& request) {
  switch (request.op_case()) {
    case proto::Request::kSetAttr:
    case proto::Request::kMakeNode:
    case proto::Request::kSymlink:
    case proto::Request::kLink:
    case proto::Request::kRemove:
    case proto::Request::kRename:
    case proto::Request::kCreate:
    case proto::Request::kWrite:
    case proto::Request::kSetXattr:
    case proto::Request::kRemoveXattr:
    case proto::Request::kFallocate:
      return true;
    case proto::Request::kOpen:
      return (request.open().flags() & O_ACCMODE) != O_RDONLY || (request.open().flags() & O_TRUNC);
    default:
      return false;
  }
}

namespace {

// The address part of a peer's "address:port" ("[v6]:port" or "v6:port" alike).
std::string AddressOf(const std::string& peer) {
  std::string address = peer.substr(0, peer.rfind(':'));
  if (address.starts_with("[") && address.ends_with("]")) address = address.substr(1, address.size() - 2);
  return address;
}

proto::Response BadHandle(uint64_t handle) {
  return proto::ErrorResponse(Status(Code::kBadHandle, fmt::format("no open handle {}", handle)));
}

}  // namespace

Session::Session(std::shared_ptr<net::Connection> connection, VolumeRegistry& volumes, net::WorkerPool& workers,
                 AdminServices* admin, CacheTracker* cache)
    : connection_(std::move(connection)), volumes_(volumes), workers_(workers), admin_services_(admin), cache_(cache) {}

void Session::OnFrame(net::Frame frame) {
  if (frame.header.kind == proto::FrameKind::kPushAck) return OnPushAck(frame);
  auto request = proto::DecodeRequest(frame.header, net::Bytes(frame.body));
  if (!request.ok() && request.status().code() == Code::kNotImplemented) {
    Reply(frame.header.request_id, {.response = proto::ErrorResponse(request.status())});  // a newer client
    return;
  }
  if (!request.ok()) {
    spdlog::warn("session.bad_request peer={} error=\"{}\"", connection_->peer(), request.status().ToString());
    connection_->Close("bad request");
    return;
  }
  const uint64_t id = frame.header.request_id;
  SPDLOG_TRACE("session.request peer={} op={} id={}", connection_->peer(), proto::OpName(frame.header.opcode), id);
  if (request->has_ping()) {
    proto::Response pong;
    pong.mutable_ping();
    Reply(id, {.response = std::move(pong)});
    return;
  }
  const bool replicated = brick_.load() != nullptr && role_ != nullptr;
  if (replicated && hello_role_ == proto::ROLE_REPLICATION && request->has_read_lease()) {
    // Out of the changes' order: a lease must not wait behind a slow change.
    Status taken = role_->TakeReadLease(replication_epoch_, request->read_lease());
    proto::Response response = taken.ok() ? proto::Response() : proto::ErrorResponse(taken);
    if (taken.ok()) response.mutable_read_lease();
    Reply(id, {.response = std::move(response)});
    return;
  }
  if (replicated && (hello_role_ == proto::ROLE_REPLICATION || hello_role_ == proto::ROLE_HEAL)) {
    ServeInOrder(id, std::move(request.value()), std::move(frame.trailer));
    return;
  }
  // A change of a replicated volume waits for the backups: never on the io thread, but a quick
  // one need not hold a worker while it waits (ServeChangeInline).
  const bool quick = Quick(*request, frame.trailer);
  if (quick && !(replicated && Forwards(*request))) {
    Serve(id, *request, frame.trailer);
    return;
  }
  if (replicated && hello_role_ == proto::ROLE_PRIMARY && quick && ServeChangeInline(id, *request, frame.trailer))
    return;
  const uint64_t bytes = net::View(frame.trailer).size();
  if (queued_requests_.fetch_add(1) >= kQueuedRequestsMax || queued_bytes_.fetch_add(bytes) + bytes > kQueuedBytesMax) {
    spdlog::warn("session.flooded peer={} queued_requests={} queued_bytes={}", connection_->peer(),
                 queued_requests_.load(), queued_bytes_.load());
    connection_->Close("too many requests in flight");
    return;
  }
  workers_.Post([self = shared_from_this(), id, bytes, request = std::move(request.value()),
                 trailer = std::move(frame.trailer)]() mutable {
    self->Serve(id, request, trailer);
    self->queued_requests_.fetch_sub(1);
    self->queued_bytes_.fetch_sub(bytes);
  });
}

bool Session::Quick(const proto::Request& request, const net::Bulk& trailer) {
  if (RunsInline(request)) return true;
  if (!request.has_write() || net::View(trailer).size() > kQuickWriteBytesMax) return false;
  auto handle = FindHandle(request.write().handle());
  return handle && !handle->synchronous;  // an unknown handle: the pool opens the file, or refuses
}

void Session::OnClose(const std::string& reason) {
  spdlog::info("session.closed peer={} volume={} reason=\"{}\"", connection_->peer(), volume_name_, reason);
  LeaveCacheTracking();
  if (role_ && hello_role_ == proto::ROLE_REPLICATION) role_->PrimaryConnectionLost();
  if (role_ && hello_role_ == proto::ROLE_HEAL) role_->HealerLeft();
  // The connection no longer refers to us; handles and lock descriptors close with the last
  // reference, which may be a request still running on the pool.
}

void Session::Reply(uint64_t request_id, Answer answer) {
  net::Frame frame;
  frame.header.kind = proto::FrameKind::kResponse;
  frame.header.request_id = request_id;
  frame.body = proto::Serialize(answer.response);
  if (!answer.trailer.empty()) frame.trailer = std::make_shared<const std::string>(std::move(answer.trailer));
  connection_->Send(std::move(frame));
}

Session::Answer Session::Handle(const proto::Request& request, const net::Bulk& trailer, uint64_t request_id) {
  if (request.has_hello()) return HandleHello(request.hello());
  if (IsAdminRequest(request)) return HandleAdmin(request);
  if (brick_.load() == nullptr)
    return {.response = proto::ErrorResponse(Status(Code::kProtocolError, "hello must come first"))};
  if (Changes(request) && volume_->read_only())
    return {.response = proto::ErrorResponse(
                Status(Code::kReadOnly, fmt::format("volume {} is read-only (option read-only)", volume_name_)))};
  if (hello_role_ == proto::ROLE_READ) return HandleSpreadRead(request);
  if (role_) {
    if (hello_role_ == proto::ROLE_HEAL) return HandleHeal(request, trailer);
    if (hello_role_ == proto::ROLE_REPLICATION) {
      if (!request.has_replicate())
        return {.response = proto::ErrorResponse(Status(Code::kProtocolError, "a replication connection only replicates"))};
      return ApplyReplicated(request.replicate(), trailer);
    }
    if (Forwards(request)) {
      if (hello_role_ != proto::ROLE_PRIMARY)
        return {.response = proto::ErrorResponse(Status(Code::kNotPrimary, "changes go to the primary's connection"))};
      return HandleReplicated(request, trailer, request_id);
    }
    if (Status current = role_->MayServeRead(); !current.ok()) return {.response = proto::ErrorResponse(current)};
  }
  if (request.has_replicate())
    return {.response = proto::ErrorResponse(Status(Code::kProtocolError, "replicate needs a replication connection"))};
  return HandleLocal(request, trailer);
}

Session::Answer Session::HandleLocal(const proto::Request& request, const net::Bulk& trailer) {
  switch (request.op_case()) {
    case proto::Request::kOpen:
    case proto::Request::kCreate:
    case proto::Request::kRead:
    case proto::Request::kWrite:
    case proto::Request::kRelease:
    case proto::Request::kFsync:
    case proto::Request::kOpenDir:
    case proto::Request::kReadDir:
    case proto::Request::kFallocate:
    case proto::Request::kSeek:
      return HandleFile(request, trailer);
    case proto::Request::kGetLock:
    case proto::Request::kSetLock:
    case proto::Request::kFlush:
      return HandleLock(request);
    default:
      return HandleNamespace(request);
  }
}

Session::Answer Session::HandleHello(const proto::HelloRequest& hello) {
  if (hello.protocol_version() != kProtocolVersion)
    return {.response = proto::ErrorResponse(Status(
                Code::kProtocolError, fmt::format("client speaks protocol {}, server {}",
                                                  hello.protocol_version(), kProtocolVersion)))};
  if (hello.volume().empty()) {
    if (admin_services_ == nullptr)
      return {.response = proto::ErrorResponse(Status(Code::kUnavailable, "the server is still starting its etcd member"))};
    if (brick_.load() != nullptr)
      return {.response = proto::ErrorResponse(Status(Code::kProtocolError, "a connection serves one volume"))};
    admin_ = true;
    spdlog::info("session.hello peer={} admin=true client={}", connection_->peer(), hello.client_name());
    proto::Response response;
    response.mutable_hello()->set_server_version(SHOAL_VERSION);
    return {.response = std::move(response)};
  }
  if (admin_) return {.response = proto::ErrorResponse(Status(Code::kProtocolError, "a connection serves one volume"))};
  auto served = volumes_.Find(hello.volume());
  if (!served.ok()) return {.response = proto::ErrorResponse(served.status())};
  if (Status admitted = (*served)->Admit(AddressOf(connection_->peer())); !admitted.ok()) {
    spdlog::warn("session.refused peer={} volume={} error=\"{}\"", connection_->peer(), hello.volume(), admitted.ToString());
    return {.response = proto::ErrorResponse(admitted)};
  }
  std::shared_ptr<ReplicaRole> role = (*served)->role();
  if ((*served)->replicated() && !role)
    return {.response = proto::ErrorResponse(Status(
                Code::kNotPrimary, fmt::format("brick of volume {} is starting: it has no role yet", hello.volume())))};
  if (role) {
    Status admitted = hello.role() == proto::ROLE_REPLICATION ? role->AdmitReplication(hello.epoch())
                      : hello.role() == proto::ROLE_HEAL      ? role->AdmitHealer(hello.epoch())
                                                              : role->AdmitClient(hello.role());
    if (!admitted.ok()) {
      spdlog::info("session.refused peer={} volume={} role={} error=\"{}\"", connection_->peer(), hello.volume(),
                   proto::HelloRole_Name(hello.role()), admitted.ToString());
      return {.response = proto::ErrorResponse(admitted)};
    }
  }
  {
    std::lock_guard lock(mutex_);
    if (volume_ != nullptr && volume_ != *served)
      return {.response = proto::ErrorResponse(Status(Code::kProtocolError, "a connection serves one volume"))};
    role_ = role;
    hello_role_ = hello.role();
    replication_epoch_ = hello.epoch();
    client_id_ = hello.client_id();
    // A primary's connection is not a client (volume status counts clients); it goes when the
    // primary's role does.
    const bool from_primary = hello.role() == proto::ROLE_REPLICATION || hello.role() == proto::ROLE_HEAL;
    if (volume_ == nullptr && !from_primary && !(*served)->AddClient(connection_, hello.role() == proto::ROLE_READ))
      return {.response = proto::ErrorResponse(Status(Code::kNoVolume, fmt::format("volume {} is stopping", hello.volume())))};
    volume_ = *served;
    volume_name_ = hello.volume();
    brick_ = &volume_->brick();
  }
  storage::Brick* brick = brick_.load();
  auto root = brick->GetAttr(storage::kRootNode);
  if (!root.ok()) return {.response = proto::ErrorResponse(root.status())};
  spdlog::info("session.hello peer={} volume={} client={}", connection_->peer(), hello.volume(), hello.client_name());
  proto::Response response;
  auto* out = response.mutable_hello();
  out->set_server_version(SHOAL_VERSION);
  *out->mutable_root() = *root;
  out->set_max_io_bytes(proto::kIoBytesMax);
  if (role) {
    *out->mutable_replica_set() = role->replica_set();
    *out->mutable_applied() = role->applied();
    if (hello.role() == proto::ROLE_HEAL) out->set_unsynced_loss(brick->unsynced_loss());
  }
  // A read connection's answers (file data) grant nothing to cache: the primary's connection
  // tracks the client's cache.
  if (hello.role() != proto::ROLE_READ) JoinCacheTracking(hello, *out);
  return {.response = std::move(response)};
}

// Pool requests: on the worker pool (they wait for etcd and other servers), admin connections only.
// Pool and volume requests: on the worker pool (they wait for etcd and other servers), admin
// connections only.
Session::Answer Session::HandleAdmin(const proto::Request& request) {
  if (!admin_)
    return {.response = proto::ErrorResponse(
                Status(Code::kProtocolError, "admin requests need an admin connection (a hello without a volume)"))};
  return {.response = ServeAdmin(*admin_services_, request, connection_->peer())};
}

Session::Answer Session::HandleNamespace(const proto::Request& request) {
  storage::Brick& brick = *brick_.load();
  proto::Response response;
  switch (request.op_case()) {
    case proto::Request::kLookup:
      response = From(brick.Lookup(request.lookup().parent(), request.lookup().name()),
                      [](proto::Response& r, proto::Attr& a) { *r.mutable_lookup()->mutable_entry()->mutable_attr() = a; });
      break;
    case proto::Request::kGetAttr: {
      const auto& get = request.get_attr();
      if (auto handle = get.handle() ? FindHandle(get.handle()) : nullptr; handle && handle->fd.valid()) {
        struct stat st;
        if (::fstat(handle->fd.get(), &st) != 0) {
          response = proto::ErrorResponse(ErrnoStatus(errno, "fstat"));
        } else {
          *response.mutable_get_attr()->mutable_attr() = storage::AttrFromStat(get.node(), st);
        }
        break;
      }
      response = From(brick.GetAttr(get.node()),
                      [](proto::Response& r, proto::Attr& a) { *r.mutable_get_attr()->mutable_attr() = a; });
      break;
    }
    case proto::Request::kSetAttr: {
      auto handle = request.set_attr().handle() ? FindHandle(request.set_attr().handle()) : nullptr;
      int fd = handle && handle->fd.valid() ? handle->fd.get() : -1;
      response = From(brick.SetAttr(request.set_attr(), fd),
                      [](proto::Response& r, proto::Attr& a) { *r.mutable_set_attr()->mutable_attr() = a; });
      break;
    }
    case proto::Request::kMakeNode:
      response = From(brick.MakeNode(request.make_node(), assign_id_),
                      [](proto::Response& r, proto::Attr& a) { *r.mutable_make_node()->mutable_entry()->mutable_attr() = a; });
      break;
    case proto::Request::kSymlink:
      response = From(brick.Symlink(request.symlink(), assign_id_),
                      [](proto::Response& r, proto::Attr& a) { *r.mutable_symlink()->mutable_entry()->mutable_attr() = a; });
      break;
    case proto::Request::kLink:
      response = From(brick.Link(request.link()),
                      [](proto::Response& r, proto::Attr& a) { *r.mutable_link()->mutable_entry()->mutable_attr() = a; });
      break;
    case proto::Request::kRemove:
      response = From(brick.Remove(request.remove()), [](proto::Response& r) { r.mutable_remove(); });
      break;
    case proto::Request::kRename:
      response = From(brick.Rename(request.rename()), [](proto::Response& r) { r.mutable_rename(); });
      break;
    case proto::Request::kReadLink:
      response = From(brick.ReadLink(request.read_link().node()),
                      [](proto::Response& r, std::string& t) { r.mutable_read_link()->set_target(t); });
      break;
    case proto::Request::kStatFs:
      response = From(brick.StatFs(), [](proto::Response& r, proto::StatFsResponse& s) { *r.mutable_stat_fs() = s; });
      break;
    case proto::Request::kSetXattr:
      response = From(brick.SetXattr(request.set_xattr()), [](proto::Response& r) { r.mutable_set_xattr(); });
      break;
    case proto::Request::kGetXattr:
      response = From(brick.GetXattr(request.get_xattr()),
                      [](proto::Response& r, proto::GetXattrResponse& g) { *r.mutable_get_xattr() = std::move(g); });
      break;
    case proto::Request::kListXattr:
      response = From(brick.ListXattr(request.list_xattr()),
                      [](proto::Response& r, proto::ListXattrResponse& l) { *r.mutable_list_xattr() = std::move(l); });
      break;
    case proto::Request::kRemoveXattr:
      response = From(brick.RemoveXattr(request.remove_xattr()), [](proto::Response& r) { r.mutable_remove_xattr(); });
      break;
    default:
      response = proto::ErrorResponse(Status(Code::kNotImplemented, "operation not served"));
  }
  return {.response = std::move(response)};
}

Session::Answer Session::HandleFile(const proto::Request& request, const net::Bulk& trailer) {
  storage::Brick& brick = *brick_.load();
  proto::Response response;
  std::string data;
  switch (request.op_case()) {
    case proto::Request::kOpen: {
      auto opened = brick.OpenFile(request.open().node(), request.open().flags());
      if (!opened.ok()) return {.response = proto::ErrorResponse(opened.status())};
      auto handle = std::make_shared<OpenHandle>();
      handle->node = request.open().node();
      handle->pin = brick.Pin(handle->node).value_or(nullptr);
      handle->fd = std::move(opened->fd);
      handle->synchronous = request.open().flags() & O_DSYNC;  // O_SYNC includes it
      response.mutable_open()->set_handle(AddHandle(std::move(handle)));
      *response.mutable_open()->mutable_attr() = std::move(opened->attr);
      break;
    }
    case proto::Request::kCreate: {
      auto created = brick.Create(request.create(), assign_id_);
      if (!created.ok()) return {.response = proto::ErrorResponse(created.status())};
      auto handle = std::make_shared<OpenHandle>();
      handle->node = created->attr.ino();
      handle->pin = brick.Pin(handle->node).value_or(nullptr);
      handle->fd = std::move(created->fd);
      handle->synchronous = request.create().flags() & O_DSYNC;
      response.mutable_create()->set_handle(AddHandle(std::move(handle)));
      *response.mutable_create()->mutable_entry()->mutable_attr() = std::move(created->attr);
      break;
    }
    case proto::Request::kOpenDir: {
      auto reader = storage::DirectoryReader::Open(brick, request.open_dir().node());
      if (!reader.ok()) return {.response = proto::ErrorResponse(reader.status())};
      auto handle = std::make_shared<OpenHandle>();
      handle->node = request.open_dir().node();
      handle->pin = brick.Pin(handle->node).value_or(nullptr);
      handle->directory = std::move(reader.value());
      response.mutable_open_dir()->set_handle(AddHandle(std::move(handle)));
      break;
    }
    case proto::Request::kRelease: {
      // In order with what the client sends next: a lock request from another process after
      // this close must find the flock gone. Closing the descriptor (which may free the blocks of
      // an unlinked file) is left to the pool.
      auto handle = FindHandle(request.release().handle());
      if (!handle || !DropHandle(request.release().handle())) return {.response = BadHandle(request.release().handle())};
      if (handle->fd.valid()) (void)storage::SetWholeFileLock(handle->fd.get(), proto::LOCK_TYPE_UNLOCK);
      if (handle->replicated && role_) role_->Released(request.release().handle());
      workers_.Post([handle = std::move(handle)]() mutable { handle.reset(); });
      response.mutable_release();
      break;
    }
    case proto::Request::kReadDir: {
      const auto& read_dir = request.read_dir();
      auto handle = FindHandle(read_dir.handle());
      if (!handle || !handle->directory) return {.response = BadHandle(read_dir.handle())};
      uint32_t entries_max = std::min(read_dir.max_entries(), kReadDirEntriesMax);
      response = From(handle->directory->Read(read_dir.cookie(), entries_max, read_dir.plus()),
                      [](proto::Response& r, proto::ReadDirResponse& d) { *r.mutable_read_dir() = std::move(d); });
      break;
    }
    default: {
      // The rest work on an open file's descriptor.
      uint64_t id = 0;
      switch (request.op_case()) {
        case proto::Request::kRead: id = request.read().handle(); break;
        case proto::Request::kWrite: id = request.write().handle(); break;
        case proto::Request::kFsync: id = request.fsync().handle(); break;
        case proto::Request::kFallocate: id = request.fallocate().handle(); break;
        case proto::Request::kSeek: id = request.seek().handle(); break;
        default: break;
      }
      auto handle = FindHandle(id);
      if (!handle) return {.response = BadHandle(id)};
      // fsync of a directory (fsyncdir) goes through its reader's descriptor.
      const int fd = handle->fd.valid() ? handle->fd.get()
                     : (handle->directory && request.has_fsync()) ? handle->directory->fd()
                                                                   : -1;
      if (fd < 0) return {.response = BadHandle(id)};
      if (request.has_read()) {
        uint32_t size = std::min(request.read().size(), proto::kIoBytesMax);
        auto read = storage::ReadAt(fd, request.read().offset(), size);
        if (!read.ok()) return {.response = proto::ErrorResponse(read.status())};
        volume_->CountRead();
        response.mutable_read();
        data = std::move(read.value());
      } else if (request.has_write()) {
        response = From(storage::WriteAt(fd, request.write().offset(), net::Bytes(net::View(trailer))),
                        [](proto::Response& r, uint32_t& n) { r.mutable_write()->set_written(n); });
      } else if (request.has_fsync()) {
        response = From(storage::Sync(fd, request.fsync().data_only()), [](proto::Response& r) { r.mutable_fsync(); });
      } else if (request.has_fallocate()) {
        const auto& f = request.fallocate();
        response = From(storage::Allocate(fd, f.mode(), f.offset(), f.length()),
                        [](proto::Response& r) { r.mutable_fallocate(); });
      } else {
        response = From(storage::Seek(fd, request.seek().offset(), request.seek().whence()),
                        [](proto::Response& r, uint64_t& at) { r.mutable_seek()->set_offset(at); });
      }
    }
  }
  return {.response = std::move(response), .trailer = std::move(data)};
}

Session::Answer Session::HandleLock(const proto::Request& request) {
  proto::Response response;
  if (request.has_flush()) {
    // close(2) drops every POSIX lock the closing owner holds on the file.
    auto handle = FindHandle(request.flush().handle());
    if (!handle) return {.response = BadHandle(request.flush().handle())};
    std::lock_guard lock(mutex_);
    lock_owners_.erase({request.flush().owner(), handle->node});
    response.mutable_flush();
    return {.response = std::move(response)};
  }
  const bool get = request.has_get_lock();
  const uint64_t id = get ? request.get_lock().handle() : request.set_lock().handle();
  auto handle = FindHandle(id);
  if (!handle || !handle->fd.valid()) return {.response = BadHandle(id)};
  // Right after a failover only the locks clients held before are granted (ReplicaRole::MayGrantLock).
  if (!get && role_ && !request.set_lock().reclaim() && request.set_lock().lock().type() != proto::LOCK_TYPE_UNLOCK)
    if (Status grace = role_->MayGrantLock(); !grace.ok()) return {.response = proto::ErrorResponse(grace)};
  if (!get && request.set_lock().whole_file()) {
    response = From(storage::SetWholeFileLock(handle->fd.get(), request.set_lock().lock().type()),
                    [](proto::Response& r) { r.mutable_set_lock(); });
    return {.response = std::move(response)};
  }
  auto fd = LockDescriptor(*handle, get ? request.get_lock().owner() : request.set_lock().owner());
  if (!fd.ok()) return {.response = proto::ErrorResponse(fd.status())};
  if (get) {
    auto found = storage::TestRangeLock(*fd, request.get_lock().lock());
    if (found.ok() && found->type() != proto::LOCK_TYPE_UNLOCK)
      found->set_pid(HolderPid(handle->node, request.get_lock().owner(), *found));
    response = From(std::move(found), [](proto::Response& r, proto::Lock& l) { *r.mutable_get_lock()->mutable_lock() = l; });
  } else {
    const auto& set = request.set_lock();
    Status status = storage::SetRangeLock(*fd, set.lock());
    if (status.ok() && set.lock().type() != proto::LOCK_TYPE_UNLOCK) {
      std::lock_guard lock(mutex_);
      LockOwner& owner = lock_owners_[{set.owner(), handle->node}];
      owner.pid = set.lock().pid();
      owner.start = std::min(owner.start, set.lock().start());
      owner.end = set.lock().length() == 0 ? UINT64_MAX : std::max(owner.end, set.lock().start() + set.lock().length());
    }
    response = From(std::move(status), [](proto::Response& r) { r.mutable_set_lock(); });
  }
  return {.response = std::move(response)};
}

// Handle ids are unique across sessions and server runs (a random start, then counting), never
// per connection from 1: a client resends requests caught by a reconnect with the handle of the
// old connection, and that must fail with kBadHandle (the client then reopens and retries), not
// reach another file that the new connection happens to hold under the same number.
static uint64_t NextHandleId() {
  static std::atomic<uint64_t> next{[] {
    std::random_device random;
    return ((uint64_t{random()} << 32) | random()) >> 1 | 1;  // far from 0 and from wrapping
  }()};
  return next.fetch_add(1);
}

uint64_t Session::AddHandle(std::shared_ptr<OpenHandle> handle) {
  std::lock_guard lock(mutex_);
  uint64_t id = NextHandleId();
  handles_.emplace(id, std::move(handle));
  return id;
}

std::shared_ptr<Session::OpenHandle> Session::FindHandle(uint64_t id) {
  std::lock_guard lock(mutex_);
  auto it = handles_.find(id);
  return it == handles_.end() ? nullptr : it->second;
}

bool Session::DropHandle(uint64_t id) {
  std::lock_guard lock(mutex_);
  return handles_.erase(id) == 1;
}

uint32_t Session::HolderPid(storage::NodeId node, uint64_t asking_owner, const proto::Lock& lock) {
  const uint64_t start = lock.start(), end = lock.length() == 0 ? UINT64_MAX : lock.start() + lock.length();
  std::lock_guard guard(mutex_);
  for (const auto& [key, owner] : lock_owners_) {
    if (key.second != node || key.first == asking_owner) continue;
    if (owner.start < end && start < owner.end) return owner.pid;
  }
  return 0;  // held through another client: its pid means nothing here
}

Result<int> Session::LockDescriptor(const OpenHandle& handle, uint64_t owner) {
  std::lock_guard lock(mutex_);
  auto key = std::pair{owner, handle.node};
  auto it = lock_owners_.find(key);
  if (it != lock_owners_.end() && it->second.fd.valid()) return it->second.fd.get();
  // A descriptor of its own per owner, so that the kernel keeps owners' locks apart.
  UniqueFd fd(::open(storage::FdPath(handle.fd.get()).c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) fd.Reset(::open(storage::FdPath(handle.fd.get()).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(errno, "opening lock descriptor");
  int raw = fd.get();
  lock_owners_[key].fd = std::move(fd);
  return raw;
}

}  // namespace shoal::server
