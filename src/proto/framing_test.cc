#include "proto/framing.h"

#include <cstring>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace shoal::proto {
namespace {

using ::testing::HasSubstr;

std::vector<uint8_t> Bytes(std::string_view text) { return {text.begin(), text.end()}; }

void Put32(HeaderBytes& bytes, size_t at, uint32_t value) {
  for (int i = 0; i < 4; ++i) bytes[at + i] = (value >> (8 * i)) & 0xff;
}

const FrameHeader kHeader{
    .kind = FrameKind::kResponse,
    .opcode = 12,
    .request_id = 0x0102030405060708,
};

struct Frame {
  std::vector<uint8_t> body = Bytes("a protobuf body");
  std::vector<uint8_t> trailer = Bytes("raw file data");
  HeaderBytes header = EncodeHeader(kHeader, body, trailer);
};

// ---- round trip ----

TEST(FramingTest, HeaderRoundTrips) {
  Frame frame;
  auto decoded = DecodeHeader(frame.header);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->kind, FrameKind::kResponse);
  EXPECT_EQ(decoded->opcode, 12);
  EXPECT_EQ(decoded->request_id, 0x0102030405060708u);
  EXPECT_EQ(decoded->body_bytes, frame.body.size());
  EXPECT_EQ(decoded->trailer_bytes, frame.trailer.size());
  EXPECT_TRUE(VerifyFrame(*decoded, frame.body, frame.trailer).ok());
}

