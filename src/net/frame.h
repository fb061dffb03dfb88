// Frame: one message as it travels, header plus body plus raw trailer (see proto/framing.h).
#pragma once

#include <string>

#include "proto/framing.h"

namespace shoal::net {

struct Frame {
  proto::FrameHeader header;
  std::string body;     // a serialized proto::Request or proto::Response
  std::string trailer;  // raw file data, possibly empty
};

}  // namespace shoal::net
