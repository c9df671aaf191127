#include "common/address.h"

#include <gtest/gtest.h>

namespace zp {
namespace {

TEST(AddressTest, ParsesHostPort) {
  auto v4 = parseHostPort("127.0.0.1:7700", "listen");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 7700);
  auto v6 = parseHostPort("[::1]:0", "listen");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 0);
  EXPECT_FALSE(parseHostPort("127.0.0.1", "listen"));
  EXPECT_FALSE(parseHostPort(":80", "listen"));
  EXPECT_FALSE(parseHostPort("h:99999", "listen"));
  EXPECT_FALSE(parseHostPort("h:8x", "listen"));
  EXPECT_FALSE(parseHostPort("::1:80", "listen"));
  auto local = listenEndpoint(HostPort{"localhost", 5}, "listen");
  ASSERT_TRUE(local);
  EXPECT_TRUE(local->address().is_loopback());
  EXPECT_EQ(formatEndpoint(*local), "127.0.0.1:5");
}

}  // namespace
}  // namespace zp
