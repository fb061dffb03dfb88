// HostPort: a server's address as users write it: "host", "host:port", "[v6addr]:port".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace shoal {

inline constexpr uint16_t kDefaultPort = 24100;

struct HostPort {
  std::string host;
  uint16_t port = kDefaultPort;
  std::string ToString() const;
  bool operator==(const HostPort&) const = default;
};

Result<HostPort> ParseHostPort(std::string_view text, uint16_t default_port = kDefaultPort);

}  // namespace shoal
