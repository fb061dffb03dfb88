#include "proto/framing.h"

#include <cstring>

#include <fmt/format.h>
#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

namespace shoal::proto {
namespace {

constexpr size_t kChecksummedHeaderBytes = 24;

void Put16(uint8_t* p, uint16_t v) {
  p[0] = v & 0xff;
  p[1] = v >> 8;
}
void Put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = (v >> (8 * i)) & 0xff;
}
void Put64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = (v >> (8 * i)) & 0xff;
}
uint16_t Get16(const uint8_t* p) { return p[0] | (p[1] << 8); }
uint32_t Get32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
uint64_t Get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Layout: magic u32 | version u8 | kind u8 | opcode u16 | request_id u64 | body u32 | trailer u32
//         | checksum u32 | reserved u32 (zero)
void LayOut(const FrameHeader& h, uint8_t* p) {
  Put32(p + 0, kMagic);
  p[4] = kVersion;
  p[5] = static_cast<uint8_t>(h.kind);
  Put16(p + 6, h.opcode);
  Put64(p + 8, h.request_id);
  Put32(p + 16, h.body_bytes);
  Put32(p + 20, h.trailer_bytes);
  Put32(p + 24, h.checksum);
  Put32(p + 28, 0);
}

uint32_t Checksum(const uint8_t* header, std::span<const uint8_t> body,
                  std::span<const uint8_t> trailer) {
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  XXH3_64bits_update(&state, header, kChecksummedHeaderBytes);
  XXH3_64bits_update(&state, body.data(), body.size());
  XXH3_64bits_update(&state, trailer.data(), trailer.size());
  return static_cast<uint32_t>(XXH3_64bits_digest(&state));
}

}  // namespace

HeaderBytes EncodeHeader(FrameHeader header, std::span<const uint8_t> body,
                         std::span<const uint8_t> trailer) {
  HeaderBytes bytes{};
  header.body_bytes = static_cast<uint32_t>(body.size());
  header.trailer_bytes = static_cast<uint32_t>(trailer.size());
  header.checksum = 0;
  LayOut(header, bytes.data());
  Put32(bytes.data() + 24, Checksum(bytes.data(), body, trailer));
  return bytes;
}

Result<FrameHeader> DecodeHeader(std::span<const uint8_t, kHeaderBytes> bytes) {
  const uint8_t* p = bytes.data();
  if (Get32(p) != kMagic)
    return Status(Code::kProtocolError, fmt::format("bad magic {:#x}", Get32(p)));
  if (p[4] != kVersion)
    return Status(Code::kProtocolError, fmt::format("unsupported protocol version {}", p[4]));
  if (p[5] < 1 || p[5] > 4)
    return Status(Code::kProtocolError, fmt::format("bad frame kind {}", p[5]));
  FrameHeader h{
      .kind = static_cast<FrameKind>(p[5]),
      .opcode = Get16(p + 6),
      .request_id = Get64(p + 8),
      .body_bytes = Get32(p + 16),
      .trailer_bytes = Get32(p + 20),
      .checksum = Get32(p + 24),
  };
  if (h.body_bytes > kBodyBytesMax)
    return Status(Code::kProtocolError, fmt::format("body of {} bytes exceeds {}", h.body_bytes, kBodyBytesMax));
  if (h.trailer_bytes > kTrailerBytesMax)
    return Status(Code::kProtocolError,
                  fmt::format("trailer of {} bytes exceeds {}", h.trailer_bytes, kTrailerBytesMax));
  if (Get32(p + 28) != 0) return Status(Code::kProtocolError, "reserved header bytes are not zero");
  return h;
}

Status VerifyFrame(const FrameHeader& header, std::span<const uint8_t> body,
                   std::span<const uint8_t> trailer) {
  if (body.size() != header.body_bytes || trailer.size() != header.trailer_bytes)
    return Status(Code::kProtocolError, "frame length does not match its header");
  uint8_t laid_out[kHeaderBytes];
  FrameHeader copy = header;
  copy.checksum = 0;
  LayOut(copy, laid_out);
  uint32_t expected = Checksum(laid_out, body, trailer);
  if (expected != header.checksum)
    return Status(Code::kProtocolError,
                  fmt::format("checksum mismatch (got {:#x}, computed {:#x})", header.checksum, expected));
  return Status::Ok();
}

}  // namespace shoal::proto
