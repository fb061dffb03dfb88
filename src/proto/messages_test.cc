#include "proto/messages.h"

#include <string>
#include <vector>

#include <google/protobuf/unknown_field_set.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace shoal::proto {
namespace {

using ::testing::HasSubstr;

std::span<const uint8_t> AsBytes(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

Request LookupOf(uint64_t parent, std::string name) {
  Request request;
  request.mutable_lookup()->set_parent(parent);
  request.mutable_lookup()->set_name(std::move(name));
  return request;
}

FrameHeader RequestHeader(uint16_t opcode) { return {.kind = FrameKind::kRequest, .opcode = opcode}; }

// ---- round trips ----

TEST(MessagesTest, RequestRoundTrips) {
  Request sent = LookupOf(7, "index.php");
  std::string body = Serialize(sent);
  auto decoded = DecodeRequest(RequestHeader(OpcodeOf(sent)), AsBytes(body));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(decoded->op_case(), Request::kLookup);
  EXPECT_EQ(decoded->lookup().parent(), 7u);
  EXPECT_EQ(decoded->lookup().name(), "index.php");
}

TEST(MessagesTest, RequestWithAnEmptyOperationRoundTrips) {
  Request sent;
  sent.mutable_ping();
  std::string body = Serialize(sent);
  auto decoded = DecodeRequest(RequestHeader(OpcodeOf(sent)), AsBytes(body));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->op_case(), Request::kPing);
}

TEST(MessagesTest, NamesAreBytesNotUtf8) {
  const std::string name("\xff\xfe\x80not-utf8", 11);
  Request sent = LookupOf(1, name);
  std::string body = Serialize(sent);
  auto decoded = DecodeRequest(RequestHeader(OpcodeOf(sent)), AsBytes(body));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->lookup().name(), name);
}

TEST(MessagesTest, ResponseRoundTrips) {
  Response sent;
  sent.mutable_get_attr()->mutable_attr()->set_ino(42);
  sent.mutable_get_attr()->mutable_attr()->set_size(4096);
  std::string body = Serialize(sent);
  auto decoded = DecodeResponse(AsBytes(body));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->get_attr().attr().ino(), 42u);
  EXPECT_EQ(decoded->get_attr().attr().size(), 4096u);
  EXPECT_TRUE(StatusOf(*decoded).ok());
}

TEST(MessagesTest, EmptyResponseBodyIsAnOkResponse) {
  auto decoded = DecodeResponse({});
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_TRUE(StatusOf(*decoded).ok());
}

TEST(MessagesTest, OpcodeIsTheFieldNumberOfTheOperation) {
  Request request;
  request.mutable_hello();
  EXPECT_EQ(OpcodeOf(request), 1);
  request.mutable_lookup();
  EXPECT_EQ(OpcodeOf(request), 3);
  request.mutable_write();
  EXPECT_EQ(OpcodeOf(request), 15);
  request.mutable_flush();
  EXPECT_EQ(OpcodeOf(request), 29);
}

TEST(MessagesTest, OpcodeOfAnUnsetRequestIsZero) { EXPECT_EQ(OpcodeOf(Request{}), 0); }

// ---- OpName ----

TEST(OpNameTest, NamesEveryOperation) {
  EXPECT_EQ(OpName(1), "hello");
  EXPECT_EQ(OpName(3), "lookup");
  EXPECT_EQ(OpName(14), "read");
  EXPECT_EQ(OpName(15), "write");
  EXPECT_EQ(OpName(29), "flush");
  EXPECT_EQ(OpName(30), "pool_list");
}

TEST(OpNameTest, EveryOneofFieldHasAName) {
  const auto* oneof = Request::descriptor()->FindOneofByName("op");
  ASSERT_NE(oneof, nullptr);
  for (int i = 0; i < oneof->field_count(); ++i) {
    const auto* field = oneof->field(i);
    EXPECT_EQ(OpName(static_cast<uint16_t>(field->number())), field->name());
  }
}

