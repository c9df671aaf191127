// Targets and bounded connects to loopback ports.

#include "probe/connect.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include "local_ports.h"

namespace zp::probe {
namespace {

using namespace std::chrono_literals;
using testing::LocalPort;

TEST(ParseConnectTarget, NumericIpv4AndBracketedIpv6) {
  auto v4 = parseConnectTarget("10.77.0.1:9000");
  ASSERT_TRUE(v4.has_value());
  EXPECT_EQ(v4->family, AF_INET);
  EXPECT_EQ(v4->host, "10.77.0.1");
  EXPECT_EQ(v4->port, 9000);
  EXPECT_EQ(v4->text, "10.77.0.1:9000");
  auto v6 = parseConnectTarget("[fd00::1]:65535");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->family, AF_INET6);
  EXPECT_EQ(v6->host, "fd00::1");
  EXPECT_EQ(v6->port, 65535);
}

TEST(ParseConnectTarget, RefusesNamesAndMalformedTargets) {
  for (const char* bad : {"localhost:80", "example.com:443", "10.0.0.1", "10.0.0.1:", "10.0.0.1:0",
                          "10.0.0.1:65536", "10.0.0.1:8o", "10.0.0.1:+80", ":80", "::1:80",
                          "[::1]80", "[::1]:", "[zz::1]:80", "[10.0.0.1]:80", "1.2.3:80", ""}) {
    std::string why;
    EXPECT_FALSE(parseConnectTarget(bad, &why).has_value()) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
  EXPECT_FALSE(parseConnectTarget(std::string(100, '1') + ":80").has_value());
}

TEST(ConnectAll, ConnectedAndRefusedInOrder) {
  LocalPort open(true), closed(false);
  ASSERT_TRUE(open.ok() && closed.ok());
  std::vector<ConnectTarget> targets{
      *parseConnectTarget("127.0.0.1:" + std::to_string(closed.port())),
      *parseConnectTarget("127.0.0.1:" + std::to_string(open.port())),
  };
  auto results = connectAll(targets, 2000ms);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].target, targets[0].text);
  EXPECT_EQ(results[0].result, "refused");
  EXPECT_EQ(results[1].result, "connected");
  // Each attempt's time is its own, within the timeout that bounds it (an
  // attempt whose start was never taken would show the clock's epoch).
  for (const auto& r : results) EXPECT_LE(r.elapsed_ms, 2000) << r.target;
  EXPECT_TRUE(connectAll({}, 10ms).empty());
}

TEST(ConnectAll, Ipv6Loopback) {
  LocalPort open(true, AF_INET6);
  if (!open.ok()) GTEST_SKIP() << "no IPv6 loopback here";
  auto results = connectAll({*parseConnectTarget("[::1]:" + std::to_string(open.port()))}, 2000ms);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, "connected");
}

}  // namespace
}  // namespace zp::probe
