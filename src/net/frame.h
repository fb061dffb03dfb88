// Frame: one message as it travels, header plus body plus raw trailer (see proto/framing.h).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "proto/framing.h"

namespace shoal::net {

// Bulk file data, shared rather than copied: a write's data stays with its request for a resend
// while the connection sends it.
using Bulk = std::shared_ptr<const std::string>;

inline std::string_view View(const Bulk& bulk) { return bulk ? std::string_view(*bulk) : std::string_view(); }
inline std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

struct Frame {
  proto::FrameHeader header;
  std::string body;  // a serialized proto::Request or proto::Response
  Bulk trailer;      // raw file data, or null
};

}  // namespace shoal::net
