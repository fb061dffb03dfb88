// shoal volume create NAME [replica N] [witness SERVER] SERVER:/PATH... [force]: defines a volume.
#include <fmt/format.h>

#include "cli/admin.h"
#include "cli/commands.h"
#include "cli/volume_view.h"

namespace shoal::cli {
namespace {

// The words after NAME, as Gluster takes them: keywords and bricks in one list.
Result<proto::VolumeCreateRequest> ParseCreate(const std::string& name, const std::vector<std::string>& words) {
  proto::VolumeCreateRequest request;
  request.set_name(name);
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (word == "replica" || word == "witness") {
      if (i + 1 == words.size()) return Status(Code::kInvalidArgument, fmt::format("`{}` wants a value", word));
      const std::string& value = words[++i];
      if (word == "witness") {
        request.set_witness(value);
        continue;
      }
      if (value.empty() || value.size() > 2 || value.find_first_not_of("0123456789") != std::string::npos ||
          std::stoi(value) == 0)
        return Status(Code::kInvalidArgument, fmt::format("replica wants a count (1, 2 or 3), not '{}'", value));
      request.set_replica(static_cast<uint32_t>(std::stoi(value)));
    } else if (word == "force") {
      request.set_force(true);
    } else {
      SHOAL_ASSIGN_OR_RETURN(*request.add_bricks(), ParseBrick(word));
    }
  }
  return request;
}

}  // namespace

void AddVolumeCreateCommand(CLI::App& volume, const Globals& globals, Outcome& outcome) {
  struct Args {
    std::string name;
    std::vector<std::string> words;
  };
  auto args = std::make_shared<Args>();
  CLI::App* create = volume.add_subcommand(
      "create", "define a volume: create NAME [replica N] SERVER:/PATH... [force]");
  create->add_option("name", args->name, "the volume's name")->required();
  create->add_option("bricks", args->words,
                     "[replica N] [witness SERVER] SERVER:/PATH... [force]: the bricks, one per copy; force accepts a "
                     "non-empty brick directory or one on the root filesystem")
      ->required();
  create->callback([args, &globals, &outcome] {
    auto parsed = ParseCreate(args->name, args->words);
    if (!parsed.ok()) {
      outcome.exit_code = Fail("volume create", parsed.status());
      return;
    }
    proto::Request request;
    *request.mutable_volume_create() = std::move(*parsed);
    auto answer = CallAdmin(globals.server, std::move(request));
    if (!answer.ok()) {
      outcome.exit_code = Fail("volume create", answer.status());
      return;
    }
    for (const auto& warning : answer->volume_create().warnings()) fmt::print(stderr, "warning: {}\n", warning);
    fmt::print("volume create: {}: success: start it with `shoal volume start {}` to use it\n", args->name, args->name);
  });
}

}  // namespace shoal::cli
