// Fuzz target: everything a peer can send before a request reaches a handler — the frame header,
// the checksum check, and the decoding of request and response bodies.
#include <cstddef>
#include <cstdint>
#include <span>

#include "proto/framing.h"
#include "proto/messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace shoal::proto;
  if (size < kHeaderBytes) {
    (void)DecodeResponse({data, size});
    return 0;
  }
  auto header = DecodeHeader(std::span<const uint8_t, kHeaderBytes>(data, kHeaderBytes));
  std::span<const uint8_t> rest(data + kHeaderBytes, size - kHeaderBytes);
  // Bodies are decoded whether or not the header checks out, so the fuzzer reaches the decoders
  // without having to forge checksums.
  FrameHeader h = header.ok() ? *header : FrameHeader{.kind = FrameKind::kRequest, .opcode = data[6]};
  size_t body = std::min<size_t>(h.body_bytes ? h.body_bytes : rest.size(), rest.size());
  (void)VerifyFrame(h, rest.first(body), rest.subspan(body));
  auto request = DecodeRequest(h, rest.first(body));
  if (request.ok()) (void)OpName(OpcodeOf(*request));
  (void)DecodeResponse(rest.first(body));
  return 0;
}
