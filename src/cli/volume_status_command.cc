// shoal volume status NAME [--json]: each brick as its server sees it now.
#include <fmt/format.h>

#include "cli/admin.h"
#include "cli/commands.h"
#include "cli/volume_view.h"

namespace shoal::cli {
namespace {

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

}  // namespace

void AddVolumeStatusCommand(CLI::App& volume, const Globals& globals, Outcome& outcome) {
  struct Args {
    std::string name;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* status = volume.add_subcommand("status", "a volume's bricks now: state, clients, free space");
  status->add_option("name", args->name, "the volume")->required();
  status->add_flag("--json", args->json,
                   "print JSON: {name, state, bricks: [{server, path, state, reason, clients, pid, bytes_total, "
                   "bytes_free}]}");
  status->callback([args, &globals, &outcome] {
    proto::Request request;
    request.mutable_volume_status()->set_name(args->name);
    auto answer = CallAdmin(globals.server, std::move(request));
    if (!answer.ok()) {
      outcome.exit_code = Fail("volume status", answer.status());
      return;
    }
    const auto& status = answer->volume_status();
    NoteStaleness(status.staleness());
    if (args->json) {
      nlohmann::json out = {{"name", status.volume().name()},
                            {"state", VolumeStateName(status.volume().state())},
                            {"bricks", nlohmann::json::array()},
                            {"stale", status.staleness().stale()}};
      for (const auto& brick : status.bricks()) out["bricks"].push_back(BrickStatusJson(brick));
      fmt::print("{}\n", out.dump(2));
      return;
    }
    fmt::print("Status of volume: {} ({})\n\n", status.volume().name(), VolumeStateName(status.volume().state()));
    std::vector<std::vector<std::string>> rows;
    for (const auto& brick : status.bricks()) {
      const bool answered = brick.state() != "down";
      rows.push_back({brick.server() + ":" + brick.path(), brick.state(), answered ? std::to_string(brick.clients()) : "-",
                      answered ? std::to_string(brick.pid()) : "-",
                      answered && brick.bytes_total() ? Bytes(brick.bytes_free()) + " of " + Bytes(brick.bytes_total())
                                                      : "-"});
    }
    PrintTable({"BRICK", "STATE", "CLIENTS", "PID", "FREE"}, rows);
    for (const auto& brick : status.bricks())
      if (!brick.reason().empty()) fmt::print("\n{}:{}: {}\n", brick.server(), brick.path(), brick.reason());
  });
}

}  // namespace shoal::cli
