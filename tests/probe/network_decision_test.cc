// Who serves the sockets: TCP_INFO of a new TCP socket as recorded in gVisor
// with --network=host (hostinet), --network=none (netstack) and on the host.

#include <gtest/gtest.h>

#include <cerrno>

#include "probe/parse.h"

namespace zp::probe {
namespace {

// Recorded values (see collect_network.cc).
constexpr TcpInfoSample kLinuxInitial{0, 1000000, 10, 536};  // host, runc, gVisor hostinet
constexpr TcpInfoSample kNetstack{0, 0, 0, 0};               // gVisor netstack

TEST(NetworkStackDecision, ApplicationKernelPassingSocketsToTheHost) {
  NetworkStackDecision d = decideNetworkStack(true, kLinuxInitial);
  EXPECT_EQ(d.host_network_stack, true);
  EXPECT_NE(d.evidence.find("rto 1000000 us, snd_cwnd 10"), std::string::npos) << d.evidence;
  EXPECT_NE(d.evidence.find("host kernel"), std::string::npos) << d.evidence;
}

TEST(NetworkStackDecision, ApplicationKernelWithItsOwnStack) {
  NetworkStackDecision d = decideNetworkStack(true, kNetstack);
  EXPECT_EQ(d.host_network_stack, false);
  EXPECT_NE(d.evidence.find("own network stack"), std::string::npos) << d.evidence;
}

TEST(NetworkStackDecision, NoApplicationKernelLeavesItOpen) {
  NetworkStackDecision d = decideNetworkStack(false, kLinuxInitial);
  EXPECT_FALSE(d.host_network_stack.has_value());
  EXPECT_NE(d.evidence.find("no application kernel"), std::string::npos) << d.evidence;
}

TEST(NetworkStackDecision, CannotTellFromAFailureOrMixedValues) {
  NetworkStackDecision failed = decideNetworkStack(true, TcpInfoSample{EACCES, 0, 0, 0});
  EXPECT_FALSE(failed.host_network_stack.has_value());
  EXPECT_NE(failed.evidence.find("Permission denied"), std::string::npos) << failed.evidence;
  EXPECT_FALSE(
      decideNetworkStack(true, TcpInfoSample{0, 0, 0, 536}).host_network_stack.has_value());
  EXPECT_FALSE(
      decideNetworkStack(true, TcpInfoSample{0, 1000, 0, 0}).host_network_stack.has_value());
}

}  // namespace
}  // namespace zp::probe
