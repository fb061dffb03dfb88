#include "client/client.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <random>

#include <spdlog/spdlog.h>

#include "proto/messages.h"

namespace shoal::client {
namespace {

constexpr uint32_t kProtocolVersion = 1;

std::string RandomClientId() {
  std::random_device random;
  std::string id(16, '\0');
  for (auto& c : id) c = static_cast<char>(random());
  return id;
}

// Turns a frame that arrived into an error when the server reported one.
Result<Reply> Checked(Result<Reply> reply) {
  if (!reply.ok()) return reply;
  Status status = proto::StatusOf(reply->response);
  if (!status.ok()) return status;
  return reply;
}

// Takes `locks[i]` and then the rest again on `file`, one after the other in the order they were
// granted: a later unlock of part of a range must come after the lock it splits.
void ReclaimFrom(Client& client, std::shared_ptr<OpenFile> file,
                 std::shared_ptr<const std::vector<proto::SetLockRequest>> locks, size_t i) {
  if (i == locks->size()) {
    spdlog::info("client.locks_reclaimed node={} count={}", file->node, locks->size());
    return;
  }
  client.CallOnFile(file, [request = (*locks)[i]](uint64_t handle) {
    proto::Request r;
    *r.mutable_set_lock() = request;
    r.mutable_set_lock()->set_handle(handle);
    r.mutable_set_lock()->set_reclaim(true);
    return r;
  }, nullptr, [&client, file, locks, i](Result<Reply> reply) {
    if (!reply.ok())
      spdlog::warn("client.lock_lost node={} owner={} error=\"{}\": another client may hold it now", file->node,
                   (*locks)[i].owner(), reply.status().ToString());
    ReclaimFrom(client, file, locks, i + 1);
  });
}

}  // namespace

bool RetrySafe(const proto::Request& request) {
  switch (request.op_case()) {
    case proto::Request::kHello:
    case proto::Request::kPing:
    case proto::Request::kLookup:
    case proto::Request::kGetAttr:
    case proto::Request::kSetAttr:
    case proto::Request::kReadLink:
    case proto::Request::kOpen:
    case proto::Request::kRead:
    case proto::Request::kFsync:
    case proto::Request::kOpenDir:
    case proto::Request::kReadDir:
    case proto::Request::kStatFs:
    case proto::Request::kGetXattr:
    case proto::Request::kListXattr:
    case proto::Request::kSeek:
    case proto::Request::kGetLock:
    case proto::Request::kFlush:
    case proto::Request::kRelease:
      return true;
    case proto::Request::kWrite:
      return !request.write().append();  // a write at an offset lands in the same place twice
    case proto::Request::kSetXattr:
      return request.set_xattr().flags() == 0;
    default:
      return false;  // create, remove, rename, link...: a second try may see the first one's effect
  }
}

Result<std::unique_ptr<Client>> Client::Connect(const ClientOptions& options) {
  net::TransportOptions transport{
      .servers = options.servers,
      .connect_timeout_ms = options.connect_timeout_ms,
      .give_up_ms = options.give_up_ms,
  };
  if (options.replicated) {
    transport.ping_interval_ms = 250;
    transport.silence_ms = 1000;
    transport.backoff_max_ms = 200;
    transport.hello_timeout_ms = 1000;
  }
  auto* hello = transport.hello.mutable_hello();
  hello->set_protocol_version(kProtocolVersion);
  hello->set_volume(options.volume);
  hello->set_client_id(RandomClientId());
  hello->set_client_name(options.client_name);
  hello->set_accepts_pushes(true);  // acknowledged at once unless someone handles them (transport)
  const proto::Request client_hello = transport.hello;
  SHOAL_ASSIGN_OR_RETURN(auto connected, net::ClientTransport::Connect(std::move(transport)));
  std::unique_ptr<Client> client(new Client(std::move(connected), options.replicated));
  if (options.replicated) client->transport_->SetReconnectHandler([raw = client.get()] { raw->ReclaimLocks(); });
  if (options.replicated && options.spread_reads && options.servers.size() > 1)
    client->spread_ = std::make_unique<ReadSpread>(options.servers, client_hello);
  return client;
}

void Client::NoteLock(const std::shared_ptr<OpenFile>& file, const proto::SetLockRequest& granted) {
  {
    std::lock_guard lock(file->mutex);
    const bool unlock = granted.lock().type() == proto::LOCK_TYPE_UNLOCK;
    const bool all = granted.whole_file() || (granted.lock().start() == 0 && granted.lock().length() == 0);
    if (unlock && all) {
      // Everything this owner held on the file is gone: nothing before it needs taking again.
      std::erase_if(file->locks, [&](const proto::SetLockRequest& noted) {
        return noted.owner() == granted.owner() && noted.whole_file() == granted.whole_file();
      });
      if (!granted.whole_file()) file->lock_owners.erase(granted.owner());
      return;
    }
    if (!granted.whole_file() && !unlock) file->lock_owners.insert(granted.owner());
    if (replicated_) file->locks.push_back(granted);
  }
  std::lock_guard lock(locked_mutex_);
  std::erase_if(locked_, [](const auto& weak) { return weak.expired(); });
  if (std::ranges::none_of(locked_, [&](const auto& weak) { return weak.lock() == file; })) locked_.push_back(file);
}

void Client::ForgetLocks(NodeId node, uint64_t owner) {
  std::vector<std::shared_ptr<OpenFile>> files;
  {
    std::lock_guard lock(locked_mutex_);
    for (const auto& weak : locked_)
      if (auto file = weak.lock(); file && file->node == node) files.push_back(std::move(file));
  }
  for (const auto& file : files) {
    std::lock_guard lock(file->mutex);
    std::erase_if(file->locks, [&](const proto::SetLockRequest& noted) {
      return noted.owner() == owner && !noted.whole_file();  // close(2) drops POSIX locks, not flocks
    });
    file->lock_owners.erase(owner);
  }
}

void Client::ReclaimLocks() {
  std::vector<std::shared_ptr<OpenFile>> files;
  {
    std::lock_guard lock(locked_mutex_);
    for (const auto& weak : locked_)
      if (auto file = weak.lock()) files.push_back(std::move(file));
  }
  for (auto& file : files) {
    std::vector<proto::SetLockRequest> locks;
    {
      std::lock_guard lock(file->mutex);
      locks = file->locks;
    }
    if (locks.empty()) continue;
    ReclaimFrom(*this, std::move(file), std::make_shared<const std::vector<proto::SetLockRequest>>(std::move(locks)), 0);
  }
}

void Client::Call(proto::Request request, net::Bulk trailer, Callback done) {
  bool retry_safe = replicated_ || RetrySafe(request);
  transport_->Call(std::move(request), std::move(trailer), retry_safe,
                   [done = std::move(done)](Result<Reply> reply) { done(Checked(std::move(reply))); });
}

Result<Reply> Client::CallSync(proto::Request request, net::Bulk trailer) {
  std::promise<Result<Reply>> promise;
  auto future = promise.get_future();
  Call(std::move(request), std::move(trailer), [&promise](Result<Reply> reply) { promise.set_value(std::move(reply)); });
  return future.get();
}

std::shared_ptr<OpenFile> Client::Adopt(NodeId node, uint32_t flags, bool directory, uint64_t server_handle) {
  auto file = std::make_shared<OpenFile>();
  file->node = node;
  file->flags = flags & ~(O_CREAT | O_EXCL | O_TRUNC);
  file->directory = directory;
  file->server_handle = server_handle;
  file->generation = transport_->generation();
  return file;
}

std::shared_ptr<OpenFile> Client::AdoptUnopened(NodeId node, uint32_t flags, bool directory) {
  auto file = Adopt(node, flags, directory, 0);
  file->generation = 0;  // no connection has it open: the first use opens it
  return file;
}

Status Client::Materialize(std::shared_ptr<OpenFile> file) {
  {
    std::lock_guard lock(file->mutex);
    if (file->generation == transport_->generation()) return Status::Ok();
  }
  std::promise<Status> promise;
  auto future = promise.get_future();
  Reopen(std::move(file), [&promise](Status status) { promise.set_value(std::move(status)); });
  return future.get();
}

void Client::Reopen(std::shared_ptr<OpenFile> file, std::function<void(Status)> done) {
  {
    std::lock_guard lock(file->mutex);
    file->reopen_waiters.push_back(std::move(done));
    if (file->reopening) return;  // the reopen on its way answers this caller too
    file->reopening = true;
  }
  proto::Request request;
  if (file->directory) {
    request.mutable_open_dir()->set_node(file->node);
  } else {
    request.mutable_open()->set_node(file->node);
    request.mutable_open()->set_flags(file->flags);
  }
  Call(std::move(request), nullptr, [this, file](Result<Reply> reply) {
    std::vector<std::function<void(Status)>> waiters;
    {
      std::lock_guard lock(file->mutex);
      if (reply.ok()) {
        const auto& response = reply->response;
        file->server_handle = file->directory ? response.open_dir().handle() : response.open().handle();
        // The connection that answered (the open may have been resent on a newer one than it was
        // first sent on): callbacks run on the transport's thread, the only one that changes it.
        file->generation = transport_->generation();
      }
      file->reopening = false;
      waiters.swap(file->reopen_waiters);
    }
    // Outside the lock: they send the requests that were waiting for the reopen.
    const Status status = reply.ok() ? Status::Ok() : reply.status();
    for (auto& waiter : waiters) waiter(status);
  });
}

void Client::CallOnFile(std::shared_ptr<OpenFile> file, std::function<proto::Request(uint64_t handle)> build,
                        net::Bulk trailer, Callback done) {
  uint64_t handle = 0;
  bool current = false;
  {
    std::lock_guard lock(file->mutex);
    handle = file->server_handle;
    current = file->generation == transport_->generation();
  }
  if (!current) {
    Reopen(file, [this, file, build = std::move(build), trailer = std::move(trailer),
                  done = std::move(done)](Status reopened) mutable {
      if (!reopened.ok()) return done(reopened);
      CallOnFile(std::move(file), std::move(build), std::move(trailer), std::move(done));
    });
    return;
  }
  // The data stays shared with the callback for one more try: the connection may drop between
  // our check and the send.
  Call(build(handle), trailer,
       [this, file, build, handle, retry_trailer = trailer, done = std::move(done)](Result<Reply> reply) mutable {
         if (reply.ok() || reply.status().code() != Code::kBadHandle) return done(std::move(reply));
         // Sent (or resent after a reconnect) with a handle of an older connection: try again
         // with the current one, reopening first if no request on this file has done so yet.
         bool stale = false;
         {
           std::lock_guard lock(file->mutex);
           stale = file->server_handle != handle || file->generation != transport_->generation();
         }
         if (!stale) return done(std::move(reply));
         CallOnFile(std::move(file), std::move(build), std::move(retry_trailer), std::move(done));
       });
}

void Client::Read(std::shared_ptr<OpenFile> file, uint64_t offset, uint32_t size, Callback done) {
  auto on_primary = [this, file, offset, size](Callback done) {
    CallOnFile(file, [offset, size](uint64_t handle) {
      proto::Request r;
      r.mutable_read()->set_handle(handle);
      r.mutable_read()->set_offset(offset);
      r.mutable_read()->set_size(size);
      return r;
    }, nullptr, std::move(done));
  };
  const ReadSpread::Target target = spread_ ? spread_->Pick(file->node, transport_->server_index()) : ReadSpread::Target{};
  if (target.transport == nullptr) return on_primary(std::move(done));
  proto::Request request;
  request.mutable_read()->set_node(file->node);
  request.mutable_read()->set_offset(offset);
  request.mutable_read()->set_size(size);
  // Not resent by that connection: a read it cannot serve at once goes to the primary.
  target.transport->Call(std::move(request), nullptr, /*retry_safe=*/false,
                         [this, brick = target.brick, on_primary, done = std::move(done)](Result<Reply> reply) mutable {
                           reply = Checked(std::move(reply));
                           if (reply.ok()) return done(std::move(reply));
                           spread_->Failed(brick, reply.status());
                           on_primary(std::move(done));
                         });
}

void Client::Release(std::shared_ptr<OpenFile> file) {
  uint64_t handle = 0;
  std::vector<uint64_t> owners;
  {
    std::lock_guard lock(file->mutex);
    if (file->generation != transport_->generation()) {
      --releases_unsent_;
      return;  // the server already let go
    }
    handle = file->server_handle;
    owners.assign(file->lock_owners.begin(), file->lock_owners.end());
  }
  // Each owner's locks go as its close(2) would have dropped them (a flush), before the handle.
  auto release = [this, handle] {
    proto::Request request;
    request.mutable_release()->set_handle(handle);
    Call(std::move(request), nullptr, [](Result<Reply>) {});
    --releases_unsent_;  // sent: a request sent after this comes after it
  };
  if (owners.empty()) return release();
  auto left = std::make_shared<std::atomic<size_t>>(owners.size());
  for (uint64_t owner : owners) {
    ForgetLocks(file->node, owner);
    proto::Request request;
    request.mutable_flush()->set_handle(handle);
    request.mutable_flush()->set_owner(owner);
    Call(std::move(request), nullptr, [left, release](Result<Reply>) {
      if (--*left == 0) release();
    });
  }
}

}  // namespace shoal::client
