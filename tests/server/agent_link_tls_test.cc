// AgentLink over mutual TLS 1.3 (docs/architecture.md §9.2): the agent's
// chain must verify against the cluster CA and name node/<the link's id>
// before Hello is sent; plain TCP only reaches loopback addresses. The fake
// agent speaks the real protocol over TLS with a throw-away PKI
// (tests/support/test_pki.h).

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "fake_agent.h"
#include "run_io.h"
#include "server/nodes/agent_link.h"
#include "server/nodes/node_lifecycle.h"
#include "support/test_pki.h"
#include "tls/tls_context.h"

namespace zp::server {
namespace {

namespace asio = boost::asio;
using testing::FakeAgent;
using testing::runTask;
using testing::runUntil;
using namespace std::chrono_literals;

std::shared_ptr<asio::ssl::context> agentContext(const tls::TlsFiles& files) {
  auto context = tls::serverContext(files, /*require_client_cert=*/true, tls::MinVersion::kTls13);
  EXPECT_TRUE(context) << context.error().toString();
  return context ? *context : nullptr;
}

std::shared_ptr<asio::ssl::context> linkContext(const tls::TlsFiles& files) {
  auto context = tls::clientContext(files, tls::MinVersion::kTls13);
  EXPECT_TRUE(context) << context.error().toString();
  return context ? *context : nullptr;
}

class AgentLinkTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/zp-link-tls-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    pki_ = testsupport::makeTestPki(dir_);
  }

  void TearDown() override {
    if (link_) link_->shutdown();
    io_.restart();
    io_.run_for(10s);
    EXPECT_TRUE(io_.stopped()) << "the link left work behind after shutdown()";
    agent_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // The fake agent "node-a", presenting `files` (plain TCP when null).
  void startAgent(std::shared_ptr<asio::ssl::context> tls) {
    agent_ = std::make_unique<FakeAgent>("node-a", std::vector<std::string>{"native"},
                                         api::Resources{1024, 1000}, std::move(tls));
  }

  // A link to node "node-a" at `address` (the fake agent's by default).
  void makeLink(std::shared_ptr<asio::ssl::context> tls, std::string address = {}) {
    AgentLinkOptions options;
    options.tls = std::move(tls);
    options.backoff_initial = 10ms;
    options.backoff_max = 40ms;
    options.connect_timeout = 2s;
    options.hello_timeout = 2s;
    AgentLinkEvents events;
    events.resynced = [this](std::vector<api::WorkloadStatus>) -> asio::awaitable<void> {
      ++resyncs_;
      co_return;
    };
    events.disconnected = [this](std::string_view reason, const std::string& message) {
      disconnects_.emplace_back(std::string(reason), message);
    };
    link_ = AgentLink::create(io_.get_executor(), "node-a",
                              address.empty() ? agent_->address() : address, options,
                              std::move(events));
  }

  // Starts the link and waits for its first failed attempt.
  std::pair<std::string, std::string> firstFailure() {
    link_->start();
    EXPECT_TRUE(runUntil(io_, [&] { return !disconnects_.empty(); }));
    return disconnects_.empty() ? std::pair<std::string, std::string>{} : disconnects_.front();
  }

  std::string dir_;
  testsupport::TestPki pki_;
  asio::io_context io_;
  std::unique_ptr<FakeAgent> agent_;
  std::shared_ptr<AgentLink> link_;
  int resyncs_ = 0;
  std::vector<std::pair<std::string, std::string>> disconnects_;
};

TEST_F(AgentLinkTlsTest, ConnectsWhenTheAgentPresentsItsNodeCertificate) {
  startAgent(agentContext(pki_.node("node-a")));
  makeLink(linkContext(pki_.server));
  link_->start();
  ASSERT_TRUE(runUntil(io_, [&] { return resyncs_ == 1; }))
      << (disconnects_.empty() ? "" : disconnects_.back().second);
  auto reply = runTask(io_, link_->call(protocol::NodeInfo{}, 5s));
  ASSERT_TRUE(reply) << reply.error().toString();
  EXPECT_EQ(std::get<api::NodeInfo>(*reply).node_id, "node-a");
  EXPECT_EQ(agent_->count("Hello"), 1);
  EXPECT_EQ(agent_->tlsFailures(), 0);
  EXPECT_TRUE(disconnects_.empty());
}

TEST_F(AgentLinkTlsTest, AValidCertificateOfAnotherNodeIsRefusedBeforeHello) {
  startAgent(agentContext(pki_.node("node-b")));
  makeLink(linkContext(pki_.server));
  const auto [reason, message] = firstFailure();
  EXPECT_EQ(reason, node_reason::kTlsIdentity);
  EXPECT_NE(message.find("node/node-b"), std::string::npos) << message;  // who it is
  EXPECT_NE(message.find("node-a"), std::string::npos) << message;       // who it should be
  EXPECT_FALSE(link_->connected());
  auto reply = runTask(io_, link_->call(protocol::NodeInfo{}, 1s));
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, Code::kUnavailable);
  // Nothing of the protocol reached that agent, and the link keeps refusing it.
  ASSERT_TRUE(runUntil(io_, [&] { return disconnects_.size() >= 3; }));
  EXPECT_EQ(agent_->count("Hello"), 0);
  EXPECT_EQ(resyncs_, 0);
  for (const auto& [r, m] : disconnects_) EXPECT_EQ(r, node_reason::kTlsIdentity) << m;
}

