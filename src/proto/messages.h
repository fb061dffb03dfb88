// Turning frame bodies into typed messages and back, with the checks that make a message safe to
// dispatch: it parses, it names an operation, and the header's opcode names the same one. (Names
// inside messages are checked by the storage layer, which owns the rules for them.) Pure
// functions, safe from any thread.
#pragma once

#include <span>
#include <string>

#include "common/status.h"
#include "proto/framing.h"
#include "proto/shoal.pb.h"

namespace shoal::proto {

// Parses a request body and checks it against its header (opcode, presence of an operation).
Result<Request> DecodeRequest(const FrameHeader& header, std::span<const uint8_t> body);
Result<Response> DecodeResponse(std::span<const uint8_t> body);

// The opcode of a request: the field number of its operation.
uint16_t OpcodeOf(const Request& request);
// "lookup", "write", ...: for logs.
std::string_view OpName(uint16_t opcode);

// A Response carrying only an error.
Response ErrorResponse(const Status& status);
Status StatusOf(const Response& response);

std::string Serialize(const google::protobuf::Message& message);

}  // namespace shoal::proto
