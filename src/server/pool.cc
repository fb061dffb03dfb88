#include "server/pool.h"

#include <algorithm>
#include <filesystem>
#include <future>
#include <map>

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>

#include "net/admin_call.h"
#include "server/volume_records.h"

namespace shoal::server {
namespace {

std::string Url(const HostPort& address) { return "http://" + address.ToString(); }

std::string ToJson(const proto::PoolServer& server) {
  proto::PoolServer stored = server;
  stored.clear_state();
  stored.clear_self();
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(stored, &json);
  return json;
}

}  // namespace

Pool::Pool(PoolOptions options)
    : options_(std::move(options)), name_(options_.address.ToString()) {
  SetEtcd(managed() ? std::vector<HostPort>{options_.etcd_client} : options_.etcd_endpoints);
  thread_ = std::thread([this] {
    std::unique_lock lock(queue_mutex_);
    for (;;) {
      queue_changed_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      auto work = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      work();
      lock.lock();
    }
  });
}

Pool::~Pool() {
  (void)RunOnPoolThread([this] {
    member_.reset();  // stops it
    return Status::Ok();
  });
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_changed_.notify_all();
  thread_.join();
}

Status Pool::RunOnPoolThread(std::function<Status()> work) {
  std::promise<Status> done;
  auto result = done.get_future();
  {
    std::lock_guard lock(queue_mutex_);
    queue_.push_back([&] { done.set_value(work()); });
  }
  queue_changed_.notify_all();
  return result.get();
}

std::shared_ptr<coord::EtcdClient> Pool::Etcd() {
  std::lock_guard lock(etcd_mutex_);
  return etcd_;
}

void Pool::RefreshEndpoints() {
  if (!managed()) return;
  auto members = Etcd()->MemberList();
  if (!members.ok()) return;
  std::vector<HostPort> endpoints = {options_.etcd_client};
  for (const coord::Member& member : *members)
    for (std::string_view url : member.client_urls)
      if (url.starts_with("http://") && url != Url(options_.etcd_client))
        if (auto endpoint = ParseHostPort(url.substr(7)); endpoint.ok()) endpoints.push_back(*endpoint);
  std::lock_guard lock(etcd_mutex_);
  if (etcd_ && etcd_->endpoints() == endpoints) return;
  etcd_ = std::make_shared<coord::EtcdClient>(coord::EtcdOptions{.endpoints = std::move(endpoints)});
}

void Pool::SetEtcd(std::vector<HostPort> endpoints) {
  auto client = std::make_shared<coord::EtcdClient>(coord::EtcdOptions{.endpoints = std::move(endpoints)});
  std::lock_guard lock(etcd_mutex_);
  etcd_ = std::move(client);
}

Status Pool::RestartMember(std::unique_ptr<coord::MemberOptions> member) {
  return RunOnPoolThread([&]() -> Status {
    member_.reset();
    if (!member) return Status::Ok();
    member_ = std::make_unique<coord::EtcdMember>(std::move(*member));
    Status started = member_->Start();
    if (!started.ok()) member_.reset();
    return started;
  });
}

Status Pool::Start() {
  if (managed()) {
    // With data from an earlier run etcd ignores the initial cluster and rejoins its own.
    SHOAL_RETURN_IF_ERROR(RestartMember(std::make_unique<coord::MemberOptions>(coord::MemberOptions{
        .name = name_, .directory = options_.data_dir + "/etcd", .client = options_.etcd_client,
        .peer = options_.etcd_peer})));
  }
  auto recorded = RecordSelf();
  if (!recorded.ok())
    spdlog::warn("pool.record_failed server={} error=\"{}\"", name_, recorded.status().ToString());
  else
    spdlog::info("pool.started server={} etcd_member={:x}", name_, recorded->etcd_member_id());
  return Status::Ok();
}

Result<proto::PoolServer> Pool::RecordSelf() {
  auto etcd = Etcd();
  proto::PoolServer self;
  self.set_name(name_);
  self.set_address(name_);
  if (managed()) {
    auto status = etcd->MemberStatus();
    if (!status.ok()) return status.status();
    self.set_etcd_member_id(status->member_id);
    self.set_etcd_peer_url(Url(options_.etcd_peer));
    self.set_etcd_client_url(Url(options_.etcd_client));
  }
  auto put = etcd->Put({.key = kServerPrefix + name_, .value = ToJson(self)});
  if (!put.ok()) return put.status();
  self.set_self(true);
  self.set_state(proto::SERVER_STATE_CONNECTED);
  return self;
}

Result<std::vector<proto::PoolServer>> Pool::ReadRecords(bool serializable) {
  auto range = Etcd()->Range({.key = kServerPrefix, .prefix = true, .serializable = serializable});
  if (!range.ok()) return Status(range.status().code(), "reading the pool from etcd: " + range.status().message());
  std::vector<proto::PoolServer> servers;
  for (const coord::KeyValue& kv : range->kvs) {
    proto::PoolServer server;
    if (!google::protobuf::util::JsonStringToMessage(kv.value, &server).ok()) {
      spdlog::warn("pool.bad_record key={}", kv.key);
      continue;
    }
    server.set_self(server.name() == name_);
    servers.push_back(std::move(server));
  }
  std::sort(servers.begin(), servers.end(), [](const auto& a, const auto& b) { return a.name() < b.name(); });
  return servers;
}

Result<proto::PoolListResponse> Pool::List() {
  proto::PoolListResponse response;
  auto servers = ReadRecords();
  if (!servers.ok()) {  // no quorum: what this server's member knows
    response.mutable_staleness()->set_stale(true);
    response.mutable_staleness()->set_reason(
        fmt::format("the pool's etcd cluster has no quorum ({}); this is server {}'s copy", servers.status().message(), name_));
    servers = ReadRecords(/*serializable=*/true);
  }
  if (!servers.ok()) return servers.status();
  // Each other server is asked at once; a down one costs status_timeout_ms, not one each.
  std::vector<std::future<bool>> answered;
  for (const proto::PoolServer& server : *servers) {
    answered.push_back(std::async(std::launch::async, [this, server] {
      if (server.self()) return true;
      auto address = ParseHostPort(server.address());
      return address.ok() && net::ConnectAdmin({*address}, "shoald", options_.status_timeout_ms).ok();
    }));
  }
  response.set_managed_etcd(managed());
  if (auto volumes = ReadVolumes(*Etcd(), /*serializable=*/true); volumes.ok())
    for (const VolumeEntry& entry : *volumes) response.add_volumes(entry.volume.name());
  for (size_t i = 0; i < servers->size(); ++i) {
    proto::PoolServer& server = (*servers)[i];
    server.set_state(answered[i].get() ? proto::SERVER_STATE_CONNECTED : proto::SERVER_STATE_DOWN);
    *response.add_servers() = std::move(server);
  }
  return response;
}

Result<proto::PoolServer> Pool::Probe(const std::string& text) {
  std::lock_guard change(change_mutex_);
  auto address = ParseHostPort(text);
  if (!address.ok()) return address.status();
  const std::string name = address->ToString();
  if (name == name_) return Status(Code::kInvalidArgument, fmt::format("{} is this server", name));
  auto servers = ReadRecords();
  if (!servers.ok()) return NoQuorum(servers.status());
  for (const auto& server : *servers)
    if (server.name() == name) return Status(Code::kExists, fmt::format("{} is already in the pool", name));
  if (!managed())
    return Status(Code::kNotSupported,
                  fmt::format("this server uses an external etcd cluster: start {} with the same --etcd-endpoints "
                              "and it joins the pool by itself", name));

  auto peer = net::ConnectAdmin({*address}, "shoald", options_.connect_timeout_ms);
  if (!peer.ok())
    return Status(Code::kUnavailable,
                  fmt::format("no shoal server answers at {} ({}); the pool is unchanged", name, peer.status().message()));
  proto::Request list_request;
  list_request.mutable_pool_list();
  auto theirs = net::Ask(**peer, std::move(list_request));
  if (!theirs.ok())
    return Status(theirs.status().code(), fmt::format("{} did not say which pool it is in: {}", name, theirs.status().message()));
  const proto::PoolListResponse& their_pool = theirs->pool_list();
  std::vector<std::string> others;
  const proto::PoolServer* them = nullptr;
  for (const auto& server : their_pool.servers()) {
    if (server.self()) them = &server;
    else others.push_back(server.name());
  }
  if (!others.empty())
    return Status(Code::kBusy, fmt::format("{} already belongs to a pool with other servers ({}): detach it from "
                                           "that pool first", name, fmt::join(others, ", ")));
  if (!their_pool.volumes().empty())
    return Status(Code::kBusy, fmt::format("{} has volumes of its own ({}): it cannot join another pool, whose etcd "
                                           "data would replace them; delete them first",
                                           name, fmt::join(their_pool.volumes(), ", ")));
  if (!their_pool.managed_etcd() || them == nullptr || them->etcd_peer_url().empty())
    return Status(Code::kNotSupported,
                  fmt::format("{} uses an external etcd cluster; it cannot join this pool's", name));

  auto etcd = Etcd();
  auto added = etcd->AddMember({them->etcd_peer_url()});
  if (!added.ok())
    return Status(added.status().code(), fmt::format("adding {}'s etcd member: {}", name, added.status().message()));
  spdlog::info("pool.member_added server={} etcd_member={:x}", name, added->added.id);
  proto::Request join;
  for (const coord::Member& member : added->members) {
    proto::EtcdPeer* peer_entry = join.mutable_pool_join()->add_initial_cluster();
    peer_entry->set_name(member.id == added->added.id ? name : member.name);
    peer_entry->set_peer_url(member.peer_urls.empty() ? "" : member.peer_urls[0]);
    peer_entry->set_client_url(member.id == added->added.id ? them->etcd_client_url()
                               : member.client_urls.empty() ? ""
                                                            : member.client_urls[0]);
  }
  auto joined = net::Ask(**peer, std::move(join));
  if (!joined.ok()) {
    Status removed = etcd->RemoveMember(added->added.id);
    spdlog::warn("pool.join_failed server={} error=\"{}\" member_removed={}", name, joined.status().ToString(),
                 removed.ok());
    return Status(joined.status().code(),
                  fmt::format("{} could not join: {}{}", name, joined.status().message(),
                              removed.ok() ? "; the pool is unchanged"
                                           : "; removing its etcd member failed too: " + removed.message()));
  }
  spdlog::info("pool.joined server={}", name);
  return joined->pool_join().server();
}

Result<proto::PoolServer> Pool::Join(const proto::PoolJoinRequest& request) {
  std::lock_guard change(change_mutex_);
  if (!managed()) return Status(Code::kNotSupported, "this server uses an external etcd cluster");
  auto servers = ReadRecords();
  if (servers.ok() && servers->size() > 1)
    return Status(Code::kBusy, "this server already belongs to a pool with other servers");
  coord::MemberOptions member{.name = name_, .directory = options_.data_dir + "/etcd",
                              .client = options_.etcd_client, .peer = options_.etcd_peer,
                              .join_existing = true};
  std::vector<HostPort> endpoints = {options_.etcd_client};
  for (const proto::EtcdPeer& peer : request.initial_cluster()) {
    member.initial_cluster.push_back({.name = peer.name(), .peer_url = peer.peer_url()});
    std::string_view client = peer.client_url();
    if (client.starts_with("http://") && client != Url(options_.etcd_client))
      if (auto endpoint = ParseHostPort(client.substr(7)); endpoint.ok()) endpoints.push_back(*endpoint);
  }
  // Our one-server cluster goes: its member stops and its data is discarded.
  SHOAL_RETURN_IF_ERROR(RestartMember(nullptr));
  std::error_code ec;
  std::filesystem::remove_all(options_.data_dir + "/etcd/data", ec);
  Status started = RestartMember(std::make_unique<coord::MemberOptions>(std::move(member)));
  if (!started.ok()) {
    spdlog::error("pool.join_failed error=\"{}\"", started.ToString());
    Status alone = StartAlone();
    if (!alone.ok()) spdlog::error("pool.alone_failed error=\"{}\"", alone.ToString());
    return started;
  }
  SetEtcd(std::move(endpoints));
  auto recorded = RecordSelf();
  if (recorded.ok()) spdlog::info("pool.joined_pool server={} etcd_member={:x}", name_, recorded->etcd_member_id());
  return recorded;
}

Status Pool::StartAlone() {
  SHOAL_RETURN_IF_ERROR(RestartMember(nullptr));
  std::error_code ec;
  std::filesystem::remove_all(options_.data_dir + "/etcd/data", ec);
  SetEtcd({options_.etcd_client});
  SHOAL_RETURN_IF_ERROR(RestartMember(std::make_unique<coord::MemberOptions>(coord::MemberOptions{
      .name = name_, .directory = options_.data_dir + "/etcd", .client = options_.etcd_client,
      .peer = options_.etcd_peer})));
  return RecordSelf().status();
}

Status Pool::Leave() {
  std::lock_guard change(change_mutex_);
  if (!managed()) return Status(Code::kNotSupported, "this server uses an external etcd cluster");
  spdlog::info("pool.leaving server={}", name_);
  return StartAlone();
}

Status Pool::Detach(const std::string& text, bool force) {
  std::lock_guard change(change_mutex_);
  auto address = ParseHostPort(text);
  if (!address.ok()) return address.status();
  const std::string name = address->ToString();
  if (name == name_)
    return Status(Code::kInvalidArgument,
                  fmt::format("{} is the server you are talking to: ask another server of the pool to detach it", name));
  auto servers = ReadRecords();
  if (!servers.ok()) return NoQuorum(servers.status());
  auto it = std::find_if(servers->begin(), servers->end(), [&](const auto& s) { return s.name() == name; });
  if (it == servers->end()) return Status(Code::kNotFound, fmt::format("{} is not in the pool", name));
  // A server that holds bricks is refused, force or not: its volumes would lose them.
  auto volumes = ReadVolumes(*Etcd());
  if (!volumes.ok()) return NoQuorum(volumes.status());
  std::vector<std::string> holding;
  for (const VolumeEntry& entry : *volumes)
    for (const proto::BrickRef& brick : entry.volume.bricks())
      if (brick.server() == name) holding.push_back(fmt::format("{} ({})", entry.volume.name(), brick.path()));
  if (!holding.empty())
    return Status(Code::kBusy, fmt::format("{} holds bricks of volume {}: delete the volume first", name,
                                           fmt::join(holding, ", ")));

  auto peer = net::ConnectAdmin({*address}, "shoald", options_.connect_timeout_ms);
  if (!peer.ok() && !force)
    return Status(Code::kUnavailable,
                  fmt::format("{} is down ({}); detach it with --force to remove it anyway (it will not be told)", name,
                              peer.status().message()));
  auto etcd = Etcd();
  if (it->etcd_member_id() != 0) {
    Status removed = etcd->RemoveMember(it->etcd_member_id());
    if (!removed.ok() && removed.code() != Code::kNotFound)
      return Status(removed.code(), fmt::format("removing {}'s etcd member: {}", name, removed.message()));
  }
  auto deleted = etcd->Delete({.key = kServerPrefix + name});
  if (!deleted.ok()) return Status(deleted.status().code(), "deleting the server's record: " + deleted.status().message());
  spdlog::info("pool.detached server={} force={}", name, force);
  if (peer.ok()) {
    proto::Request leave;
    leave.mutable_pool_leave();
    auto left = net::Ask(**peer, std::move(leave));
    if (!left.ok()) spdlog::warn("pool.leave_failed server={} error=\"{}\"", name, left.status().ToString());
  }
  return Status::Ok();
}

}  // namespace shoal::server
