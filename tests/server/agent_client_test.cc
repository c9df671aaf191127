#include "server/agent_client.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "fake_agent.h"

namespace zp::server {
namespace {

namespace asio = boost::asio;
using testing::FakeAgent;
using namespace std::chrono_literals;

Result<protocol::ReplyBody> callOnce(AgentClient& client, const std::string& address,
                                     protocol::RequestBody request,
                                     std::chrono::milliseconds timeout = 2s) {
  asio::io_context io;
  Result<protocol::ReplyBody> out = fail(Code::kInternal, "not run");
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        out = co_await client.call(address, std::move(request), timeout);
      },
      asio::detached);
  io.run();
  return out;
}

// An address nobody listens on.
std::string closedAddress() {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::address_v4::loopback(), 0});
  const auto port = acceptor.local_endpoint().port();
  acceptor.close();
  return "127.0.0.1:" + std::to_string(port);
}

TEST(AgentClientTest, NodeInfoRoundTrip) {
  FakeAgent agent("node-1", {"native"}, {2048, 4000});
  TcpAgentClient client;
  auto reply = expectReply<api::NodeInfo>(callOnce(client, agent.address(), protocol::NodeInfo{}),
                                          "NodeInfo");
  ASSERT_TRUE(reply) << reply.error().toString();
  EXPECT_EQ(reply->node_id, "node-1");
  EXPECT_EQ(reply->capacity.memory_mb, 2048);
  EXPECT_EQ(agent.count("NodeInfo"), 1);
}

TEST(AgentClientTest, AgentErrorsKeepTheirCode) {
  FakeAgent agent("node-1", {"native"}, {2048, 4000});
  TcpAgentClient client;
  auto reply = callOnce(client, agent.address(), protocol::GetStatus{"wl-missing"});
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, Code::kNotFound);
  EXPECT_NE(reply.error().message.find("wl-missing"), std::string::npos);
  EXPECT_FALSE(isUnreachable(reply.error()));
}

TEST(AgentClientTest, RefusedConnectionIsUnavailable) {
  TcpAgentClient client;
  const auto address = closedAddress();
  auto reply = callOnce(client, address, protocol::NodeInfo{});
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, Code::kUnavailable);
  EXPECT_NE(reply.error().message.find(address), std::string::npos) << reply.error().message;
  EXPECT_TRUE(isUnreachable(reply.error()));
}

TEST(AgentClientTest, ClosedConnectionIsUnavailable) {
  FakeAgent agent("node-1", {"native"}, {2048, 4000});
  agent.setMode(FakeAgent::Mode::kDown);
  TcpAgentClient client;
  auto reply = callOnce(client, agent.address(), protocol::NodeInfo{});
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, Code::kUnavailable);
}

TEST(AgentClientTest, SilentAgentTimesOut) {
  FakeAgent agent("node-1", {"native"}, {2048, 4000});
  agent.setMode(FakeAgent::Mode::kSilent);
  TcpAgentClient client;
  const auto started = std::chrono::steady_clock::now();
  auto reply = callOnce(client, agent.address(), protocol::NodeInfo{}, 200ms);
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, Code::kDeadlineExceeded);
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 5s);
}

TEST(AgentClientTest, ReplyMustEchoReq) {
  FakeAgent agent("node-1", {"native"}, {2048, 4000});
  agent.setMode(FakeAgent::Mode::kWrongReq);
  TcpAgentClient client;
  auto reply = callOnce(client, agent.address(), protocol::NodeInfo{});
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, Code::kInternal);
  EXPECT_NE(reply.error().message.find("req"), std::string::npos);
}

TEST(AgentClientTest, ShutdownCancelsCallsInFlight) {
  FakeAgent agent("node-1", {"native"}, {2048, 4000});
  agent.setMode(FakeAgent::Mode::kSilent);
  TcpAgentClient client;
  asio::io_context io;
  Result<protocol::ReplyBody> out = fail(Code::kInternal, "not run");
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        protocol::RequestBody request = protocol::NodeInfo{};
        out = co_await client.call(agent.address(), std::move(request), 30s);
      },
      asio::detached);
  asio::steady_timer later(io, 100ms);
  later.async_wait([&](const boost::system::error_code&) { client.shutdown(); });
  const auto started = std::chrono::steady_clock::now();
  io.run();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, Code::kCancelled);
  auto after = callOnce(client, agent.address(), protocol::NodeInfo{});
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code, Code::kCancelled);
}

TEST(AgentClientTest, BadAddressIsUnavailable) {
  TcpAgentClient client;
  auto reply = callOnce(client, "no-port-here", protocol::NodeInfo{});
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, Code::kUnavailable);
}

}  // namespace
}  // namespace zp::server
