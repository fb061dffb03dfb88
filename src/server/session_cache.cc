// The session's side of caching with invalidation (cache_tracker.h): what each answer lets the
// client's kernel cache, what each change touches, and the pushes to and acknowledgements from the
// client.
#include <fcntl.h>

#include <spdlog/spdlog.h>

#include <algorithm>

#include "server/session.h"

namespace shoal::server {
namespace {

// Reaches one client's connection for the tracker.
class ConnectionPushes : public PushSink {
 public:
  explicit ConnectionPushes(std::shared_ptr<net::Connection> connection) : connection_(std::move(connection)) {}

  void Push(uint64_t push_id, const Invalidation& invalidation) override {
    proto::Push push;
    auto* out = push.mutable_invalidate();
    for (const CacheItem& item : invalidation.items) {
      switch (item.kind) {
        case CacheItem::Kind::kAttributes: out->add_nodes(item.node); break;
        case CacheItem::Kind::kListing: out->add_listings(item.node); break;
        case CacheItem::Kind::kEntry: {
          auto* entry = out->add_entries();
          entry->set_parent(item.node);
          entry->set_name(item.name);
          break;
        }
      }
    }
    out->set_all(invalidation.all);
    net::Frame frame;
    frame.header.kind = proto::FrameKind::kPush;
    frame.header.opcode = static_cast<uint16_t>(proto::Push::kInvalidate);
    frame.header.request_id = push_id;
    frame.body = proto::Serialize(push);
    connection_->Send(std::move(frame));
  }

  void Lost(const std::string& reason) override {
    spdlog::warn("session.cache_client_lost peer={} reason=\"{}\"", connection_->peer(), reason);
    connection_->Close(reason);
  }