TEST(OpNameTest, UnknownOpcodes) {
  EXPECT_EQ(OpName(0), "unknown");
  EXPECT_EQ(OpName(99), "unknown");  // not given out
  EXPECT_EQ(OpName(101), "unknown");  // a Response field number is not a request
  EXPECT_EQ(OpName(65535), "unknown");
}

// ---- errors in responses ----

TEST(ErrorResponseTest, StatusRoundTripsThroughAResponse) {
  Status sent(Code::kNameTooLong, "name longer than NAME_MAX");
  Response response = ErrorResponse(sent);
  Status received = StatusOf(response);
  EXPECT_EQ(received.code(), Code::kNameTooLong);
  EXPECT_EQ(received.message(), "name longer than NAME_MAX");
}

TEST(ErrorResponseTest, StatusRoundTripsThroughTheWire) {
  Response response = ErrorResponse(Status(Code::kStale, "node 9 is gone"));
  std::string body = Serialize(response);
  auto decoded = DecodeResponse(AsBytes(body));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  Status received = StatusOf(*decoded);
  EXPECT_EQ(received.code(), Code::kStale);
  EXPECT_EQ(received.message(), "node 9 is gone");
}

TEST(ErrorResponseTest, CarriesTheWireNumber) {
  EXPECT_EQ(ErrorResponse(Status(Code::kUnavailable, "x")).status(), 34u);
  EXPECT_EQ(ErrorResponse(Status(Code::kUnavailable, "x")).op_case(), Response::OP_NOT_SET);
}

TEST(ErrorResponseTest, UnknownWireNumberFromAPeerIsIoError) {
  Response response;
  response.set_status(5000);
  response.set_message("from a newer server");
  Status received = StatusOf(response);
  EXPECT_EQ(received.code(), Code::kIoError);
  EXPECT_EQ(received.message(), "from a newer server");
}

// ---- DecodeRequest rejections ----

void ExpectRejected(const Result<Request>& decoded, std::string_view why) {
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), Code::kProtocolError);
  EXPECT_THAT(decoded.status().message(), HasSubstr(std::string(why)));
}

TEST(DecodeRequestErrorTest, Garbage) {
  const std::string garbage("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11);
  ExpectRejected(DecodeRequest(RequestHeader(3), AsBytes(garbage)), "does not parse");
}

TEST(DecodeRequestErrorTest, TruncatedBody) {
  std::string body = Serialize(LookupOf(7, "index.php"));
  body.pop_back();
  ExpectRejected(DecodeRequest(RequestHeader(3), AsBytes(body)), "does not parse");
}

// A request naming no operation this build knows is refused, naming the opcode. (Which code it
// carries is the server's choice to make: an operation from a newer client is not a broken frame.)
void ExpectUnknownOperation(const Result<Request>& decoded, uint16_t opcode) {
  ASSERT_FALSE(decoded.ok());
  EXPECT_THAT(decoded.status().message(), HasSubstr(std::to_string(opcode)));
}

TEST(DecodeRequestErrorTest, UnsetOperation) { ExpectUnknownOperation(DecodeRequest(RequestHeader(3), {}), 3); }

TEST(DecodeRequestErrorTest, OnlyAnUnknownField) {
  Request unknown;
  unknown.GetReflection()->MutableUnknownFields(&unknown)->AddVarint(900, 1);
  std::string body = Serialize(unknown);
  ExpectUnknownOperation(DecodeRequest(RequestHeader(900), AsBytes(body)), 900);
}

TEST(DecodeRequestErrorTest, OpcodeDoesNotMatchBody) {
  std::string body = Serialize(LookupOf(7, "x"));
  ExpectRejected(DecodeRequest(RequestHeader(15), AsBytes(body)), "header opcode 15 does not match body opcode 3");
}

TEST(DecodeRequestErrorTest, NotARequestFrame) {
  std::string body = Serialize(LookupOf(7, "x"));
  ExpectRejected(DecodeRequest({.kind = FrameKind::kResponse, .opcode = 3}, AsBytes(body)), "not a request");
}

TEST(DecodeResponseErrorTest, Garbage) {
  const std::string garbage("\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11);
  auto decoded = DecodeResponse(AsBytes(garbage));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), Code::kProtocolError);
}

}  // namespace
}  // namespace shoal::proto
