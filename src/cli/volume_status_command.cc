// shoal volume status [NAME] [--json]: each brick of a volume (or of every volume) as its server sees it now.
#include <fmt/format.h>

#include "cli/admin.h"
#include "cli/commands.h"
#include "cli/volume_view.h"

namespace shoal::cli {
namespace {

nlohmann::json StatusJson(const proto::VolumeStatusResponse& status) {
  nlohmann::json out = {{"name", status.volume().name()},
                        {"state", VolumeStateName(status.volume().state())},
                        {"bricks", nlohmann::json::array()},
                        {"stale", status.staleness().stale()}};
  for (const auto& brick : status.bricks()) out["bricks"].push_back(BrickStatusJson(brick));
  if (status.has_replica_set()) {
    const proto::ReplicaSet& set = status.replica_set();
    auto server_of = [&](int64_t brick) {
      return brick >= 0 && brick < status.volume().bricks_size() ? nlohmann::json(status.volume().bricks(brick).server())
                                                                 : nlohmann::json(nullptr);
    };
    nlohmann::json in_sync = nlohmann::json::array();
    for (uint32_t brick : set.in_sync()) in_sync.push_back(server_of(brick));
    out["replica_set"] = {{"epoch", set.epoch()},
                          {"primary", server_of(set.primary())},
                          {"in_sync", in_sync},
                          {"min_in_sync", set.min_in_sync()}};
  }
  return out;
}

void PrintStatus(const proto::VolumeStatusResponse& status) {
  fmt::print("Status of volume: {} ({})\n\n", status.volume().name(), VolumeStateName(status.volume().state()));
  std::vector<std::vector<std::string>> rows;
  for (const auto& brick : status.bricks()) {
    const bool answered = brick.state() != "down";
    rows.push_back({brick.server() + ":" + brick.path(), brick.state(), answered ? std::to_string(brick.clients()) : "-",
                    answered ? std::to_string(brick.reads()) : "-", answered ? std::to_string(brick.pid()) : "-",
                    answered && brick.bytes_total() ? Bytes(brick.bytes_free()) + " of " + Bytes(brick.bytes_total())
                                                    : "-"});
  }
  PrintTable({"BRICK", "STATE", "CLIENTS", "READS", "PID", "FREE"}, rows);
  if (status.has_replica_set())
    fmt::print("\nEpoch {}: {} of {} bricks in sync, writes need at least {}\n", status.replica_set().epoch(),
               status.replica_set().in_sync_size(), status.volume().bricks_size(), status.replica_set().min_in_sync());
  for (const auto& brick : status.bricks())
    if (!brick.reason().empty()) fmt::print("\n{}:{}: {}\n", brick.server(), brick.path(), brick.reason());
  for (const auto& brick : status.bricks()) {
    if (!brick.has_heal() || brick.heal().state() == "done") continue;
    const nlohmann::json heal = HealJson(brick.heal());
    fmt::print("\n{}:{}: heal {}", brick.server(), brick.path(), brick.heal().state());
    if (brick.heal().state() == "healing")
      fmt::print(", pass {}, {} entries compared, {} copied, {} sent", brick.heal().pass(), brick.heal().entries(),
                 brick.heal().copied(), Bytes(brick.heal().bytes()));
    if (!heal["entries_left"].is_null()) fmt::print(", {} left", heal["entries_left"].get<uint64_t>());
    if (!brick.heal().reason().empty()) fmt::print(": {}", brick.heal().reason());
    fmt::print(" (`shoal volume heal {} info`)\n", status.volume().name());
  }
}

Result<proto::VolumeStatusResponse> AskStatus(const Globals& globals, const std::string& name) {
  proto::Request request;
  request.mutable_volume_status()->set_name(name);
  auto answer = CallAdmin(globals.server, std::move(request));
  if (!answer.ok()) return answer.status();
  return answer->volume_status();
}

// The names of every volume, from `volume info`.
Result<std::vector<std::string>> AllVolumes(const Globals& globals) {
  proto::Request request;
  request.mutable_volume_info();
  auto answer = CallAdmin(globals.server, std::move(request));
  if (!answer.ok()) return answer.status();
  std::vector<std::string> names;
  for (const auto& v : answer->volume_info().volumes()) names.push_back(v.name());
  return names;
}

}  // namespace

void AddVolumeStatusCommand(CLI::App& volume, const Globals& globals, Outcome& outcome) {
  struct Args {
    std::string name;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* status = volume.add_subcommand("status", "volumes' bricks now: state, clients, free space");
  status->add_option("name", args->name, "the volume (default: every volume)");
  status->add_flag("--json", args->json,
                   "print JSON: {name, state, bricks: [{server, path, state, reason, clients, pid, bytes_total, "
                   "bytes_free, heal}], replica_set: {epoch, primary, in_sync: [server...], min_in_sync}} (a brick's "
                   "state: online, offline, error, down; replicated: primary, in-sync, healing, out-of-sync; heal: "
                   "as in `volume heal NAME info --json`); without NAME, "
                   "{\"volumes\": [...]} of those");
  status->callback([args, &globals, &outcome] {
    std::vector<std::string> names = {args->name};
    if (args->name.empty()) {
      auto all = AllVolumes(globals);
      if (!all.ok()) {
        outcome.exit_code = Fail("volume status", all.status());
        return;
      }
      names = std::move(*all);
    }
    nlohmann::json all_json = {{"volumes", nlohmann::json::array()}};
    for (size_t i = 0; i < names.size(); ++i) {
      auto status = AskStatus(globals, names[i]);
      if (!status.ok()) {
        outcome.exit_code = Fail("volume status", status.status());
        return;
      }
      NoteStaleness(status->staleness());
      if (args->json) all_json["volumes"].push_back(StatusJson(*status));
      else {
        if (i > 0) fmt::print("\n");
        PrintStatus(*status);
      }
    }
    if (args->json) fmt::print("{}\n", (args->name.empty() ? all_json : all_json["volumes"][0]).dump(2));
    else if (names.empty()) fmt::print("No volumes present\n");
  });
}

}  // namespace shoal::cli
