#include "proto/messages.h"

#include <fmt/format.h>

namespace shoal::proto {

Result<Request> DecodeRequest(const FrameHeader& header, std::span<const uint8_t> body) {
  if (header.kind != FrameKind::kRequest) return Status(Code::kProtocolError, "not a request frame");
  Request request;
  if (!request.ParseFromArray(body.data(), static_cast<int>(body.size())))
    return Status(Code::kProtocolError, "request body does not parse");
  if (request.op_case() == Request::OP_NOT_SET)
    return Status(Code::kNotImplemented, fmt::format("operation {} is not known to this server", header.opcode));
  if (OpcodeOf(request) != header.opcode)
    return Status(Code::kProtocolError,
                  fmt::format("header opcode {} does not match body opcode {}", header.opcode,
                              OpcodeOf(request)));
  return request;
}

Result<Response> DecodeResponse(std::span<const uint8_t> body) {
  Response response;
  if (!response.ParseFromArray(body.data(), static_cast<int>(body.size())))
    return Status(Code::kProtocolError, "response body does not parse");
  return response;
}

uint16_t OpcodeOf(const Request& request) { return static_cast<uint16_t>(request.op_case()); }

std::string_view OpName(uint16_t opcode) {
  const auto* field = Request::descriptor()->FindFieldByNumber(opcode);
  if (field == nullptr || field->containing_oneof() == nullptr) return "unknown";
  return field->name();
}

Response ErrorResponse(const Status& status) {
  Response response;
  response.set_status(static_cast<uint32_t>(status.code()));
  response.set_message(status.message());
  return response;
}

Status StatusOf(const Response& response) {
  if (response.status() == 0) return Status::Ok();
  return Status(CodeFromWire(response.status()), response.message());
}

std::string Serialize(const google::protobuf::Message& message) {
  std::string out;
  message.SerializeToString(&out);
  return out;
}

}  // namespace shoal::proto
