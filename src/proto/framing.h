// Frames: how messages travel on a shoal connection (docs/protocol.md has the picture).
//
//   header (32 bytes, little-endian) | body (protobuf Request/Response) | trailer (raw file data)
//
// Everything read from the network is untrusted: DecodeHeader checks magic, version, kind and the
// size limits before a single body byte is read, and VerifyFrame checks the checksum before the
// body is parsed. Pure functions, no I/O, safe from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "common/status.h"

namespace shoal::proto {

inline constexpr uint32_t kMagic = 0x4c4f4853;  // "SHOL"
inline constexpr uint8_t kVersion = 1;
inline constexpr size_t kHeaderBytes = 32;
inline constexpr uint32_t kBodyBytesMax = 1u << 20;     // protobuf bodies stay small
inline constexpr uint32_t kTrailerBytesMax = 4u << 20;  // bulk data: 1 MiB I/O with headroom
inline constexpr uint32_t kIoBytesMax = 1u << 20;        // largest read or write we serve

enum class FrameKind : uint8_t {
  kRequest = 1,
  kResponse = 2,
  kPush = 3,     // server to client, unasked: opcode = field number in Push.op, id = push id
  kPushAck = 4,  // client to server: the push with this id has been carried out
};

struct FrameHeader {
  FrameKind kind = FrameKind::kRequest;
  uint16_t opcode = 0;  // field number of the operation in Request.op
  uint64_t request_id = 0;
  uint32_t body_bytes = 0;
  uint32_t trailer_bytes = 0;
  uint32_t checksum = 0;  // of the header's first 24 bytes, the body and the trailer
};

using HeaderBytes = std::array<uint8_t, kHeaderBytes>;

// Fills in header.checksum from body and trailer, then lays the header out.
HeaderBytes EncodeHeader(FrameHeader header, std::span<const uint8_t> body,
                         std::span<const uint8_t> trailer);

// Checks everything that can be checked from the 32 header bytes alone.
Result<FrameHeader> DecodeHeader(std::span<const uint8_t, kHeaderBytes> bytes);

// Checks that body and trailer match the header's checksum.
Status VerifyFrame(const FrameHeader& header, std::span<const uint8_t> body,
                   std::span<const uint8_t> trailer);

}  // namespace shoal::proto
