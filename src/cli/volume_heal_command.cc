// shoal volume heal NAME [info|full] [--json]: the heal of a replicated volume's bricks. Heals start
// by themselves when a brick's server comes back; `heal NAME` starts them now, `heal NAME full`
// also compares every file's content, `heal NAME info` shows how they are going.
#include <cmath>

#include <fmt/format.h>

#include "cli/admin.h"
#include "cli/commands.h"
#include "cli/volume_view.h"

namespace shoal::cli {
namespace {

std::string Duration(double seconds) {
  if (seconds < 60) return fmt::format("{:.1f} s", seconds);
  if (seconds < 3600) return fmt::format("{:.0f} min {:.0f} s", seconds / 60, std::fmod(seconds, 60));
  return fmt::format("{:.1f} h", seconds / 3600);
}

nlohmann::json InfoJson(const proto::VolumeStatusResponse& status) {
  nlohmann::json bricks = nlohmann::json::array();
  for (const auto& brick : status.bricks()) {
    nlohmann::json entry = {{"server", brick.server()}, {"path", brick.path()}, {"state", brick.state()}};
    entry["heal"] = brick.has_heal() ? HealJson(brick.heal()) : nlohmann::json(nullptr);
    bricks.push_back(std::move(entry));
  }
  return {{"name", status.volume().name()}, {"epoch", status.replica_set().epoch()}, {"bricks", std::move(bricks)}};
}

void PrintInfo(const proto::VolumeStatusResponse& status) {
  fmt::print("Heal of volume {} (epoch {}, {} of {} bricks in sync)\n\n", status.volume().name(),
             status.replica_set().epoch(), status.replica_set().in_sync_size(), status.volume().bricks_size());
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> reasons;
  for (const auto& brick : status.bricks()) {
    const std::string name = brick.server() + ":" + brick.path();
    if (!brick.has_heal()) {
      rows.push_back({name, brick.state(), "-", "-", "-", "-", "-", "-"});
      continue;
    }
    const proto::HealProgress& heal = brick.heal();
    const nlohmann::json json = HealJson(heal);
    const bool healing = heal.state() == "healing";
    std::string left = "-";
    if (!json["entries_left"].is_null()) left = std::to_string(json["entries_left"].get<uint64_t>());
    if (!json["bytes_left"].is_null()) left += ", " + Bytes(json["bytes_left"].get<uint64_t>());
    rows.push_back({name, brick.state() == "in-sync" || brick.state() == "primary" ? brick.state() + " (healed)"
                                                                                   : brick.state() + ", heal " + heal.state(),
                    !healing                      ? "-"
                    : heal.compares() == "missed" ? fmt::format("{} (missed {})", heal.pass(), heal.missed())
                                                  : std::to_string(heal.pass()),
                    left,
                    fmt::format("{} copied, {} removed", heal.copied(), heal.removed()), Bytes(heal.bytes()),
                    healing && json.contains("entries_per_s")
                        ? fmt::format("{:.0f} entries/s", json["entries_per_s"].get<double>())
                        : "-",
                    json["eta_s"].is_null() ? "-" : Duration(json["eta_s"].get<double>())});
    if (!heal.reason().empty()) reasons.push_back(fmt::format("{}: {}", name, heal.reason()));
    if (heal.restarts() > 0)
      reasons.push_back(fmt::format("{}: restarted {} time(s) after making no progress for heal-stall-timeout", name,
                                    heal.restarts()));
  }
  PrintTable({"BRICK", "STATE", "PASS", "LEFT", "DONE", "SENT", "RATE", "ETA"}, rows);
  for (const std::string& reason : reasons) fmt::print("\n{}\n", reason);
}

}  // namespace

void AddVolumeHealCommand(CLI::App& volume, const Globals& globals, Outcome& outcome) {
  struct Args {
    std::string name;
    std::string what;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* heal = volume.add_subcommand(
      "heal", "heal a replicated volume's bricks now (they also heal by themselves), compare everything (full), or "
              "show how the heal goes (info)");
  heal->add_option("name", args->name, "the volume")->required();
  heal->add_option("what", args->what, "info: show the heal; full: compare the whole tree and every file's content, not only what the "
                   "primary recorded that the brick missed")
      ->check(CLI::IsMember({"info", "full"}));
  heal->add_flag("--json", args->json,
                 "with info: print JSON {name, epoch, bricks: [{server, path, state, heal: {state, reason, pass, "
                 "entries, entries_total, entries_left, file_bytes, bytes_total, bytes_left, copied, removed, bytes, dirty, "
                 "restarts, compares, missed, directories, seconds, entries_per_s, file_bytes_per_s, eta_s} "
                 "or null}]}");
  heal->callback([args, &globals, &outcome] {
    if (args->what == "info") {
      proto::Request request;
      request.mutable_volume_status()->set_name(args->name);
      auto answer = CallAdmin(globals.server, std::move(request));
      if (!answer.ok()) {
        outcome.exit_code = Fail("volume heal", answer.status());
        return;
      }
      const proto::VolumeStatusResponse& status = answer->volume_status();
      NoteStaleness(status.staleness());
      if (status.volume().bricks_size() < 2) {
        outcome.exit_code = Fail("volume heal", Status(Code::kInvalidArgument,
                                                       fmt::format("volume {} has one brick: it has nothing to heal",
                                                                   args->name)));
        return;
      }
      if (args->json) fmt::print("{}\n", InfoJson(status).dump(2));
      else PrintInfo(status);
      return;
    }
    proto::Request request;
    request.mutable_volume_heal()->set_name(args->name);
    request.mutable_volume_heal()->set_full(args->what == "full");
    auto answer = CallAdmin(globals.server, std::move(request));
    if (!answer.ok()) {
      outcome.exit_code = Fail("volume heal", answer.status());
      return;
    }
    const auto& healing = answer->volume_heal().healing();
    if (healing.empty()) {
      fmt::print("Every brick of volume {} is in sync: nothing to heal\n", args->name);
    } else {
      fmt::print("Heal of volume {} started{} for {} brick(s) out of sync; `shoal volume heal {} info` shows "
                 "its progress\n",
                 args->name, args->what == "full" ? " (full)" : "", healing.size(), args->name);
    }
  });
}

}  // namespace shoal::cli
