// What the volume commands share: a volume's record and its bricks' status as JSON and as text,
// and the note printed when the answer may be stale.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "proto/shoal.pb.h"

namespace shoal::cli {

// "created", "started", "stopped".
std::string VolumeStateName(proto::VolumeState state);
// "SERVER:/PATH".
std::string BrickName(const proto::BrickRef& brick);
// SERVER:/PATH as the user writes it, where SERVER may carry a port ("127.0.0.2:24100:/b").
Result<proto::BrickRef> ParseBrick(const std::string& word);

// {name, id, type, replica, state, bricks: [{server, path}], options: {set ones}, created_unix_s}
nlohmann::json VolumeJson(const proto::Volume& volume);
// {server, path, state, reason, clients, pid, bytes_total, bytes_free[, heal]}
nlohmann::json BrickStatusJson(const proto::BrickStatus& brick);
// A heal's progress: {state, reason, pass, entries, entries_total, entries_left, copied, removed,
// bytes, dirty, seconds, entries_per_s, eta_s}; entries_left and eta_s are null until known.
nlohmann::json HealJson(const proto::HealProgress& heal);
// "12.0 MiB", "512 B".
std::string Bytes(uint64_t bytes);

// The `volume info` block of one volume.
void PrintVolumeInfo(const proto::Volume& volume);

// On stderr, when a read was answered without a quorum.
void NoteStaleness(const proto::Staleness& staleness);

}  // namespace shoal::cli
