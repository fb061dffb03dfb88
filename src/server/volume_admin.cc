#include "server/volume_admin.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <random>
#include <regex>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "common/volume_options.h"
#include "net/admin_call.h"
#include "server/replica_set.h"

namespace shoal::server {
namespace {

constexpr uint32_t kReplicaMax = 3;

Status CheckName(const std::string& name) {
  static const std::regex valid("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
  if (!std::regex_match(name, valid))
    return Status(Code::kInvalidArgument,
                  fmt::format("'{}' is not a volume name: use up to 64 letters, digits, '.', '_' or '-', starting "
                              "with a letter or digit", name));
  return Status::Ok();
}

// `path` without a trailing slash, refused unless absolute and free of "." and ".." parts.
Result<std::string> CheckBrickPath(const std::string& server, std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const bool dotted = path.find("/./") != std::string::npos || path.find("/../") != std::string::npos ||
                      path.ends_with("/.") || path.ends_with("/..");
  if (!path.starts_with("/") || path == "/" || dotted)
    return Status(Code::kInvalidArgument,
                  fmt::format("brick {}:{} needs an absolute path to a directory (not / and without . or ..)", server,
                              path));
  return path;
}

// Whether one of the two directories is the other or inside it.
bool Overlaps(const std::string& a, const std::string& b) {
  auto inside = [](const std::string& inner, const std::string& outer) {
    return inner == outer || inner.starts_with(outer + "/");
  };
  return inside(a, b) || inside(b, a);
}

std::string NewVolumeId() {
  std::random_device random;
  std::uniform_int_distribution<uint64_t> any;
  return fmt::format("{:016x}", any(random));
}

std::string StateWord(proto::VolumeState state) {
  switch (state) {
    case proto::VOLUME_STATE_CREATED: return "created";
    case proto::VOLUME_STATE_STARTED: return "started";
    case proto::VOLUME_STATE_STOPPED: return "stopped";
    default: return "unknown";
  }
}

// One request to the server named `name` (host:port).
Result<proto::Response> AskServer(const std::string& name, proto::Request request, int timeout_ms) {
  auto address = ParseHostPort(name);
  if (!address.ok()) return address.status();
  return net::AskAdmin({*address}, std::move(request), "shoald", timeout_ms);
}

bool Unanswered(const Status& status) {
  return status.code() == Code::kUnavailable || status.code() == Code::kTimedOut || status.code() == Code::kIoError;
}

}  // namespace

Result<VolumeEntry> VolumeAdmin::Read(const std::string& name, proto::Staleness* staleness) {
  auto etcd = pool_.Etcd();
  auto entry = ReadVolume(*etcd, name);
  if (entry.ok() || !Unanswered(entry.status())) return entry;
  if (staleness == nullptr) return NoQuorum(entry.status());  // for a change, which needs the quorum
  staleness->set_stale(true);
  staleness->set_reason(fmt::format("the pool's etcd cluster has no quorum ({}); this is server {}'s copy",
                                    entry.status().message(), pool_.name()));
  auto records = ReadVolumes(*etcd, /*serializable=*/true);
  if (!records.ok()) return records.status();
  for (VolumeEntry& record : *records)
    if (record.volume.name() == name) return std::move(record);
  return Status(Code::kNoVolume, fmt::format("there is no volume named '{}' (`shoal volume list`)", name));
}

Result<proto::VolumeCreateResponse> VolumeAdmin::Create(const proto::VolumeCreateRequest& request) {
  SHOAL_RETURN_IF_ERROR(CheckName(request.name()));
  const uint32_t bricks = static_cast<uint32_t>(request.bricks_size());
  if (bricks == 0) return Status(Code::kInvalidArgument, "a volume needs a brick: SERVER:/PATH");
  if (request.replica() == 0 && bricks > 1)
    return Status(Code::kInvalidArgument,
                  fmt::format("{} bricks need `replica {}`: every brick holds a full copy of the volume (shoal does "
                              "not distribute files over bricks)", bricks, bricks));
  const uint32_t replica = request.replica() == 0 ? 1 : request.replica();
  if (replica > kReplicaMax) return Status(Code::kInvalidArgument, fmt::format("replica is 1, 2 or 3, not {}", replica));
  if (replica != bricks)
    return Status(Code::kInvalidArgument,
                  fmt::format("replica {} needs {} bricks, one per copy; {} given", replica, replica, bricks));
  if (!request.witness().empty() && replica != 2)
    return Status(Code::kInvalidArgument, "a witness breaks ties between two bricks: it goes with `replica 2` only");

  auto servers = pool_.ReadRecords();
  if (!servers.ok()) return NoQuorum(servers.status());
  auto existing = ReadVolumes(*pool_.Etcd());
  if (!existing.ok()) return NoQuorum(existing.status());
  for (const VolumeEntry& entry : *existing)
    if (entry.volume.name() == request.name())
      return Status(Code::kExists, fmt::format("a volume named '{}' exists already", request.name()));

  proto::Volume volume;
  volume.set_name(request.name());
  volume.set_id(NewVolumeId());
  volume.set_replica(replica);
  volume.set_state(proto::VOLUME_STATE_CREATED);
  volume.set_created_unix_s(std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::system_clock::now().time_since_epoch()).count());
  proto::VolumeCreateResponse response;
  if (!request.witness().empty()) {
    auto witness = ParseHostPort(request.witness());
    if (!witness.ok()) return Status(Code::kInvalidArgument, fmt::format("witness: {}", witness.status().message()));
    if (std::none_of(servers->begin(), servers->end(), [&](const auto& s) { return s.name() == witness->ToString(); }))
      return Status(Code::kNotFound, fmt::format("witness {} is not in the pool (`shoal peer probe {}` first)",
                                                 witness->ToString(), witness->ToString()));
    volume.set_witness(witness->ToString());  // CheckNewBrick refuses a brick on it
  } else if (replica == 2) {
    response.add_warnings(
        "replica 2 without a witness: the first brick breaks ties, so if its server is lost, writes stop until it "
        "is back (never a split brain). Add `witness SERVER` (a `shoald --witness` in the pool) for automatic "
        "failover.");
  }
  for (const proto::BrickRef& given : request.bricks()) {
    SHOAL_ASSIGN_OR_RETURN(proto::BrickRef brick, CheckNewBrick(given, request.force(), *servers, *existing, volume,
                                                                response.mutable_warnings()));
    *volume.add_bricks() = std::move(brick);
  }
  SHOAL_RETURN_IF_ERROR(WriteVolume(*pool_.Etcd(), volume, /*mod_revision=*/0));
  spdlog::info("volume.created volume={} id={} bricks={}", volume.name(), volume.id(), volume.bricks_size());
  *response.mutable_volume() = std::move(volume);
  return response;
}

Result<proto::BrickRef> VolumeAdmin::CheckNewBrick(const proto::BrickRef& given, bool force,
                                                   const std::vector<proto::PoolServer>& servers,
                                                   const std::vector<VolumeEntry>& existing, const proto::Volume& volume,
                                                   google::protobuf::RepeatedPtrField<std::string>* warnings) {
  auto address = ParseHostPort(given.server());
  if (!address.ok()) return Status(Code::kInvalidArgument, fmt::format("brick server: {}", address.status().message()));
  const std::string server = address->ToString();
  if (std::any_of(volume.bricks().begin(), volume.bricks().end(), [&](const auto& b) { return b.server() == server; }))
    return Status(Code::kInvalidArgument,
                  fmt::format("two bricks on server {}: the copies of a replicated volume must be on different "
                              "servers, or losing one server loses both",
                              server));
  if (std::none_of(servers.begin(), servers.end(), [&](const auto& s) { return s.name() == server; }))
    return Status(Code::kNotFound, fmt::format("server {} is not in the pool (`shoal pool list`; add it with `shoal "
                                               "peer probe {}`)", server, server));
  if (server == volume.witness())
    return Status(Code::kInvalidArgument,
                  fmt::format("the witness {} cannot hold a brick: a witness must be a third server, or losing one "
                              "server loses both a copy and the tie-break",
                              volume.witness()));
  SHOAL_ASSIGN_OR_RETURN(std::string path, CheckBrickPath(server, given.path()));
  for (const VolumeEntry& entry : existing)
    for (const proto::BrickRef& used : entry.volume.bricks())
      if (used.server() == server && Overlaps(used.path(), path))
        return Status(Code::kBusy, fmt::format("brick {}:{} is already used by volume {} (brick {}:{})", server, path,
                                               entry.volume.name(), used.server(), used.path()));
  proto::Request check;
  check.mutable_brick_check()->set_path(path);
  check.mutable_brick_check()->set_force(force);
  Result<proto::BrickCheckResponse> checked = Status::Ok();
  if (server == pool_.name()) {
    checked = CheckBrick(check.brick_check());
  } else {
    auto answer = AskServer(server, std::move(check), options_.peer_timeout_ms);
    if (answer.ok()) checked = answer->brick_check();
    else if (Unanswered(answer.status()))
      checked = Status(Code::kUnavailable, fmt::format("server {} does not answer ({}): its brick cannot be checked",
                                                      server, answer.status().message()));
    else checked = answer.status();
  }
  if (!checked.ok()) return checked.status();
  for (const std::string& warning : checked->warnings()) *warnings->Add() = warning;
  proto::BrickRef brick;
  brick.set_server(server);
  brick.set_path(path);
  return brick;
}

Result<proto::VolumeReplaceBrickResponse> VolumeAdmin::ReplaceBrick(const proto::VolumeReplaceBrickRequest& request) {
  SHOAL_ASSIGN_OR_RETURN(VolumeEntry entry, Read(request.name(), nullptr));
  proto::Volume& volume = entry.volume;
  if (volume.bricks_size() < 2)
    return Status(Code::kInvalidArgument,
                  fmt::format("volume {} has one brick: there is no copy to fill a new brick from", request.name()));
  int index = -1;
  auto old_server = ParseHostPort(request.old_brick().server());
  for (int i = 0; i < volume.bricks_size(); ++i)
    if (old_server.ok() && volume.bricks(i).server() == old_server->ToString() &&
        volume.bricks(i).path() == request.old_brick().path())
      index = i;
  if (index < 0) {
    std::vector<std::string> names;
    for (const auto& brick : volume.bricks()) names.push_back(brick.server() + ":" + brick.path());
    return Status(Code::kNotFound, fmt::format("volume {} has no brick {}:{} (its bricks: {})", request.name(),
                                               request.old_brick().server(), request.old_brick().path(),
                                               fmt::join(names, ", ")));
  }
  auto servers = pool_.ReadRecords();
  if (!servers.ok()) return NoQuorum(servers.status());
  auto existing = ReadVolumes(*pool_.Etcd());
  if (!existing.ok()) return NoQuorum(existing.status());
  // The other bricks stay; the new one may be on the old one's server (another path).
  proto::Volume others = volume;
  others.mutable_bricks()->DeleteSubrange(index, 1);
  for (VolumeEntry& other : *existing)
    if (other.volume.name() == volume.name()) other.volume = others;
  proto::VolumeReplaceBrickResponse response;
  SHOAL_ASSIGN_OR_RETURN(proto::BrickRef brick, CheckNewBrick(request.new_brick(), request.force(), *servers,
                                                              *existing, others, response.mutable_warnings()));
  const proto::BrickRef old = volume.bricks(index);
  *volume.mutable_bricks(index) = brick;
  SHOAL_RETURN_IF_ERROR(ReplaceBrickRecords(*pool_.Etcd(), volume, entry.mod_revision, static_cast<uint32_t>(index)));
  spdlog::warn("volume.brick_replaced volume={} brick={} old={}:{} new={}:{}", volume.name(), index, old.server(),
               old.path(), brick.server(), brick.path());
  // The old brick's server stops serving it; the new one's serves it, out of sync until healed.
  if (old.server() != brick.server() && old.server() != pool_.name()) {
    proto::Request refresh;
    refresh.mutable_brick_refresh();
    (void)AskServer(old.server(), std::move(refresh), options_.peer_timeout_ms);  // it may well be down
  }
  if (volume.state() == proto::VOLUME_STATE_STARTED) (void)RefreshServersOf(volume);
  *response.mutable_volume() = std::move(volume);
  return response;
}

Result<proto::VolumeStartResponse> VolumeAdmin::Start(const proto::VolumeStartRequest& request) {
  SHOAL_ASSIGN_OR_RETURN(VolumeEntry entry, Read(request.name(), nullptr));
  if (entry.volume.state() == proto::VOLUME_STATE_STARTED && !request.force())
    return Status(Code::kExists, fmt::format("volume {} is already started", request.name()));
  entry.volume.set_state(proto::VOLUME_STATE_STARTED);
  SHOAL_RETURN_IF_ERROR(WriteVolume(*pool_.Etcd(), entry.volume, entry.mod_revision));
  spdlog::info("volume.started volume={}", request.name());
  proto::VolumeStartResponse response;
  for (proto::BrickStatus& brick : RefreshServersOf(entry.volume)) *response.add_bricks() = std::move(brick);
  return response;
}

Status VolumeAdmin::Stop(const proto::VolumeStopRequest& request) {
  SHOAL_ASSIGN_OR_RETURN(VolumeEntry entry, Read(request.name(), nullptr));
  if (entry.volume.state() != proto::VOLUME_STATE_STARTED)
    return Status(Code::kInvalidArgument, fmt::format("volume {} is not started (it is {})", request.name(),
                                                      StateWord(entry.volume.state())));
  entry.volume.set_state(proto::VOLUME_STATE_STOPPED);
  SHOAL_RETURN_IF_ERROR(WriteVolume(*pool_.Etcd(), entry.volume, entry.mod_revision));
  spdlog::info("volume.stopped volume={}", request.name());
  (void)RefreshServersOf(entry.volume);
  return Status::Ok();
}

Status VolumeAdmin::Delete(const proto::VolumeDeleteRequest& request) {
  SHOAL_ASSIGN_OR_RETURN(VolumeEntry entry, Read(request.name(), nullptr));
  if (entry.volume.state() == proto::VOLUME_STATE_STARTED)
    return Status(Code::kBusy, fmt::format("volume {} is started: stop it first (`shoal volume stop {}`)",
                                           request.name(), request.name()));
  SHOAL_RETURN_IF_ERROR(DeleteVolume(*pool_.Etcd(), request.name(), entry.mod_revision));
  spdlog::info("volume.deleted volume={} id={}", request.name(), entry.volume.id());
  return Status::Ok();
}

Result<proto::Volume> VolumeAdmin::Set(const proto::VolumeSetRequest& request) {
  SHOAL_ASSIGN_OR_RETURN(VolumeEntry entry, Read(request.name(), nullptr));
  auto& options = *entry.volume.mutable_options();
  if (request.reset()) {
    if (FindVolumeOption(request.key()) == nullptr)
      return Status(Code::kInvalidArgument,
                    fmt::format("'{}' is not a volume option (`shoal volume set help` lists them)", request.key()));
    options.erase(request.key());
  } else {
    SHOAL_ASSIGN_OR_RETURN(std::string value, ValidateVolumeOption(request.key(), request.value()));
    if (request.key() == "min-in-sync" && value != "auto" && std::stoi(value) > entry.volume.bricks_size())
      return Status(Code::kInvalidArgument, fmt::format("min-in-sync {} is more than the {} brick(s) of volume {}", value,
                                                        entry.volume.bricks_size(), entry.volume.name()));
    options[request.key()] = value;
  }
  SHOAL_RETURN_IF_ERROR(WriteVolume(*pool_.Etcd(), entry.volume, entry.mod_revision));
  spdlog::info("volume.option_set volume={} key={} value=\"{}\"", request.name(), request.key(),
               request.reset() ? "(default)" : options[request.key()]);
  if (entry.volume.state() == proto::VOLUME_STATE_STARTED) (void)RefreshServersOf(entry.volume);
  return entry.volume;
}

Result<proto::VolumeInfoResponse> VolumeAdmin::Info(const proto::VolumeInfoRequest& request) {
  proto::VolumeInfoResponse response;
  if (!request.name().empty()) {
    SHOAL_ASSIGN_OR_RETURN(VolumeEntry entry, Read(request.name(), response.mutable_staleness()));
    *response.add_volumes() = std::move(entry.volume);
    return response;
  }
  auto etcd = pool_.Etcd();
  auto records = ReadVolumes(*etcd);
  if (!records.ok() && Unanswered(records.status())) {
    response.mutable_staleness()->set_stale(true);
    response.mutable_staleness()->set_reason(fmt::format(
        "the pool's etcd cluster has no quorum ({}); this is server {}'s copy", records.status().message(), pool_.name()));
    records = ReadVolumes(*etcd, /*serializable=*/true);
  }
  if (!records.ok()) return records.status();
  for (VolumeEntry& entry : *records) *response.add_volumes() = std::move(entry.volume);
  return response;
}

Result<proto::VolumeStatusResponse> VolumeAdmin::VolumeStatus(const proto::VolumeStatusRequest& request) {
  proto::VolumeStatusResponse response;
  SHOAL_ASSIGN_OR_RETURN(VolumeEntry entry, Read(request.name(), response.mutable_staleness()));
  std::vector<std::future<proto::BrickStatus>> asked;
  for (const proto::BrickRef& brick : entry.volume.bricks())
    asked.push_back(std::async(std::launch::async, [this, &entry, brick] { return AskBrickStatus(entry.volume.name(), brick); }));
  for (auto& answer : asked) *response.add_bricks() = answer.get();
  // Heals are known to the primary running them: each goes to the brick it heals.
  for (int i = 0; i < response.bricks_size(); ++i)
    for (const proto::HealProgress& heal : response.bricks(i).heals())
      if (heal.brick() < uint32_t(response.bricks_size())) *response.mutable_bricks(heal.brick())->mutable_heal() = heal;
  if (entry.volume.bricks_size() > 1) {
    auto set = ReadReplicaSet(*pool_.Etcd(), entry.volume, /*serializable=*/response.staleness().stale());
    if (set.ok()) *response.mutable_replica_set() = set->set;
  }
  *response.mutable_volume() = std::move(entry.volume);
  return response;
}

Result<proto::VolumeHealResponse> VolumeAdmin::Heal(const proto::VolumeHealRequest& request) {
  SHOAL_ASSIGN_OR_RETURN(VolumeEntry entry, Read(request.name(), nullptr));
  if (entry.volume.bricks_size() < 2)
    return Status(Code::kInvalidArgument, fmt::format("volume {} has one brick: there is nothing to heal it from",
                                                      request.name()));
  if (entry.volume.state() != proto::VOLUME_STATE_STARTED)
    return Status(Code::kUnavailable, fmt::format("volume {} is not started", request.name()));
  SHOAL_ASSIGN_OR_RETURN(ReplicaSetEntry set, ReadReplicaSet(*pool_.Etcd(), entry.volume));
  const int32_t primary = set.set.primary();
  if (set.primary_lease == 0 || primary < 0 || primary >= entry.volume.bricks_size())
    return Status(Code::kUnavailable, fmt::format("volume {} has no primary now: a heal starts once one brick "
                                                  "holds the role (`shoal volume status {}`)",
                                                  request.name(), request.name()));
  proto::VolumeHealResponse response;
  for (uint32_t brick = 0; brick < uint32_t(entry.volume.bricks_size()); ++brick)
    if (!InSync(set.set, brick)) response.add_healing(brick);
  proto::Request ask;
  ask.mutable_brick_heal()->set_volume(request.name());
  ask.mutable_brick_heal()->set_path(entry.volume.bricks(primary).path());
  ask.mutable_brick_heal()->set_full(request.full());
  const std::string& server = entry.volume.bricks(primary).server();
  if (server == pool_.name()) {
    SHOAL_RETURN_IF_ERROR(LocalBrickHeal(ask.brick_heal()));
  } else {
    SHOAL_ASSIGN_OR_RETURN(HostPort address, ParseHostPort(server));
    SHOAL_RETURN_IF_ERROR(net::AskAdmin({address}, std::move(ask), pool_.name(), options_.peer_timeout_ms).status());
  }
  return response;
}

Result<proto::VolumeScrubResponse> VolumeAdmin::Scrub(const proto::VolumeScrubRequest& request) {
  SHOAL_ASSIGN_OR_RETURN(VolumeEntry entry, Read(request.name(), nullptr));
  if (entry.volume.state() != proto::VOLUME_STATE_STARTED)
    return Status(Code::kUnavailable, fmt::format("volume {} is not started: its bricks are not served", request.name()));
  std::vector<std::future<proto::ScrubReport>> asked;
  for (const proto::BrickRef& brick : entry.volume.bricks())
    asked.push_back(std::async(std::launch::async, [this, &entry, brick]() -> proto::ScrubReport {
      proto::Request ask;
      ask.mutable_brick_scrub()->set_volume(entry.volume.name());
      ask.mutable_brick_scrub()->set_path(brick.path());
      Result<proto::ScrubReport> report = Status::Ok();
      if (brick.server() == pool_.name()) {
        report = LocalBrickScrub(ask.brick_scrub());
      } else {
        // A scrub walks the whole brick; the connection's pings say its server is still at it.
        auto answer = AskServer(brick.server(), std::move(ask), options_.peer_timeout_ms);
        report = answer.ok() ? Result<proto::ScrubReport>(answer->brick_scrub().report()) : answer.status();
      }
      proto::ScrubReport out = report.ok() ? *report : proto::ScrubReport();
      if (!report.ok()) out.set_error(report.status().ToString());
      out.set_server(brick.server());
      out.set_path(brick.path());
      return out;
    }));
  proto::VolumeScrubResponse response;
  for (auto& answer : asked) *response.add_bricks() = answer.get();
  return response;
}

Result<proto::ScrubReport> VolumeAdmin::LocalBrickScrub(const proto::BrickScrubRequest& request) {
  SHOAL_ASSIGN_OR_RETURN(auto served, volumes_.Find(request.volume()));
  if (volumes_.BrickPath(request.volume()) != request.path())
    return Status(Code::kNotFound, fmt::format("this server does not serve a brick of volume {} at {}",
                                               request.volume(), request.path()));
  return served->brick().Scrub();
}

Status VolumeAdmin::LocalBrickHeal(const proto::BrickHealRequest& request) {
  SHOAL_ASSIGN_OR_RETURN(auto served, volumes_.Find(request.volume()));
  if (volumes_.BrickPath(request.volume()) != request.path() || !served->role())
    return Status(Code::kNotPrimary, fmt::format("this server does not serve a brick of volume {} at {}",
                                                 request.volume(), request.path()));
  return served->role()->HealNow(request.full());
}

Result<proto::Volume> VolumeAdmin::Locate(const std::string& name) {
  for (const std::string& static_name : volumes_.StaticVolumes()) {
    if (static_name != name) continue;
    proto::Volume volume;  // served by this server alone, as shoald --volume said
    volume.set_name(name);
    volume.set_replica(1);
    volume.set_state(proto::VOLUME_STATE_STARTED);
    volume.set_static_volume(true);
    proto::BrickRef* brick = volume.add_bricks();
    brick->set_server(pool_.name());
    brick->set_path(volumes_.BrickPath(name));
    return volume;
  }
  proto::Staleness staleness;
  auto entry = Read(name, &staleness);
  if (!entry.ok()) return entry.status();
  switch (entry->volume.state()) {
    case proto::VOLUME_STATE_STARTED: return std::move(entry->volume);
    case proto::VOLUME_STATE_CREATED:
      return Status(Code::kUnavailable,
                    fmt::format("volume {} is not started: start it with `shoal volume start {}`", name, name));
    default:
      return Status(Code::kUnavailable,
                    fmt::format("volume {} is stopped: start it with `shoal volume start {}`", name, name));
  }
}

std::vector<proto::BrickStatus> VolumeAdmin::RefreshServersOf(const proto::Volume& volume) {
  std::vector<std::future<proto::BrickStatus>> refreshed;
  for (const proto::BrickRef& brick : volume.bricks()) {
    refreshed.push_back(std::async(std::launch::async, [this, &volume, brick] {
      if (brick.server() == pool_.name()) {
        (void)bricks_.Refresh();
      } else {
        proto::Request refresh;
        refresh.mutable_brick_refresh();
        auto answer = AskServer(brick.server(), std::move(refresh), options_.peer_timeout_ms);
        if (!answer.ok())
          spdlog::warn("volume.refresh_failed volume={} server={} error=\"{}\"", volume.name(), brick.server(),
                       answer.status().ToString());
      }
      return AskBrickStatus(volume.name(), brick);
    }));
  }
  std::vector<proto::BrickStatus> statuses;
  for (auto& status : refreshed) statuses.push_back(status.get());
  return statuses;
}

proto::BrickStatus VolumeAdmin::AskBrickStatus(const std::string& volume, const proto::BrickRef& brick) {
  if (brick.server() == pool_.name()) return LocalBrickStatus(volume, brick.path());
  proto::Request request;
  request.mutable_brick_status()->set_volume(volume);
  request.mutable_brick_status()->set_path(brick.path());
  auto answer = AskServer(brick.server(), std::move(request), options_.status_timeout_ms);
  if (answer.ok()) return answer->brick_status().brick();
  proto::BrickStatus down;
  down.set_server(brick.server());
  down.set_path(brick.path());
  down.set_state("down");
  down.set_reason(fmt::format("server {} does not answer: {}", brick.server(), answer.status().message()));
  return down;
}

}  // namespace shoal::server