TEST_F(AgentLinkTlsTest, ACertificateFromAnotherCaFailsTheHandshake) {
  startAgent(agentContext(pki_.nodeFromOtherCa("node-a")));
  makeLink(linkContext(pki_.server));
  const auto [reason, message] = firstFailure();
  EXPECT_EQ(reason, node_reason::kHandshakeFailed);
  EXPECT_NE(message.find("TLS handshake"), std::string::npos) << message;
  EXPECT_NE(message.find("certificate verify failed"), std::string::npos) << message;
  EXPECT_EQ(agent_->count("Hello"), 0);
}

TEST_F(AgentLinkTlsTest, AnAgentThatDoesNotTrustTheServerRefusesIt) {
  // The agent trusts only the other CA: it refuses the server's certificate.
  ASSERT_FALSE(pki_.nodeFromOtherCa("node-a").cert.empty());  // makes the other CA
  tls::TlsFiles files = pki_.node("node-a");
  files.ca = (pki_.dir / "other-ca" / "ca.crt").string();
  ASSERT_TRUE(std::filesystem::exists(files.ca)) << files.ca;
  startAgent(agentContext(files));
  makeLink(linkContext(pki_.server));
  const auto [reason, message] = firstFailure();
  EXPECT_EQ(reason, node_reason::kHandshakeFailed);
  EXPECT_NE(message.find("refused the TLS connection"), std::string::npos) << message;
  EXPECT_NE(message.find("unknown ca"), std::string::npos) << message;
  EXPECT_FALSE(link_->connected());
  EXPECT_EQ(agent_->count("Hello"), 0);
}

TEST_F(AgentLinkTlsTest, ATlsLinkToAPlaintextAgentFailsSayingSo) {
  startAgent(nullptr);
  makeLink(linkContext(pki_.server));
  const auto [reason, message] = firstFailure();
  EXPECT_EQ(reason, node_reason::kHandshakeFailed);
  EXPECT_NE(message.find("TLS handshake"), std::string::npos) << message;
  EXPECT_NE(message.find("--insecure-plaintext"), std::string::npos) << message;
  EXPECT_EQ(resyncs_, 0);
}

TEST_F(AgentLinkTlsTest, APlaintextLinkToATlsAgentFails) {
  startAgent(agentContext(pki_.node("node-a")));
  makeLink(nullptr);
  const auto [reason, message] = firstFailure();
  EXPECT_EQ(reason, node_reason::kHandshakeFailed) << message;
  EXPECT_NE(message.find("--insecure-plaintext"), std::string::npos) << message;
  EXPECT_EQ(resyncs_, 0);
  EXPECT_FALSE(link_->connected());
  EXPECT_TRUE(runUntil(io_, [&] { return agent_->tlsFailures() > 0; }));
}

TEST_F(AgentLinkTlsTest, APlaintextLinkConnectsToLoopbackOnly) {
  startAgent(nullptr);
  makeLink(nullptr, "192.0.2.1:9000");  // TEST-NET-1: never reached
  const auto [reason, message] = firstFailure();
  EXPECT_EQ(reason, node_reason::kConnectionRefused);
  EXPECT_NE(message.find("not a loopback address"), std::string::npos) << message;
  EXPECT_NE(message.find("--insecure-plaintext"), std::string::npos) << message;
}

TEST_F(AgentLinkTlsTest, LogStreamsUseTlsAndCheckTheIdentityToo) {
  startAgent(agentContext(pki_.node("node-a")));
  agent_->setLog("wl-a", {protocol::LogLine{"2026-01-01T00:00:00Z", "stdout", "hello", false}});
  makeLink(linkContext(pki_.server));
  link_->start();
  ASSERT_TRUE(runUntil(io_, [&] { return resyncs_ == 1; }));
  auto stream = runTask(io_, link_->openLogs(protocol::Logs{"wl-a", std::nullopt, false, false}));
  ASSERT_TRUE(stream) << stream.error().toString();
  auto line = runTask(io_, (*stream)->next());
  ASSERT_TRUE(line) << line.error().toString();
  ASSERT_TRUE(std::holds_alternative<protocol::LogLine>(*line));
  EXPECT_EQ(std::get<protocol::LogLine>(*line).line, "hello");
  stream->reset();
  link_->shutdown();

  // An agent with another node's certificate gets no log request either.
  agent_ =
      std::make_unique<FakeAgent>("node-a", std::vector<std::string>{"native"},
                                  api::Resources{1024, 1000}, agentContext(pki_.node("node-b")));
  agent_->setLog("wl-a", {});
  disconnects_.clear();
  makeLink(linkContext(pki_.server));
  auto refused = runTask(io_, link_->openLogs(protocol::Logs{"wl-a", std::nullopt, false, false}));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::kUnavailable);
  EXPECT_NE(refused.error().message.find("node/node-b"), std::string::npos)
      << refused.error().message;
  EXPECT_EQ(agent_->count("Hello"), 0);
  EXPECT_EQ(agent_->count("Logs"), 0);
}

}  // namespace
}  // namespace zp::server
