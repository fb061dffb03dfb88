#include "cli/volume_view.h"

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
  return {{"server", brick.server()},     {"path", brick.path()},   {"state", brick.state()},
          {"reason", brick.reason()},     {"clients", brick.clients()}, {"pid", brick.pid()},
          {"bytes_total", brick.bytes_total()}, {"bytes_free", brick.bytes_free()}};
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
