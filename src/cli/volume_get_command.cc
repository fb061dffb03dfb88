// shoal volume get NAME KEY|all [--json]: the value in effect of a volume's options.
#include <map>

#include <fmt/format.h>

#include "cli/admin.h"
#include "cli/commands.h"
#include "cli/volume_view.h"
#include "common/volume_options.h"

namespace shoal::cli {

void AddVolumeGetCommand(CLI::App& volume, const Globals& globals, Outcome& outcome) {
  struct Args {
    std::string name, key;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* get = volume.add_subcommand("get", "the value of a volume option: get NAME KEY|all");
  get->add_option("name", args->name, "the volume")->required();
  get->add_option("key", args->key, "an option, or all")->required();
  get->add_flag("--json", args->json, "print JSON: {\"options\": {KEY: VALUE}}");
  get->callback([args, &globals, &outcome] {
    if (args->key != "all" && FindVolumeOption(args->key) == nullptr) {
      outcome.exit_code = Fail("volume get", Status(Code::kInvalidArgument,
                                                    fmt::format("'{}' is not a volume option (`shoal volume set help` "
                                                                "lists them)", args->key)));
      return;
    }
    proto::Request request;
    request.mutable_volume_info()->set_name(args->name);
    auto answer = CallAdmin(globals.server, std::move(request));
    if (!answer.ok()) {
      outcome.exit_code = Fail("volume get", answer.status());
      return;
    }
    NoteStaleness(answer->volume_info().staleness());
    const proto::Volume& volume = answer->volume_info().volumes(0);
    std::map<std::string, std::string> set(volume.options().begin(), volume.options().end());
    std::vector<std::vector<std::string>> rows;
    nlohmann::json out = {{"options", nlohmann::json::object()}};
    for (const VolumeOption& option : VolumeOptions()) {
      if (args->key != "all" && option.key != args->key) continue;
      std::string value = VolumeOptionValue(set, option.key);
      out["options"][std::string(option.key)] = value;
      rows.push_back({std::string(option.key), value.empty() ? "(empty)" : value});
    }
    if (args->json) fmt::print("{}\n", out.dump(2));
    else PrintTable({"OPTION", "VALUE"}, rows);
  });
}

}  // namespace shoal::cli
