#include "common/host_port.h"

#include <charconv>

#include <fmt/format.h>

namespace shoal {

std::string HostPort::ToString() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

Result<HostPort> ParseHostPort(std::string_view text, uint16_t default_port) {
  HostPort out{.port = default_port};
  std::string_view port_text;
  if (text.starts_with('[')) {
    auto close = text.find(']');
    if (close == std::string_view::npos) return Status(Code::kInvalidArgument, fmt::format("'{}': missing ]", text));
    out.host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (!rest.starts_with(':')) return Status(Code::kInvalidArgument, fmt::format("'{}': junk after ]", text));
      port_text = rest.substr(1);
    }
  } else if (text.find(':') != text.rfind(':')) {
    out.host = text;  // a bare IPv6 address
  } else if (auto colon = text.find(':'); colon != std::string_view::npos) {
    out.host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  } else {
    out.host = text;
  }
  if (out.host.empty()) return Status(Code::kInvalidArgument, fmt::format("'{}': no host", text));
  if (!port_text.empty() || (text.ends_with(':'))) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535)
      return Status(Code::kInvalidArgument, fmt::format("'{}': bad port", text));
    out.port = static_cast<uint16_t>(port);
  }
  return out;
}

}  // namespace shoal
