// The real agent's transport security (docs/architecture.md §9.2): mutual TLS
// by default, serving only the server's identity; plaintext only as the
// explicit insecure mode on loopback; and no start without this node's own
// certificate.

#include <algorithm>

#include "agent_fixture.h"
#include "tls/tls_context.h"

namespace zp::agent_it {
namespace {

class AgentTls : public AgentIntegrationTest {
 protected:
  // Starts zoneplane-agent with `args` (after the node id, its data dir and
  // a class) and expects it to exit before listening; returns its log.
  std::string refusedStart(const std::vector<std::string>& args) {
    const auto log = dir_ / ("refused-" + std::to_string(++refusals_) + ".log");
    std::vector<std::string> argv = {ZP_AGENT_BINARY, "--node-id", node_id_, "--data-dir",
                                     (dir_ / "refused").string(), "--runtime-class",
                                     "native=runc@" + endpoint_};
    argv.insert(argv.end(), args.begin(), args.end());
    testsupport::DaemonProcess process;
    auto started = process.start(argv, "zoneplane-agent listening on ", log, 60s);
    EXPECT_FALSE(started.has_value()) << "the agent started with " << args.back();
    return readFile(log);
  }
  int refusals_ = 0;
};

TEST_F(AgentTls, OnlyTheServerIdentityIsServed) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  ASSERT_TRUE(client_->secure());
  auto node = call(Json{{"type", "NodeInfo"}});
  EXPECT_EQ(node.value("node_id", ""), node_id_) << node.dump();

  // This node's own certificate is not the server's: refused after the handshake.
  auto context = tls::clientContext(node_tls_, tls::MinVersion::kTls13);
  ASSERT_TRUE(context.has_value()) << context.error().toString();
  const LineClientTls as_node{*context, tls::Identity::node(node_id_)};
  auto impostor = LineClient::connect(agent_.port(), &as_node);
  if (impostor) {
    (void)impostor->send(Json{{"type", "Hello"}, {"node_id", node_id_}});
    auto line = impostor->readLine(30s);
    EXPECT_FALSE(line.has_value()) << "answered a node certificate: " << *line;
  }
  // Plaintext gets no protocol reply and is closed.
  auto plain = LineClient::connect(agent_.port());
  ASSERT_TRUE(plain.has_value()) << plain.error().toString();
  ASSERT_TRUE(plain->send(Json{{"type", "Hello"}, {"node_id", node_id_}}).has_value());
  while (auto line = plain->readLine(30s)) EXPECT_EQ(line->find("Node"), std::string::npos) << *line;
  // The agent is unaffected.
  EXPECT_EQ(call(Json{{"type", "NodeInfo"}}).value("type", ""), "Node");
  EXPECT_NE(readFile(agent_log_).find("refusing node/" + node_id_),
            std::string::npos)
      << logTail(agent_log_);
}

TEST_F(AgentTls, PlaintextOnlyAsTheExplicitInsecureMode) {
  ASSERT_NO_FATAL_FAILURE(startAgent({"--insecure-plaintext"}));
  ASSERT_FALSE(client_->secure());
  const auto id = workloadId("plain");
  ASSERT_EQ(startWorkload(workload(id, {"sleep", "300"})).value("type", ""), "Status");
  Json st;
  EXPECT_TRUE(waitState(id, "Running", 60s, st)) << st.dump();
  EXPECT_EQ(removeWorkload(id, 0).value("type", ""), "Removed");
  EXPECT_NE(readFile(agent_log_).find("INSECURE"), std::string::npos) << logTail(agent_log_);
  // A TLS client finds no TLS.
  auto tls_client = LineClient::connect(agent_.port(), &client_tls_, 5s);
  EXPECT_FALSE(tls_client.has_value());
}

TEST_F(AgentTls, NoStartWithoutThisNodesCertificate) {
  // No files at all (the defaults under the data dir): join first.
  auto missing = refusedStart({"--listen", "127.0.0.1:0"});
  EXPECT_NE(missing.find("--join"), std::string::npos) << missing;
  // Another node's certificate.
  const auto other = pki_.node("ag-other");
  auto wrong = refusedStart({"--listen", "127.0.0.1:0", "--tls-cert", other.cert, "--tls-key",
                             other.key, "--tls-ca", other.ca});
  EXPECT_NE(wrong.find("node/ag-other"), std::string::npos) << wrong;
  // An expired one of this node.
  const auto expired = pki_.expiredNode(node_id_);
  auto old = refusedStart({"--listen", "127.0.0.1:0", "--tls-cert", expired.cert, "--tls-key",
                           expired.key, "--tls-ca", expired.ca});
  EXPECT_NE(old.find("expired"), std::string::npos) << old;
  // Plaintext on a non-loopback address.
  auto exposed = refusedStart({"--listen", "0.0.0.0:0", "--insecure-plaintext"});
  EXPECT_NE(exposed.find("loopback"), std::string::npos) << exposed;
}

}  // namespace
}  // namespace zp::agent_it
