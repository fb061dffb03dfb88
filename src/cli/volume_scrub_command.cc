// shoal volume scrub NAME [--json]: checks each brick's index (node id -> file handle, kept in
// .shoal/) against the brick's tree and repairs it, and reports what the tree itself holds that
// shoal did not put there: objects without a node id, or carrying another object's.
#include <fmt/format.h>

#include "cli/admin.h"
#include "cli/commands.h"
#include "cli/volume_view.h"

namespace shoal::cli {

void AddVolumeScrubCommand(CLI::App& volume, const Globals& globals, Outcome& outcome) {
  struct Args {
    std::string name;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* scrub = volume.add_subcommand(
      "scrub", "check each brick's index against its tree and repair it; report objects put there behind shoal's back");
  scrub->add_option("name", args->name, "the volume")->required();
  scrub->add_flag("--json", args->json,
                  "print JSON {name, bricks: [{server, path, objects, index_added, index_removed, without_id, "
                  "duplicate_ids, examples: [path...], error}]}");
  scrub->callback([args, &globals, &outcome] {
    proto::Request request;
    request.mutable_volume_scrub()->set_name(args->name);
    auto answer = CallAdmin(globals.server, std::move(request));
    if (!answer.ok()) {
      outcome.exit_code = Fail("volume scrub", answer.status());
      return;
    }
    const auto& bricks = answer->volume_scrub().bricks();
    bool failed = false;
    for (const auto& brick : bricks) failed = failed || !brick.error().empty();
    if (failed) outcome.exit_code = 1;
    if (args->json) {
      nlohmann::json out = {{"name", args->name}, {"bricks", nlohmann::json::array()}};
      for (const auto& b : bricks)
        out["bricks"].push_back({{"server", b.server()}, {"path", b.path()}, {"objects", b.objects()},
                                 {"index_added", b.index_added()}, {"index_removed", b.index_removed()},
                                 {"without_id", b.without_id()}, {"duplicate_ids", b.duplicate_ids()},
                                 {"examples", std::vector<std::string>(b.examples().begin(), b.examples().end())},
                                 {"error", b.error()}});
      fmt::print("{}\n", out.dump(2));
      return;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& b : bricks)
      rows.push_back({b.server() + ":" + b.path(), b.error().empty() ? std::to_string(b.objects()) : "-",
                      b.error().empty() ? fmt::format("{} added, {} removed", b.index_added(), b.index_removed()) : "-",
                      b.error().empty() ? std::to_string(b.without_id()) : "-",
                      b.error().empty() ? std::to_string(b.duplicate_ids()) : "-"});
    PrintTable({"BRICK", "OBJECTS", "INDEX REPAIRED", "WITHOUT ID", "DUPLICATE IDS"}, rows);
    for (const auto& b : bricks) {
      if (!b.error().empty()) fmt::print("\n{}:{}: not scrubbed: {}\n", b.server(), b.path(), b.error());
      for (const auto& example : b.examples()) fmt::print("{}:{}: {}\n", b.server(), b.path(), example);
    }
  });
}

}  // namespace shoal::cli
