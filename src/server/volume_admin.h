// VolumeAdmin: the `shoal volume ...` commands as any server of the pool answers them, from and
// into the volume records in etcd (volume_records.h), and the brick-side checks other servers ask
// of this one.
//
// A change (create, start, stop, delete, set) is a compare-and-swap of the volume's record; the
// servers of its bricks are then told to refresh (BrickRefresh), so that a start serves the
// bricks before the command returns. A server that misses the word catches up within its
// BrickHost's poll. Reads (info, status, locate) need no quorum: without one they answer from
// this server's copy of the records and say that it may be stale.
//
// Thread-safe; every method may block on etcd and on other servers (for up to the timeouts).
#pragma once

#include <string>

#include "common/status.h"
#include "proto/shoal.pb.h"
#include "server/brick_host.h"
#include "server/pool.h"
#include "server/volume_records.h"
#include "server/volume_registry.h"

namespace shoal::server {

struct VolumeAdminOptions {
  int peer_timeout_ms = 3000;    // a brick's server asked to check or refresh its brick
  int status_timeout_ms = 1500;  // a brick's server asked for its brick's status
  bool witness = false;          // shoald --witness: refuses to hold bricks
};

class VolumeAdmin {
 public:
  VolumeAdmin(VolumeAdminOptions options, Pool& pool, VolumeRegistry& volumes, BrickHost& bricks)
      : options_(options), pool_(pool), volumes_(volumes), bricks_(bricks) {}

  Result<proto::VolumeCreateResponse> Create(const proto::VolumeCreateRequest& request);
  Result<proto::VolumeStartResponse> Start(const proto::VolumeStartRequest& request);
  Status Stop(const proto::VolumeStopRequest& request);
  Status Delete(const proto::VolumeDeleteRequest& request);
  Result<proto::Volume> Set(const proto::VolumeSetRequest& request);
  Result<proto::VolumeInfoResponse> Info(const proto::VolumeInfoRequest& request);
  Result<proto::VolumeStatusResponse> VolumeStatus(const proto::VolumeStatusRequest& request);
  // The record a client mounts from: the pool's volume, or a static one of this server
  // (shoald --volume). Refused with the reason unless the volume is started.
  Result<proto::Volume> Locate(const std::string& name);

  // On the brick's server: may `path` become a brick? Refusals say why; warnings are what `force`
  // let through.
  Result<proto::BrickCheckResponse> CheckBrick(const proto::BrickCheckRequest& request);
  // On the brick's server: the brick of `volume` at `path` as served now.
  proto::BrickStatus LocalBrickStatus(const std::string& volume, const std::string& path);
  // shoal volume replace-brick NAME OLD NEW: the volume's brick OLD moves to NEW (another server,
  // or another path), which starts empty and out of sync and is filled by a heal.
  Result<proto::VolumeReplaceBrickResponse> ReplaceBrick(const proto::VolumeReplaceBrickRequest& request);
  // shoal volume scrub NAME: every brick's index checked against its tree and repaired.
  Result<proto::VolumeScrubResponse> Scrub(const proto::VolumeScrubRequest& request);
  // On the brick's server: scrubs its brick of `volume` at `path`.
  Result<proto::ScrubReport> LocalBrickScrub(const proto::BrickScrubRequest& request);
  // shoal volume heal NAME [full]: asks the volume's primary to heal the bricks out of sync now.
  Result<proto::VolumeHealResponse> Heal(const proto::VolumeHealRequest& request);
  // On the brick's server: heal now, if the brick is its volume's primary (kNotPrimary if not).
  Status LocalBrickHeal(const proto::BrickHealRequest& request);
  // On the brick's server: re-read the records now.
  Status RefreshBricks() { return bricks_.Refresh(); }

 private:
  // The record of volume `name`, and the answer's staleness (read without quorum).
  Result<VolumeEntry> Read(const std::string& name, proto::Staleness* staleness);
  // Tells the servers of the volume's bricks to refresh; returns each brick's status afterwards.
  std::vector<proto::BrickStatus> RefreshServersOf(const proto::Volume& volume);
  proto::BrickStatus AskBrickStatus(const std::string& volume, const proto::BrickRef& brick);
  // Whether `given` may become a brick of `volume` (whose other bricks are set): its server is in
  // the pool (`servers`), not the witness and not holding another of the volume's bricks, and its
  // directory is not used by any volume (`existing`) and passes its server's check (warnings:
  // what `force` let through). Returns it with the server's canonical name and the path's.
  Result<proto::BrickRef> CheckNewBrick(const proto::BrickRef& given, bool force,
                                        const std::vector<proto::PoolServer>& servers,
                                        const std::vector<VolumeEntry>& existing, const proto::Volume& volume,
                                        google::protobuf::RepeatedPtrField<std::string>* warnings);

  const VolumeAdminOptions options_;
  Pool& pool_;
  VolumeRegistry& volumes_;
  BrickHost& bricks_;
};

}  // namespace shoal::server
