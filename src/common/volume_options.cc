#include "common/volume_options.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace shoal {
namespace {

bool IsBooleanOption(std::string_view key) { return key == "read-only"; }

// An IPv4 address as a number, if `text` is one.
std::optional<uint32_t> Ipv4(std::string_view text) {
  in_addr address{};
  if (::inet_pton(AF_INET, std::string(text).c_str(), &address) != 1) return std::nullopt;
  return ntohl(address.s_addr);
}

Status CheckPattern(std::string_view pattern) {
  auto bad = [&] {
    return Status(Code::kInvalidArgument,
                  fmt::format("'{}' is not an address pattern (an address, 10.1.*, 10.1.0.0/16 or *)", pattern));
  };
  if (pattern == "*") return Status::Ok();
  if (auto slash = pattern.find('/'); slash != std::string_view::npos) {
    std::string_view bits = pattern.substr(slash + 1);
    if (!Ipv4(pattern.substr(0, slash)) || bits.empty() || bits.size() > 2 ||
        !std::all_of(bits.begin(), bits.end(), ::isdigit) || std::stoi(std::string(bits)) > 32)
      return bad();
    return Status::Ok();
  }
  if (pattern.ends_with(".*")) {
    std::string_view head = pattern.substr(0, pattern.size() - 2);
    int parts = 1 + static_cast<int>(std::count(head.begin(), head.end(), '.'));
    std::string full(head);
    for (int i = parts; i < 4; ++i) full += ".0";
    if (parts > 3 || !Ipv4(full)) return bad();
    return Status::Ok();
  }
  in6_addr v6{};
  if (Ipv4(pattern) || ::inet_pton(AF_INET6, std::string(pattern).c_str(), &v6) == 1) return Status::Ok();
  return bad();
}

bool PatternMatches(std::string_view pattern, std::string_view address) {
  if (pattern == "*") return true;
  if (auto slash = pattern.find('/'); slash != std::string_view::npos) {
    auto net = Ipv4(pattern.substr(0, slash));
    auto host = Ipv4(address);
    int bits = std::stoi(std::string(pattern.substr(slash + 1)));
    if (!net || !host) return false;
    uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
    return (*net & mask) == (*host & mask);
  }
  if (pattern.ends_with(".*")) return address.starts_with(pattern.substr(0, pattern.size() - 1));
  return pattern == address;
}

}  // namespace

const std::vector<VolumeOption>& VolumeOptions() {
  static const std::vector<VolumeOption> options = {
      {"auth.allow", "*",
       "clients allowed to mount the volume: comma-separated addresses, 10.1.* or 10.1.0.0/16 patterns, or *"},
      {"auth.reject", "",
       "clients refused even if auth.allow lets them in: the same kind of list; empty for none"},
      {"read-only", "off", "on: every client sees the volume read-only (changes fail with EROFS)"},
      {"min-in-sync", "auto",
       "replicated volumes: a change is acknowledged only when at least this many bricks applied it, and "
       "refused (EIO) rather than kept by fewer; auto: 2 of 3 bricks, 1 of 2"},
      {"heal-bandwidth", "0",
       "replicated volumes: the file data a heal sends per second, in MiB (0: as fast as it goes), so that a "
       "brick catching up leaves the network and disks to the clients; the last pass, which holds the "
       "volume's changes, is never slowed"},
      {"heal-stall-timeout", "60",
       "replicated volumes: a heal whose progress stops for this many seconds (a brick that answers but "
       "does not apply, such as a stuck disk) is reported and restarted"},
  };
  return options;
}

const VolumeOption* FindVolumeOption(std::string_view key) {
  for (const VolumeOption& option : VolumeOptions())
    if (option.key == key) return &option;
  return nullptr;
}

Result<std::string> ValidateVolumeOption(std::string_view key, std::string_view value) {
  if (FindVolumeOption(key) == nullptr)
    return Status(Code::kInvalidArgument,
                  fmt::format("'{}' is not a volume option (`shoal volume set help` lists them)", key));
  if (IsBooleanOption(key)) {
    if (value == "on" || value == "true" || value == "yes" || value == "1" || value == "enable") return std::string("on");
    if (value == "off" || value == "false" || value == "no" || value == "0" || value == "disable")
      return std::string("off");
    return Status(Code::kInvalidArgument, fmt::format("{} is on or off, not '{}'", key, value));
  }
  if (key == "min-in-sync") {
    if (value == "auto" || value == "1" || value == "2" || value == "3") return std::string(value);
    return Status(Code::kInvalidArgument, fmt::format("min-in-sync is auto, 1, 2 or 3, not '{}'", value));
  }
  if (key == "heal-bandwidth" || key == "heal-stall-timeout") {
    const bool bandwidth = key == "heal-bandwidth";
    unsigned long number = 0;
    const bool digits = !value.empty() && value.size() <= 6 &&
                        value.find_first_not_of("0123456789") == std::string_view::npos;
    if (digits) number = std::stoul(std::string(value));
    if (!digits || (!bandwidth && number == 0))
      return Status(Code::kInvalidArgument,
                    fmt::format("{} is {}, not '{}'", key,
                                bandwidth ? "a number of MiB/s (0: no limit)" : "a number of seconds (at least 1)",
                                value));
    return std::to_string(number);
  }
  // auth.allow, auth.reject
  auto patterns = AddressPatterns::Parse(value);
  if (!patterns.ok()) return Status(Code::kInvalidArgument, fmt::format("{}: {}", key, patterns.status().message()));
  if (key == "auth.allow" && patterns->empty())
    return Status(Code::kInvalidArgument, "auth.allow cannot be empty: no client could mount (stop the volume instead)");
  return patterns->ToString();
}

std::string VolumeOptionValue(const std::map<std::string, std::string>& set, std::string_view key) {
  if (auto it = set.find(std::string(key)); it != set.end()) return it->second;
  const VolumeOption* option = FindVolumeOption(key);
  return option ? std::string(option->default_value) : std::string();
}

Result<AddressPatterns> AddressPatterns::Parse(std::string_view text) {
  AddressPatterns result;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) {
      SHOAL_RETURN_IF_ERROR(CheckPattern(item));
      result.patterns_.emplace_back(item);
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return result;
}

bool AddressPatterns::Matches(std::string_view address) const {
  if (address.starts_with("::ffff:") && Ipv4(address.substr(7))) address.remove_prefix(7);
  return std::any_of(patterns_.begin(), patterns_.end(),
                     [&](const std::string& pattern) { return PatternMatches(pattern, address); });
}

std::string AddressPatterns::ToString() const { return fmt::format("{}", fmt::join(patterns_, ",")); }

}  // namespace shoal
