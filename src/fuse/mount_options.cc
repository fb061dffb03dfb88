#include "fuse/mount_options.h"

#include <charconv>
#include <set>

#include <fmt/format.h>

namespace shoal::fuse {
namespace {

const std::set<std::string, std::less<>> kIgnored = {
    "defaults", "_netdev", "auto", "noauto", "user", "nouser", "users", "nofail", "owner", "group", "comment",
};
const std::set<std::string, std::less<>> kPassedToKernel = {
    "ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "noatime", "atime", "relatime",
    "norelatime", "strictatime", "sync", "async", "dirsync", "allow_other", "allow_root",
};

Result<double> Seconds(std::string_view key, std::string_view value) {
  double seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc() || end != value.data() + value.size() || !(seconds >= 0 && seconds <= 86400))  // NaN too
    return Status(Code::kInvalidArgument, fmt::format("option {}: '{}' is not a number of seconds", key, value));
  return seconds;
}

// "s2:s3", "s2:24101:s3:24102", "s2,s3", "[::1]:24101:s3": servers separated by ':' or ',' as in
// Gluster's backup-volfile-servers; a part that is all digits is the port of the server before it.
Status AddBackupServers(MountOptions& options, std::string_view value) {
  std::vector<std::string> parts;
  std::string part;
  bool in_brackets = false;
  for (char c : value) {
    if (c == '[') in_brackets = true;
    if (c == ']') in_brackets = false;
    if (!in_brackets && (c == ':' || c == ',')) {
      parts.push_back(std::move(part));
      part.clear();
    } else {
      part.push_back(c);
    }
  }
  parts.push_back(std::move(part));
  bool last_was_backup = false;
  for (const auto& p : parts) {
    if (p.empty()) continue;
    bool is_port = p.find_first_not_of("0123456789") == std::string::npos;
    if (is_port && last_was_backup) {
      unsigned port = 0;
      auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
      if (ec != std::errc() || port == 0 || port > 65535)
        return Status(Code::kInvalidArgument, fmt::format("backup-servers: bad port '{}'", p));
      options.servers.back().port = static_cast<uint16_t>(port);
      last_was_backup = false;
      continue;
    }
    SHOAL_ASSIGN_OR_RETURN(HostPort server, ParseHostPort(p));
    options.servers.push_back(std::move(server));
    last_was_backup = true;
  }
  return Status::Ok();
}

Status ApplyOption(MountOptions& options, std::string_view option) {
  auto eq = option.find('=');
  std::string key(option.substr(0, eq));
  std::string_view value = eq == std::string_view::npos ? std::string_view{} : option.substr(eq + 1);
  if (kIgnored.contains(key) || key.starts_with("x-")) return Status::Ok();
  if (kPassedToKernel.contains(key)) {
    options.fuse_options.emplace_back(option);
    return Status::Ok();
  }
  if (key == "foreground") {
    options.foreground = true;
  } else if (key == "strict-locks") {
    if (eq != std::string_view::npos)  // "strict-locks=no" must not turn it on
      return Status(Code::kInvalidArgument, fmt::format("mount option strict-locks takes no value (got '{}')", option));
    options.strict_locks = true;
  } else if (key == "backup-servers" || key == "backup-volfile-servers") {
    SHOAL_RETURN_IF_ERROR(AddBackupServers(options, value));
  } else if (key == "attr-timeout") {
    SHOAL_ASSIGN_OR_RETURN(options.attr_timeout_s, Seconds(key, value));
  } else if (key == "entry-timeout") {
    SHOAL_ASSIGN_OR_RETURN(options.entry_timeout_s, Seconds(key, value));
  } else if (key == "negative-timeout") {
    SHOAL_ASSIGN_OR_RETURN(options.negative_timeout_s, Seconds(key, value));
  } else if (key == "connect-timeout") {
    SHOAL_ASSIGN_OR_RETURN(double seconds, Seconds(key, value));
    options.connect_timeout_ms = static_cast<int>(seconds * 1000);
  } else if (key == "reads") {
    if (value != "spread" && value != "primary")
      return Status(Code::kInvalidArgument, fmt::format("mount option reads={} is not 'spread' or 'primary'", value));
    options.spread_reads = value == "spread";
  } else if (key == "log-file") {
    options.log_file = value;
  } else if (key == "log-level") {
    options.log_level = value;
  } else {
    return Status(Code::kInvalidArgument, fmt::format("unknown mount option '{}'", key));
  }
  return Status::Ok();
}

}  // namespace

Result<MountOptions> ParseMountOptions(const std::string& spec, const std::string& mountpoint,
                                       const std::vector<std::string>& option_lists) {
  MountOptions options;
  auto split = spec.find(":/");
  if (split == std::string::npos || split == 0)
    return Status(Code::kInvalidArgument, fmt::format("'{}' is not HOST[:PORT]:/VOLUME", spec));
  SHOAL_ASSIGN_OR_RETURN(HostPort server, ParseHostPort(spec.substr(0, split)));
  options.servers.push_back(server);
  options.volume = spec.substr(split + 2);
  if (options.volume.empty() || options.volume.find('/') != std::string::npos)
    return Status(Code::kInvalidArgument, fmt::format("'{}' does not name a volume", spec));
  if (mountpoint.empty()) return Status(Code::kInvalidArgument, "no mount point given");
  options.mountpoint = mountpoint;
  for (const auto& list : option_lists) {
    size_t at = 0;
    while (at <= list.size()) {
      size_t comma = list.find(',', at);
      std::string_view option(list.data() + at, (comma == std::string::npos ? list.size() : comma) - at);
      if (!option.empty()) SHOAL_RETURN_IF_ERROR(ApplyOption(options, option));
      if (comma == std::string::npos) break;
      at = comma + 1;
    }
  }
  return options;
}

}  // namespace shoal::fuse
