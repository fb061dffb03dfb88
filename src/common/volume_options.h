// The options of a volume (`shoal volume set/get`): one table, read by the CLI for `set help` and
// `get`, and by the servers that apply them. A volume's record keeps only the options set; every
// other option has its default.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace shoal {

struct VolumeOption {
  std::string_view key;
  std::string_view default_value;
  std::string_view meaning;  // one sentence for `shoal volume set help`
};

// Every option, in key order.
const std::vector<VolumeOption>& VolumeOptions();
const VolumeOption* FindVolumeOption(std::string_view key);

// `value` as the option's canonical text ("on"/"off" for booleans, normalised lists), or why it
// is not a valid value of `key` (or `key` not an option).
Result<std::string> ValidateVolumeOption(std::string_view key, std::string_view value);

// The value in effect: the one set in `set`, else the default.
std::string VolumeOptionValue(const std::map<std::string, std::string>& set, std::string_view key);

// A list of client address patterns (auth.allow, auth.reject): "*", an address, an address with
// "*" for trailing IPv4 parts ("10.1.*"), or an IPv4 CIDR ("10.1.0.0/16"); comma-separated.
class AddressPatterns {
 public:
  static Result<AddressPatterns> Parse(std::string_view text);
  // `address` is a client's address as text, IPv4 or IPv6 (an IPv4-mapped IPv6 address matches
  // its IPv4 form).
  bool Matches(std::string_view address) const;
  bool empty() const { return patterns_.empty(); }
  std::string ToString() const;

 private:
  std::vector<std::string> patterns_;
};

}  // namespace shoal