 private:
  const std::shared_ptr<net::Connection> connection_;
};

bool Ok(const proto::Response& response) { return response.status() == 0; }

// What the answer to `request` lets the client's kernel cache. `handle_node`: the node of the
// request's open handle, if it has one.
std::vector<CacheItem> Granted(const proto::Request& request, const proto::Response& response,
                               storage::NodeId handle_node) {
  std::vector<CacheItem> items;
  auto entry = [&items](uint64_t parent, const std::string& name, const proto::Entry& found) {
    items.push_back(CacheItem::Entry(parent, name));
    items.push_back(CacheItem::Attributes(found.attr().ino()));
  };
  if (!Ok(response)) {
    // A name not found is cached as such (a negative entry).
    if (request.has_lookup() && response.status() == static_cast<uint32_t>(Code::kNotFound))
      items.push_back(CacheItem::Entry(request.lookup().parent(), request.lookup().name()));
    return items;
  }
  switch (request.op_case()) {
    case proto::Request::kLookup: entry(request.lookup().parent(), request.lookup().name(), response.lookup().entry()); break;
    case proto::Request::kMakeNode: entry(request.make_node().parent(), request.make_node().name(), response.make_node().entry()); break;
    case proto::Request::kSymlink: entry(request.symlink().parent(), request.symlink().name(), response.symlink().entry()); break;
    case proto::Request::kLink: entry(request.link().new_parent(), request.link().new_name(), response.link().entry()); break;
    case proto::Request::kCreate: entry(request.create().parent(), request.create().name(), response.create().entry()); break;
    case proto::Request::kGetAttr: items.push_back(CacheItem::Attributes(request.get_attr().node())); break;
    case proto::Request::kSetAttr: items.push_back(CacheItem::Attributes(request.set_attr().node())); break;
    case proto::Request::kOpen: items.push_back(CacheItem::Attributes(request.open().node())); break;
    case proto::Request::kGetXattr: items.push_back(CacheItem::Attributes(request.get_xattr().node())); break;
    case proto::Request::kListXattr: items.push_back(CacheItem::Attributes(request.list_xattr().node())); break;
    case proto::Request::kRead:
      if (handle_node != 0) items.push_back(CacheItem::Attributes(handle_node));  // its pages
      break;
    case proto::Request::kReadDir:
      if (handle_node == 0) break;
      items.push_back(CacheItem::Listing(handle_node));
      if (request.read_dir().plus())
        for (const auto& found : response.read_dir().entries()) {
          if (found.name() == "." || found.name() == "..") continue;
          items.push_back(CacheItem::Entry(handle_node, found.name()));
          items.push_back(CacheItem::Attributes(found.attr().ino()));
        }
      break;
    default:
      break;
  }
  for (const proto::Attr& dir : response.changed_dirs()) items.push_back(CacheItem::Attributes(dir.ino()));
  return items;
}

// The names the change `request` makes or takes away, as (directory, name).
std::vector<std::pair<storage::NodeId, std::string>> NamesChanged(const proto::Request& request) {
  switch (request.op_case()) {
    case proto::Request::kCreate: return {{request.create().parent(), request.create().name()}};
    case proto::Request::kMakeNode: return {{request.make_node().parent(), request.make_node().name()}};
    case proto::Request::kSymlink: return {{request.symlink().parent(), request.symlink().name()}};
    case proto::Request::kLink: return {{request.link().new_parent(), request.link().new_name()}};
    case proto::Request::kRemove: return {{request.remove().parent(), request.remove().name()}};
    case proto::Request::kRename:
      return {{request.rename().parent(), request.rename().name()},
              {request.rename().new_parent(), request.rename().new_name()}};
    default: return {};
  }
}

// Everything in a directory's cache that a change of its name `name` makes wrong.
void NameChanged(std::vector<CacheItem>& items, uint64_t parent, const std::string& name) {
  items.push_back(CacheItem::Entry(parent, name));
  items.push_back(CacheItem::Attributes(parent));  // mtime, ctime, nlink
  items.push_back(CacheItem::Listing(parent));
}

// What the change `request` (answered with `response`) makes wrong in other clients' caches.
// `replaced`: the nodes its names referred to before (remove, rename), looked up beforehand.
std::vector<CacheItem> Changed(const proto::Request& request, const proto::Response& response,
                               storage::NodeId handle_node, std::vector<CacheItem> replaced) {
  std::vector<CacheItem> items = std::move(replaced);
  if (!Ok(response)) return {};
  switch (request.op_case()) {
    case proto::Request::kSetAttr: items.push_back(CacheItem::Attributes(request.set_attr().node())); break;
    case proto::Request::kSetXattr: items.push_back(CacheItem::Attributes(request.set_xattr().node())); break;
    case proto::Request::kRemoveXattr: items.push_back(CacheItem::Attributes(request.remove_xattr().node())); break;
    case proto::Request::kWrite:
    case proto::Request::kFallocate:
      if (handle_node != 0) items.push_back(CacheItem::Attributes(handle_node));
      break;
    case proto::Request::kOpen:
      if (request.open().flags() & O_TRUNC) items.push_back(CacheItem::Attributes(request.open().node()));
      break;
    case proto::Request::kCreate:
      items.push_back(CacheItem::Attributes(response.create().entry().attr().ino()));  // an existing file truncated
      break;
    case proto::Request::kLink: items.push_back(CacheItem::Attributes(request.link().node())); break;
    default:
      break;
  }
  for (const auto& [parent, name] : NamesChanged(request)) NameChanged(items, parent, name);
  return items;
}

// The open handle a request works through, if any.
uint64_t HandleOf(const proto::Request& request) {
  switch (request.op_case()) {
    case proto::Request::kRead: return request.read().handle();
    case proto::Request::kWrite: return request.write().handle();
    case proto::Request::kFallocate: return request.fallocate().handle();
    case proto::Request::kReadDir: return request.read_dir().handle();
    default: return 0;
  }
}

}  // namespace

void Session::JoinCacheTracking(const proto::HelloRequest& hello, proto::HelloResponse& response) {
  if (cache_ == nullptr) return;
  if (cache_session_.load() == 0) {
    auto sink = hello.accepts_pushes() ? std::make_shared<ConnectionPushes>(connection_) : nullptr;
    cache_session_ = cache_->AddSession(hello.volume(), std::move(sink));
  }
  if (hello.accepts_pushes()) response.set_push_ack_timeout_ms(static_cast<uint32_t>(cache_->options().ack_timeout_ms));
}

void Session::LeaveCacheTracking() {
  if (auto id = cache_session_.exchange(0); id != 0) cache_->RemoveSession(id);
}

void Session::OnPushAck(const net::Frame& frame) {
  if (auto id = cache_session_.load(); id != 0) cache_->Ack(id, frame.header.request_id);
}

// Handles the request, then, for a volume session: records what the answer lets the client cache
// (or marks it not to be cached), and holds the answer to a change until the other clients that
// cached what it touched have dropped it.
void Session::Serve(uint64_t id, const proto::Request& request, const net::Bulk& trailer) {
  ServeContext context = BeginServe(request);
  EndServe(id, request, context, Handle(request, trailer, id));
}

Session::ServeContext Session::BeginServe(const proto::Request& request) {
  ServeContext context{.session = cache_session_.load()};
  if (context.session == 0) return context;
  context.since = cache_->Sequence();
  if (uint64_t handle = HandleOf(request); handle != 0)
    if (auto open = FindHandle(handle)) context.handle_node = open->node;
  // Nodes whose names a removal or rename takes away, found before they are gone.
  if ((request.has_remove() || request.has_rename()) && cache_->Shared(context.session)) {
    storage::Brick& brick = *brick_.load();
    auto note = [&](uint64_t parent, const std::string& name) {
      if (auto found = brick.Lookup(parent, name); found.ok())
        context.replaced.push_back(CacheItem::Attributes(found->ino()));
    };
    if (request.has_remove()) note(request.remove().parent(), request.remove().name());
    if (request.has_rename()) {
      note(request.rename().parent(), request.rename().name());
      note(request.rename().new_parent(), request.rename().new_name());
    }
  }
  return context;
}

void Session::EndServe(uint64_t id, const proto::Request& request, const ServeContext& context, Answer answer) {
  if (context.session == 0) return Reply(id, std::move(answer));
  if (Ok(answer.response)) {
    std::vector<storage::NodeId> dirs;
    for (const auto& [parent, name] : NamesChanged(request))
      if (std::find(dirs.begin(), dirs.end(), parent) == dirs.end()) dirs.push_back(parent);
    for (storage::NodeId dir : dirs)
      if (auto attr = brick_.load()->GetAttr(dir); attr.ok()) *answer.response.add_changed_dirs() = std::move(*attr);
  }
  const auto now = CacheTracker::Clock::now();
  std::vector<CacheItem> granted = Granted(request, answer.response, context.handle_node);
  if (!granted.empty() && !cache_->Grant(context.session, granted, context.since, now)) answer.response.set_no_cache(true);
  std::vector<CacheItem> changed = Changed(request, answer.response, context.handle_node, context.replaced);
  if (changed.empty()) return Reply(id, std::move(answer));
  auto held = std::make_shared<Answer>(std::move(answer));
  cache_->Change(context.session, changed, now, [self = shared_from_this(), id, held] { self->Reply(id, std::move(*held)); });
}

}  // namespace shoal::server
