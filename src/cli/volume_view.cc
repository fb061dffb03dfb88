#include "cli/volume_view.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>

#include <fmt/format.h>

namespace shoal::cli {

std::string VolumeStateName(proto::VolumeState state) {
  switch (state) {
    case proto::VOLUME_STATE_CREATED: return "created";
    case proto::VOLUME_STATE_STARTED: return "started";
    case proto::VOLUME_STATE_STOPPED: return "stopped";
    default: return "unknown";
  }
}

std::string BrickName(const proto::BrickRef& brick) { return brick.server() + ":" + brick.path(); }

Result<proto::BrickRef> ParseBrick(const std::string& word) {
  const size_t split = word.find(":/");
  if (split == std::string::npos || split == 0)
    return Status(Code::kInvalidArgument,
                  fmt::format("'{}' is not a brick: write SERVER:/PATH (the server as the pool names it)", word));
  proto::BrickRef brick;
  brick.set_server(word.substr(0, split));
  brick.set_path(word.substr(split + 1));
  return brick;
}

namespace {
std::string TypeName(const proto::Volume& volume) { return volume.replica() > 1 ? "replicate" : "single"; }
}  // namespace

nlohmann::json VolumeJson(const proto::Volume& volume) {
  nlohmann::json bricks = nlohmann::json::array();
  for (const auto& brick : volume.bricks()) bricks.push_back({{"server", brick.server()}, {"path", brick.path()}});
  std::map<std::string, std::string> options(volume.options().begin(), volume.options().end());
  nlohmann::json out = {{"name", volume.name()},
                        {"id", volume.id()},
                        {"type", TypeName(volume)},
                        {"replica", volume.replica()},
                        {"state", VolumeStateName(volume.state())},
                        {"bricks", std::move(bricks)},
                        {"options", options},
                        {"created_unix_s", volume.created_unix_s()}};
  if (volume.static_volume()) out["static"] = true;
  return out;
}

nlohmann::json BrickStatusJson(const proto::BrickStatus& brick) {
  nlohmann::json out = {{"server", brick.server()},     {"path", brick.path()},   {"state", brick.state()},
                        {"reason", brick.reason()},     {"clients", brick.clients()}, {"reads", brick.reads()}, {"pid", brick.pid()},
                        {"bytes_total", brick.bytes_total()}, {"bytes_free", brick.bytes_free()}};
  if (brick.has_heal()) out["heal"] = HealJson(brick.heal());
  return out;
}

nlohmann::json HealJson(const proto::HealProgress& heal) {
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double seconds = heal.started_unix_ms() > 0 ? std::max<int64_t>(now_ms - heal.started_unix_ms(), 1) / 1000.0 : 0;
  nlohmann::json out = {{"state", heal.state()},         {"reason", heal.reason()},     {"pass", heal.pass()},
                        {"entries", heal.entries()},     {"entries_total", heal.entries_total()},
                        {"file_bytes", heal.file_bytes()}, {"bytes_total", heal.bytes_total()},
                        {"copied", heal.copied()},       {"removed", heal.removed()},   {"bytes", heal.bytes()},
                        {"dirty", heal.dirty()},         {"restarts", heal.restarts()}, {"entries_left", nullptr},
                        {"bytes_left", nullptr},         {"eta_s", nullptr},
                        {"started_unix_ms", heal.started_unix_ms()}, {"compares", heal.compares()},
                        {"missed", heal.missed()},       {"directories", heal.directories()}};
  if (heal.state() != "healing") return out;
  out["seconds"] = seconds;
  const double rate = seconds > 0 ? heal.entries() / seconds : 0;
  const double byte_rate = seconds > 0 ? heal.file_bytes() / seconds : 0;
  out["entries_per_s"] = rate;
  out["file_bytes_per_s"] = byte_rate;
  if (heal.pass() == 1) {
    // The first pass looks at the whole tree, or at what the brick missed: what is left of it, by
    // count and by size (an estimate for what it missed: the directories compared hold more); the
    // slower of the two says when it ends.
    const uint64_t left = heal.entries_total() > heal.entries() ? heal.entries_total() - heal.entries() : 0;
    const uint64_t bytes_left = heal.bytes_total() > heal.file_bytes() ? heal.bytes_total() - heal.file_bytes() : 0;
    out["entries_left"] = left;
    out["bytes_left"] = bytes_left;
    if (rate > 0) out["eta_s"] = std::max(left / rate, byte_rate > 0 ? bytes_left / byte_rate : 0.0);
  } else if (heal.pass() > 1) {
    out["entries_left"] = heal.dirty();  // what clients changed meanwhile, compared again
    if (rate > 0) out["eta_s"] = heal.dirty() / rate;
  }
  return out;
}

std::string Bytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 5) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, units[unit]);
}

void PrintVolumeInfo(const proto::Volume& volume) {
  fmt::print("Volume Name: {}\n", volume.name());
  fmt::print("Type: {}\n", volume.replica() > 1 ? fmt::format("Replicate (replica {})", volume.replica()) : "Single brick");
  fmt::print("Volume ID: {}\n", volume.id());
  fmt::print("Status: {}\n", VolumeStateName(volume.state()));
  fmt::print("Number of Bricks: {}\n", volume.bricks_size());
  fmt::print("Bricks:\n");
  for (int i = 0; i < volume.bricks_size(); ++i) fmt::print("Brick{}: {}\n", i + 1, BrickName(volume.bricks(i)));
  if (volume.options().empty()) return;
  fmt::print("Options Reconfigured:\n");
  std::map<std::string, std::string> options(volume.options().begin(), volume.options().end());
  for (const auto& [key, value] : options) fmt::print("{}: {}\n", key, value);
}

void NoteStaleness(const proto::Staleness& staleness) {
  if (staleness.stale()) fmt::print(stderr, "note: {}; it may be out of date\n", staleness.reason());
}

}  // namespace shoal::cli