TEST(FramingTest, EveryKindRoundTrips) {
  for (FrameKind kind : {FrameKind::kRequest, FrameKind::kResponse, FrameKind::kPush, FrameKind::kPushAck}) {
    HeaderBytes bytes = EncodeHeader({.kind = kind}, {}, {});
    auto decoded = DecodeHeader(bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(decoded->kind, kind);
  }
}

TEST(FramingTest, EmptyBodyAndTrailerVerify) {
  HeaderBytes bytes = EncodeHeader(kHeader, {}, {});
  auto decoded = DecodeHeader(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->body_bytes, 0u);
  EXPECT_EQ(decoded->trailer_bytes, 0u);
  EXPECT_TRUE(VerifyFrame(*decoded, {}, {}).ok());
}

TEST(FramingTest, EncodeTakesLengthsFromTheSpansNotTheHeader) {
  FrameHeader header = kHeader;
  header.body_bytes = 999;
  header.trailer_bytes = 999;
  header.checksum = 0xdeadbeef;
  Frame frame;
  HeaderBytes bytes = EncodeHeader(header, frame.body, frame.trailer);
  auto decoded = DecodeHeader(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->body_bytes, frame.body.size());
  EXPECT_EQ(decoded->trailer_bytes, frame.trailer.size());
  EXPECT_TRUE(VerifyFrame(*decoded, frame.body, frame.trailer).ok());
}

TEST(FramingTest, LayoutIsLittleEndianWithMagicFirst) {
  HeaderBytes bytes = EncodeHeader({.kind = FrameKind::kRequest, .opcode = 0x0203, .request_id = 1}, {}, {});
  EXPECT_EQ(std::memcmp(bytes.data(), "SHOL", 4), 0);
  EXPECT_EQ(bytes[4], kVersion);
  EXPECT_EQ(bytes[5], static_cast<uint8_t>(FrameKind::kRequest));
  EXPECT_EQ(bytes[6], 0x03);
  EXPECT_EQ(bytes[7], 0x02);
  EXPECT_EQ(bytes[8], 1);
  for (size_t i = 28; i < kHeaderBytes; ++i) EXPECT_EQ(bytes[i], 0) << "reserved byte " << i;
}

TEST(FramingTest, LargestBodyAndTrailerAreAccepted) {
  std::vector<uint8_t> body(kBodyBytesMax, 'b');
  std::vector<uint8_t> trailer(kTrailerBytesMax, 't');
  HeaderBytes bytes = EncodeHeader(kHeader, body, trailer);
  auto decoded = DecodeHeader(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_TRUE(VerifyFrame(*decoded, body, trailer).ok());
}

// ---- DecodeHeader rejections ----

void ExpectRejected(const HeaderBytes& bytes, std::string_view why) {
  auto decoded = DecodeHeader(bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), Code::kProtocolError);
  EXPECT_THAT(decoded.status().message(), HasSubstr(std::string(why)));
}

TEST(DecodeHeaderErrorTest, BadMagic) {
  Frame frame;
  frame.header[0] ^= 0x01;
  ExpectRejected(frame.header, "bad magic");
}

TEST(DecodeHeaderErrorTest, AllZeroBytes) { ExpectRejected(HeaderBytes{}, "bad magic"); }

TEST(DecodeHeaderErrorTest, UnsupportedVersion) {
  Frame frame;
  frame.header[4] = kVersion + 1;
  ExpectRejected(frame.header, "version 2");
}

TEST(DecodeHeaderErrorTest, VersionZero) {
  Frame frame;
  frame.header[4] = 0;
  ExpectRejected(frame.header, "version 0");
}

TEST(DecodeHeaderErrorTest, KindZero) {
  Frame frame;
  frame.header[5] = 0;
  ExpectRejected(frame.header, "bad frame kind 0");
}

TEST(DecodeHeaderErrorTest, KindAbovePushAck) {
  Frame frame;
  frame.header[5] = 5;
  ExpectRejected(frame.header, "bad frame kind 5");
}

TEST(DecodeHeaderErrorTest, BodyOneByteTooLarge) {
  Frame frame;
  Put32(frame.header, 16, kBodyBytesMax + 1);
  ExpectRejected(frame.header, "body of");
}

TEST(DecodeHeaderErrorTest, BodyOfFourGigabytes) {
  Frame frame;
  Put32(frame.header, 16, UINT32_MAX);
  ExpectRejected(frame.header, "body of");
}

TEST(DecodeHeaderErrorTest, TrailerOneByteTooLarge) {
  Frame frame;
  Put32(frame.header, 20, kTrailerBytesMax + 1);
  ExpectRejected(frame.header, "trailer of");
}

TEST(DecodeHeaderErrorTest, TrailerOfFourGigabytes) {
  Frame frame;
  Put32(frame.header, 20, UINT32_MAX);
  ExpectRejected(frame.header, "trailer of");
}

TEST(DecodeHeaderErrorTest, NonzeroReservedBytes) {
  for (size_t at = 28; at < kHeaderBytes; ++at) {
    Frame frame;
    frame.header[at] = 1;
    ExpectRejected(frame.header, "reserved");
  }
}

// ---- VerifyFrame ----

void ExpectChecksumMismatch(const FrameHeader& header, std::span<const uint8_t> body,
                            std::span<const uint8_t> trailer) {
  Status verified = VerifyFrame(header, body, trailer);
  EXPECT_EQ(verified.code(), Code::kProtocolError);
  EXPECT_THAT(verified.message(), HasSubstr("checksum mismatch"));
}

// Every bit of the checksummed header (bytes 0..23) that still decodes is covered: request id,
// opcode, kind.
TEST(VerifyFrameErrorTest, FlippedBitInRequestId) {
  Frame frame;
  for (int bit = 0; bit < 64; ++bit) {
    HeaderBytes bytes = frame.header;
    bytes[8 + bit / 8] ^= 1 << (bit % 8);
    auto decoded = DecodeHeader(bytes);
    ASSERT_TRUE(decoded.ok());
    ExpectChecksumMismatch(*decoded, frame.body, frame.trailer);
  }
}

TEST(VerifyFrameErrorTest, FlippedBitInOpcode) {
  Frame frame;
  frame.header[6] ^= 0x10;
  auto decoded = DecodeHeader(frame.header);
  ASSERT_TRUE(decoded.ok());
  ExpectChecksumMismatch(*decoded, frame.body, frame.trailer);
}

TEST(VerifyFrameErrorTest, FlippedBitInKind) {
  Frame frame;
  frame.header[5] ^= 0x01;  // response (2) becomes push (3)
  auto decoded = DecodeHeader(frame.header);
  ASSERT_TRUE(decoded.ok());
  ExpectChecksumMismatch(*decoded, frame.body, frame.trailer);
}

TEST(VerifyFrameErrorTest, FlippedBitInChecksum) {
  Frame frame;
  frame.header[25] ^= 0x80;
  auto decoded = DecodeHeader(frame.header);
  ASSERT_TRUE(decoded.ok());
  ExpectChecksumMismatch(*decoded, frame.body, frame.trailer);
}

TEST(VerifyFrameErrorTest, FlippedBitInBody) {
  Frame frame;
  auto decoded = DecodeHeader(frame.header);
  ASSERT_TRUE(decoded.ok());
  for (size_t at = 0; at < frame.body.size(); ++at) {
    std::vector<uint8_t> body = frame.body;
    body[at] ^= 0x04;
    ExpectChecksumMismatch(*decoded, body, frame.trailer);
  }
}

TEST(VerifyFrameErrorTest, FlippedBitInTrailer) {
  Frame frame;
  auto decoded = DecodeHeader(frame.header);
  ASSERT_TRUE(decoded.ok());
  for (size_t at = 0; at < frame.trailer.size(); ++at) {
    std::vector<uint8_t> trailer = frame.trailer;
    trailer[at] ^= 0x01;
    ExpectChecksumMismatch(*decoded, frame.body, trailer);
  }
}

// The boundary between body and trailer is covered too: moving a byte across it is caught.
TEST(VerifyFrameErrorTest, ByteMovedFromBodyToTrailer) {
  std::vector<uint8_t> body = Bytes("abcd"), trailer = Bytes("efgh");
  HeaderBytes bytes = EncodeHeader(kHeader, body, trailer);
  auto decoded = DecodeHeader(bytes);
  ASSERT_TRUE(decoded.ok());
  decoded->body_bytes = 3;
  decoded->trailer_bytes = 5;
  ExpectChecksumMismatch(*decoded, Bytes("abc"), Bytes("defgh"));
}

TEST(VerifyFrameErrorTest, BodyShorterThanHeaderSays) {
  Frame frame;
  auto decoded = DecodeHeader(frame.header);
  ASSERT_TRUE(decoded.ok());
  std::span<const uint8_t> body(frame.body);
  Status verified = VerifyFrame(*decoded, body.first(body.size() - 1), frame.trailer);
  EXPECT_EQ(verified.code(), Code::kProtocolError);
  EXPECT_THAT(verified.message(), HasSubstr("length"));
}

TEST(VerifyFrameErrorTest, TrailerLongerThanHeaderSays) {
  Frame frame;
  auto decoded = DecodeHeader(frame.header);
  ASSERT_TRUE(decoded.ok());
  frame.trailer.push_back('x');
  Status verified = VerifyFrame(*decoded, frame.body, frame.trailer);
  EXPECT_EQ(verified.code(), Code::kProtocolError);
  EXPECT_THAT(verified.message(), HasSubstr("length"));
}

}  // namespace
}  // namespace shoal::proto
