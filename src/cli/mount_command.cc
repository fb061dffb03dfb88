// shoal mount HOST[:PORT]:/VOLUME MOUNTPOINT [-o OPTIONS] [-f]; and mount.shoal for mount(8).
#include <fmt/format.h>

#include "cli/commands.h"
#include "fuse/mount.h"

namespace shoal::cli {
namespace {

int Mount(const std::string& spec, const std::string& mountpoint, const std::vector<std::string>& option_lists,
          bool foreground) {
  auto options = fuse::ParseMountOptions(spec, mountpoint, option_lists);
  if (!options.ok()) {
    fmt::print(stderr, "shoal mount: {}\n", options.status().message());
    return 2;
  }
  if (foreground) options->foreground = true;
  return fuse::RunMount(*options);
}

}  // namespace

void AddMountCommand(CLI::App& app, Outcome& outcome) {
  struct Args {
    std::string spec, mountpoint;
    std::vector<std::string> options;
    bool foreground = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* mount = app.add_subcommand("mount", "mount a volume (runs in the background once mounted)");
  mount->add_option("spec", args->spec, "HOST[:PORT]:/VOLUME")->required();
  mount->add_option("mountpoint", args->mountpoint, "an existing directory")->required();
  mount->add_option("-o", args->options,
                    "comma-separated options: backup-servers=H2:H3, attr-timeout=S, entry-timeout=S, "
                    "negative-timeout=S, connect-timeout=S, reads=spread|primary, strict-locks, log-file=PATH, "
                    "log-level=L, ro, foreground, ...");
  mount->add_flag("-f,--foreground", args->foreground, "stay in the foreground and log to stderr");
  mount->footer("Unmount with: umount MOUNTPOINT (or fusermount3 -u MOUNTPOINT)");
  mount->callback([args, &outcome] { outcome.exit_code = Mount(args->spec, args->mountpoint, args->options, args->foreground); });
}

int MountHelperMain(int argc, char** argv) {
  // mount(8) calls: mount.shoal SPEC DIR [-sfnv] [-N namespace] [-t type] [-o options]
  std::vector<std::string> positional, options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-o" && i + 1 < argc) {
      options.push_back(argv[++i]);
    } else if ((arg == "-t" || arg == "-N") && i + 1 < argc) {
      ++i;
    } else if (arg.starts_with("-o") && arg.size() > 2) {
      options.push_back(arg.substr(2));
    } else if (arg.starts_with("-")) {
      // -s (sloppy), -f (fake), -n (no mtab), -v (verbose): nothing for us to do
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() != 2) {
    fmt::print(stderr, "usage: mount.shoal HOST[:PORT]:/VOLUME MOUNTPOINT [-o OPTIONS]\n");
    return 2;
  }
  return Mount(positional[0], positional[1], options, false);
}

}  // namespace shoal::cli
