#include "server/admin.h"

#include <spdlog/spdlog.h>

#include "server/response.h"

namespace shoal::server {
namespace {

proto::Response ServePool(Pool& pool, const proto::Request& request, const std::string& peer) {
  switch (request.op_case()) {
    case proto::Request::kPoolList:
      return From(pool.List(), [](proto::Response& r, proto::PoolListResponse& l) { *r.mutable_pool_list() = std::move(l); });
    case proto::Request::kPeerProbe:
      spdlog::info("pool.probe peer={} address={}", peer, request.peer_probe().address());
      return From(pool.Probe(request.peer_probe().address()),
                  [](proto::Response& r, proto::PoolServer& s) { *r.mutable_peer_probe()->mutable_server() = std::move(s); });
    case proto::Request::kPeerDetach:
      spdlog::info("pool.detach peer={} name={} force={}", peer, request.peer_detach().name(), request.peer_detach().force());
      return From(pool.Detach(request.peer_detach().name(), request.peer_detach().force()),
                  [](proto::Response& r) { r.mutable_peer_detach(); });
    case proto::Request::kPoolJoin:
      return From(pool.Join(request.pool_join()),
                  [](proto::Response& r, proto::PoolServer& s) { *r.mutable_pool_join()->mutable_server() = std::move(s); });
    case proto::Request::kPoolLeave:
      return From(pool.Leave(), [](proto::Response& r) { r.mutable_pool_leave(); });
    default:
      return proto::ErrorResponse(Status(Code::kNotImplemented, "operation not served"));
  }
}

proto::Response ServeVolume(VolumeAdmin& volumes, const proto::Request& request, const std::string& peer) {
  switch (request.op_case()) {
    case proto::Request::kVolumeCreate:
      spdlog::info("volume.create peer={} volume={}", peer, request.volume_create().name());
      return From(volumes.Create(request.volume_create()),
                  [](proto::Response& r, proto::VolumeCreateResponse& c) { *r.mutable_volume_create() = std::move(c); });
    case proto::Request::kVolumeStart:
      spdlog::info("volume.start peer={} volume={}", peer, request.volume_start().name());
      return From(volumes.Start(request.volume_start()),
                  [](proto::Response& r, proto::VolumeStartResponse& s) { *r.mutable_volume_start() = std::move(s); });
    case proto::Request::kVolumeStop:
      spdlog::info("volume.stop peer={} volume={}", peer, request.volume_stop().name());
      return From(volumes.Stop(request.volume_stop()), [](proto::Response& r) { r.mutable_volume_stop(); });
    case proto::Request::kVolumeDelete:
      spdlog::info("volume.delete peer={} volume={}", peer, request.volume_delete().name());
      return From(volumes.Delete(request.volume_delete()), [](proto::Response& r) { r.mutable_volume_delete(); });
    case proto::Request::kVolumeInfo:
      return From(volumes.Info(request.volume_info()),
                  [](proto::Response& r, proto::VolumeInfoResponse& i) { *r.mutable_volume_info() = std::move(i); });
    case proto::Request::kVolumeStatus:
      return From(volumes.VolumeStatus(request.volume_status()),
                  [](proto::Response& r, proto::VolumeStatusResponse& s) { *r.mutable_volume_status() = std::move(s); });
    case proto::Request::kVolumeSet:
      spdlog::info("volume.set peer={} volume={} key={}", peer, request.volume_set().name(), request.volume_set().key());
      return From(volumes.Set(request.volume_set()),
                  [](proto::Response& r, proto::Volume& v) { *r.mutable_volume_set()->mutable_volume() = std::move(v); });
    case proto::Request::kVolumeLocate:
      return From(volumes.Locate(request.volume_locate().name()),
                  [](proto::Response& r, proto::Volume& v) { *r.mutable_volume_locate()->mutable_volume() = std::move(v); });
    case proto::Request::kBrickCheck:
      return From(volumes.CheckBrick(request.brick_check()),
                  [](proto::Response& r, proto::BrickCheckResponse& c) { *r.mutable_brick_check() = std::move(c); });
    case proto::Request::kBrickRefresh:
      return From(volumes.RefreshBricks(), [](proto::Response& r) { r.mutable_brick_refresh(); });
    case proto::Request::kVolumeHeal:
      spdlog::info("volume.heal peer={} volume={} full={}", peer, request.volume_heal().name(), request.volume_heal().full());
      return From(volumes.Heal(request.volume_heal()),
                  [](proto::Response& r, proto::VolumeHealResponse& h) { *r.mutable_volume_heal() = std::move(h); });
    case proto::Request::kVolumeReplaceBrick:
      spdlog::info("volume.replace_brick peer={} volume={}", peer, request.volume_replace_brick().name());
      return From(volumes.ReplaceBrick(request.volume_replace_brick()), [](proto::Response& r,
                                                                          proto::VolumeReplaceBrickResponse& b) {
        *r.mutable_volume_replace_brick() = std::move(b);
      });
    case proto::Request::kVolumeScrub:
      spdlog::info("volume.scrub peer={} volume={}", peer, request.volume_scrub().name());
      return From(volumes.Scrub(request.volume_scrub()),
                  [](proto::Response& r, proto::VolumeScrubResponse& s) { *r.mutable_volume_scrub() = std::move(s); });
    case proto::Request::kBrickScrub:
      return From(volumes.LocalBrickScrub(request.brick_scrub()),
                  [](proto::Response& r, proto::ScrubReport& s) { *r.mutable_brick_scrub()->mutable_report() = std::move(s); });
    case proto::Request::kBrickHeal:
      return From(volumes.LocalBrickHeal(request.brick_heal()), [](proto::Response& r) { r.mutable_brick_heal(); });
    case proto::Request::kBrickStatus: {
      proto::Response response;
      *response.mutable_brick_status()->mutable_brick() =
          volumes.LocalBrickStatus(request.brick_status().volume(), request.brick_status().path());
      return response;
    }
    default:
      return proto::ErrorResponse(Status(Code::kNotImplemented, "operation not served"));
  }
}

}  // namespace

bool IsAdminRequest(const proto::Request& request) {
  const int op = request.op_case();
  return (op >= proto::Request::kPoolList && op <= proto::Request::kBrickStatus) ||
         (op >= proto::Request::kVolumeHeal && op <= proto::Request::kBrickScrub);
}

proto::Response ServeAdmin(AdminServices& admin, const proto::Request& request, const std::string& peer) {
  const int op = request.op_case();
  if (op >= proto::Request::kPoolList && op <= proto::Request::kPoolLeave) return ServePool(*admin.pool, request, peer);
  return ServeVolume(*admin.volumes, request, peer);
}

}  // namespace shoal::server
