// shoal volume set NAME KEY VALUE | shoal volume set help, and shoal volume reset NAME KEY.
#include <fmt/format.h>

#include "cli/admin.h"
#include "cli/commands.h"
#include "common/volume_options.h"

namespace shoal::cli {
namespace {

void PrintOptionsHelp() {
  for (const VolumeOption& option : VolumeOptions()) {
    fmt::print("Option: {}\n", option.key);
    fmt::print("Default Value: {}\n", option.default_value.empty() ? "(empty)" : option.default_value);
    fmt::print("Description: {}\n\n", option.meaning);
  }
}

void Send(const Globals& globals, Outcome& outcome, const char* command, proto::VolumeSetRequest set) {
  proto::Request request;
  *request.mutable_volume_set() = set;
  auto answer = CallAdmin(globals.server, std::move(request));
  if (!answer.ok()) {
    outcome.exit_code = Fail(command, answer.status());
    return;
  }
  fmt::print("{}: {}: success\n", command, set.name());
}

}  // namespace

void AddVolumeSetCommand(CLI::App& volume, const Globals& globals, Outcome& outcome) {
  auto words = std::make_shared<std::vector<std::string>>();
  CLI::App* set = volume.add_subcommand("set", "set a volume option: set NAME KEY VALUE; `set help` lists them");
  set->add_option("args", *words, "NAME KEY VALUE, or help")->required();
  set->callback([words, &globals, &outcome] {
    if (words->size() == 1 && words->front() == "help") {
      PrintOptionsHelp();
      return;
    }
    if (words->size() != 3) {
      outcome.exit_code = Fail("volume set", Status(Code::kInvalidArgument,
                                                    "usage: shoal volume set NAME KEY VALUE (or: shoal volume set help)"));
      return;
    }
    proto::VolumeSetRequest request;
    request.set_name((*words)[0]);
    request.set_key((*words)[1]);
    request.set_value((*words)[2]);
    Send(globals, outcome, "volume set", std::move(request));
  });

  struct ResetArgs {
    std::string name, key;
  };
  auto reset_args = std::make_shared<ResetArgs>();
  CLI::App* reset = volume.add_subcommand("reset", "put a volume option back to its default: reset NAME KEY");
  reset->add_option("name", reset_args->name, "the volume")->required();
  reset->add_option("key", reset_args->key, "the option")->required();
  reset->callback([reset_args, &globals, &outcome] {
    proto::VolumeSetRequest request;
    request.set_name(reset_args->name);
    request.set_key(reset_args->key);
    request.set_reset(true);
    Send(globals, outcome, "volume reset", std::move(request));
  });
}

}  // namespace shoal::cli
