// shoal volume replace-brick NAME OLD NEW [commit] [force]: moves a brick of a replicated volume to
// another server or directory. The new brick starts empty and out of sync, and the volume's
// primary fills it with a heal (`shoal volume heal NAME info` shows how far it got). "commit" is
// accepted as GlusterFS's command line has it; it changes nothing.
#include <fmt/format.h>

#include "cli/admin.h"
#include "cli/commands.h"
#include "cli/volume_view.h"

namespace shoal::cli {

void AddVolumeReplaceBrickCommand(CLI::App& volume, const Globals& globals, Outcome& outcome) {
  struct Args {
    std::string name;
    std::string old_brick;
    std::string new_brick;
    std::vector<std::string> words;
  };
  auto args = std::make_shared<Args>();
  CLI::App* replace = volume.add_subcommand(
      "replace-brick", "move a brick of a replicated volume to another server or directory; a heal fills it");
  replace->add_option("name", args->name, "the volume")->required();
  replace->add_option("old", args->old_brick, "SERVER:/PATH: the brick to replace")->required();
  replace->add_option("new", args->new_brick, "SERVER:/PATH: its new place, an empty directory")->required();
  replace->add_option("words", args->words, "[commit] [force]: force accepts a non-empty directory or one on the root "
                                            "filesystem")
      ->check(CLI::IsMember({"commit", "force"}));
  replace->callback([args, &globals, &outcome] {
    proto::Request request;
    auto* r = request.mutable_volume_replace_brick();
    r->set_name(args->name);
    auto old_brick = ParseBrick(args->old_brick);
    auto new_brick = ParseBrick(args->new_brick);
    if (!old_brick.ok() || !new_brick.ok()) {
      outcome.exit_code = Fail("volume replace-brick", old_brick.ok() ? new_brick.status() : old_brick.status());
      return;
    }
    *r->mutable_old_brick() = *old_brick;
    *r->mutable_new_brick() = *new_brick;
    r->set_force(std::find(args->words.begin(), args->words.end(), "force") != args->words.end());
    auto answer = CallAdmin(globals.server, std::move(request));
    if (!answer.ok()) {
      outcome.exit_code = Fail("volume replace-brick", answer.status());
      return;
    }
    for (const auto& warning : answer->volume_replace_brick().warnings()) fmt::print(stderr, "warning: {}\n", warning);
    fmt::print("volume replace-brick: {}: success: {} replaces {}; it is filled by a heal (`shoal volume heal {} "
               "info`)\n",
               args->name, args->new_brick, args->old_brick, args->name);
  });
}

}  // namespace shoal::cli
