#include "common/host_port.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace shoal {
namespace {

using ::testing::HasSubstr;

// ---- accepted forms ----

TEST(ParseHostPortTest, HostAloneTakesTheDefaultPort) {
  auto parsed = ParseHostPort("h");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->host, "h");
  EXPECT_EQ(parsed->port, kDefaultPort);
}

TEST(ParseHostPortTest, HostAloneTakesTheCallersDefaultPort) {
  auto parsed = ParseHostPort("h", 8080);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->port, 8080);
}

TEST(ParseHostPortTest, HostAndPort) {
  auto parsed = ParseHostPort("h:1");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->host, "h");
  EXPECT_EQ(parsed->port, 1);
}

TEST(ParseHostPortTest, HighestPort) {
  auto parsed = ParseHostPort("server.example.com:65535");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->host, "server.example.com");
  EXPECT_EQ(parsed->port, 65535);
}

TEST(ParseHostPortTest, Ipv4AndPort) {
  auto parsed = ParseHostPort("127.0.0.1:24101");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->host, "127.0.0.1");
  EXPECT_EQ(parsed->port, 24101);
}

TEST(ParseHostPortTest, BracketedIpv6AndPort) {
  auto parsed = ParseHostPort("[::1]:5");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->host, "::1");
  EXPECT_EQ(parsed->port, 5);
}

TEST(ParseHostPortTest, BracketedIpv6WithoutPort) {
  auto parsed = ParseHostPort("[fe80::1]");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->host, "fe80::1");
  EXPECT_EQ(parsed->port, kDefaultPort);
}

TEST(ParseHostPortTest, BareIpv6IsAllHost) {
  auto parsed = ParseHostPort("::1");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->host, "::1");
  EXPECT_EQ(parsed->port, kDefaultPort);
}

TEST(ParseHostPortTest, ToStringOfHostAndPort) {
  EXPECT_EQ((HostPort{.host = "h", .port = 1}).ToString(), "h:1");
}

TEST(ParseHostPortTest, ToStringBracketsIpv6) {
  EXPECT_EQ((HostPort{.host = "::1", .port = 5}).ToString(), "[::1]:5");
}

TEST(ParseHostPortTest, ToStringParsesBack) {
  for (const char* text : {"h:1", "[::1]:5", "10.0.0.2:24100"}) {
    auto parsed = ParseHostPort(text);
    ASSERT_TRUE(parsed.ok()) << text;
    EXPECT_EQ(parsed->ToString(), text);
  }
}

// ---- rejected forms ----

void ExpectRejected(std::string_view text, std::string_view why) {
  auto parsed = ParseHostPort(text);
  ASSERT_FALSE(parsed.ok()) << "'" << text << "' parsed as " << parsed->ToString();
  EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument) << text;
  EXPECT_THAT(parsed.status().message(), HasSubstr(std::string(text))) << text;
  EXPECT_THAT(parsed.status().message(), HasSubstr(std::string(why))) << text;
}

TEST(ParseHostPortErrorTest, EmptyPortAfterColon) { ExpectRejected("h:", "bad port"); }

TEST(ParseHostPortErrorTest, PortNotANumber) { ExpectRejected("h:x", "bad port"); }

TEST(ParseHostPortErrorTest, PortWithTrailingJunk) { ExpectRejected("h:12x", "bad port"); }

TEST(ParseHostPortErrorTest, NegativePort) { ExpectRejected("h:-1", "bad port"); }

TEST(ParseHostPortErrorTest, PortAbove65535) { ExpectRejected("h:70000", "bad port"); }

TEST(ParseHostPortErrorTest, PortJustAbove65535) { ExpectRejected("h:65536", "bad port"); }

TEST(ParseHostPortErrorTest, PortThatOverflows) { ExpectRejected("h:99999999999999999999", "bad port"); }

TEST(ParseHostPortErrorTest, MissingCloseBracket) { ExpectRejected("[::1", "missing ]"); }

TEST(ParseHostPortErrorTest, JunkAfterCloseBracket) { ExpectRejected("[::1]x", "junk after ]"); }

TEST(ParseHostPortErrorTest, EmptyPortAfterBracket) { ExpectRejected("[::1]:", "bad port"); }

TEST(ParseHostPortErrorTest, BadPortAfterBracket) { ExpectRejected("[::1]:x", "bad port"); }

TEST(ParseHostPortErrorTest, EmptyBrackets) { ExpectRejected("[]:5", "no host"); }

TEST(ParseHostPortErrorTest, Empty) {
  auto parsed = ParseHostPort("");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(parsed.status().message(), HasSubstr("no host"));
}

TEST(ParseHostPortErrorTest, PortWithoutHost) { ExpectRejected(":5", "no host"); }

}  // namespace
}  // namespace shoal
