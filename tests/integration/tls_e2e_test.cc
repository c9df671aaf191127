// Transport security end to end (docs/architecture.md §9.2, §9.3): real
// zoneplane-server and zoneplane-agent processes with a throw-away cluster
// PKI. An agent is trusted only with a certificate of the cluster CA naming
// its own node id; a server and an agent that disagree about TLS never
// connect, and say why; the API is HTTPS only; the insecure modes still run
// workloads on loopback.

#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "e2e_fixture.h"

namespace zp::testsupport {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class TlsEndToEndTest : public E2eTest {
 protected:
  // Waits until the node reports `reason`, then checks that it stays
  // NotReady for a few more heartbeats (the server keeps retrying).
  json waitRefused(const Agent& agent, const std::string& reason) {
    auto node = waitForNode(
        agent.id, [&](const json& n) { return n.value("reason", "") == reason; }, 30s);
    EXPECT_EQ(node["state"], "NotReady") << node.dump();
    std::this_thread::sleep_for(2s);
    auto later = http(cli::HttpMethod::kGet, "/nodes/" + agent.id).body;
    EXPECT_EQ(later["state"], "NotReady") << later.dump();
    EXPECT_EQ(later.value("reason", ""), reason) << later.dump();
    return later;
  }

  // Runs `cmd` in a shell: its exit code and stdout.
  static std::pair<int, std::string> shell(const std::string& cmd) {
    std::string out;
    FILE* pipe = ::popen((cmd + " 2>&1").c_str(), "r");
    if (pipe == nullptr) return {-1, ""};
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
    const int status = ::pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
  }
};

TEST_F(TlsEndToEndTest, AnAgentWithAnotherNodesCertificateGetsNothing) {
  // A real agent of node "other" (its own, valid certificate) sits at the
  // address the server has for node "a".
  Agent& other = addAgent("other");
  ASSERT_TRUE(startAgent(other));
  const std::string node_a = "e2e-" + suffix_ + "-a";
  ASSERT_TRUE(startServer(defaultServerToml() + "[[nodes]]\nid = \"" + node_a +
                              "\"\naddress = \"127.0.0.1:" + std::to_string(other.port) +
                              "\"\nruntime_classes = [\"native\"]\n",
                          std::vector<Agent*>{}));
  auto node = waitForNode(
      node_a, [](const json& n) { return n.value("reason", "") == "TlsIdentity"; }, 30s);
  EXPECT_EQ(node["state"], "NotReady") << node.dump();
  const std::string message = node.value("message", "");
  EXPECT_NE(message.find("node/" + other.id), std::string::npos) << message;

  auto created = http(cli::HttpMethod::kPost, "/workloads", spec("tlsid-1", "echo hi"));
  ASSERT_EQ(created.status, 201) << created.body.dump();
  EXPECT_EQ(created.body["status"]["state"], "Pending");
  std::this_thread::sleep_for(2s);  // a few reconnect attempts
  auto later = http(cli::HttpMethod::kGet, "/nodes/" + node_a).body;
  EXPECT_EQ(later["state"], "NotReady") << later.dump();
  EXPECT_EQ(later.value("reason", ""), "TlsIdentity") << later.dump();
  EXPECT_EQ(http(cli::HttpMethod::kGet, "/workloads/tlsid-1").body["status"]["state"], "Pending");
  EXPECT_EQ(sandboxesOf("tlsid-1"), 0u);
}

TEST_F(TlsEndToEndTest, AnAgentOfAnotherCaIsNotReady) {
  Agent& agent = addAgent("a");
  // Its own node id, but certificate and trust from an unrelated CA.
  tls::TlsFiles foreign = pki_.nodeFromOtherCa(agent.id);
  foreign.ca = (pki_.dir / "other-ca" / "ca.crt").string();
  agent.tls_files = foreign;
  ASSERT_TRUE(startAgent(agent));
  ASSERT_TRUE(startServer());
  auto node = waitRefused(agent, "HandshakeFailed");
  EXPECT_NE(node.value("message", "").find("certificate verify failed"), std::string::npos)
      << node.dump();
}

TEST_F(TlsEndToEndTest, APlaintextServerAndATlsAgentNeverConnect) {
  Agent& agent = addAgent("a");
  ASSERT_TRUE(startAgent(agent));
  server_insecure_plaintext_ = true;
  ASSERT_TRUE(startServer());
  auto node = waitForNode(agent.id, [](const json& n) {
    const std::string reason = n.value("reason", "");
    return reason == "HandshakeFailed" || reason == "ConnectionLost";
  });
  EXPECT_EQ(node["state"], "NotReady") << node.dump();
  const std::string message = node.value("message", "");
  EXPECT_TRUE(message.find("TLS") != std::string::npos ||
              message.find("connection closed") != std::string::npos)
      << message;
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(http(cli::HttpMethod::kGet, "/nodes/" + agent.id).body["state"], "NotReady");
}

TEST_F(TlsEndToEndTest, ATlsServerAndAPlaintextAgentNeverConnect) {
  Agent& agent = addAgent("a");
  agent.plaintext = true;
  ASSERT_TRUE(startAgent(agent));
  ASSERT_TRUE(startServer());
  auto node = waitRefused(agent, "HandshakeFailed");
  const std::string message = node.value("message", "");
  EXPECT_NE(message.find("TLS handshake"), std::string::npos) << message;
  EXPECT_NE(message.find("--insecure-plaintext"), std::string::npos) << message;
}

TEST_F(TlsEndToEndTest, TheApiIsHttpsOnly) {
  ASSERT_TRUE(startServer());
  EXPECT_TRUE(server_url_.starts_with("https://")) << server_url_;
  EXPECT_EQ(http(cli::HttpMethod::kGet, "/healthz").status, 200);
  EXPECT_EQ(http(cli::HttpMethod::kGet, "/nodes").status, 200);

  const std::string url = "127.0.0.1:" + std::to_string(server_.port()) + "/healthz";
  auto [trusted, body] = shell("curl -sS --max-time 10" + curlOptions() + " https://" + url);
  EXPECT_EQ(trusted, 0) << body;
  EXPECT_NE(body.find("ok"), std::string::npos) << body;
  // Plain HTTP to the HTTPS port gets no HTTP answer.
  auto [plain, plain_out] = shell("curl -sS --max-time 10 http://" + url);
  EXPECT_NE(plain, 0) << plain_out;
  EXPECT_EQ(plain_out.find("\"ok\""), std::string::npos) << plain_out;
  // Without the cluster CA the server's certificate is not trusted.
  auto [untrusted, untrusted_out] = shell("curl -sS --max-time 10 https://" + url);
  EXPECT_NE(untrusted, 0) << untrusted_out;
  // The server kept serving through all that.
  EXPECT_EQ(http(cli::HttpMethod::kGet, "/healthz").status, 200);
}

TEST_F(TlsEndToEndTest, InsecurePlaintextOnLoopbackStillRunsAWorkload) {
  Agent& agent = addAgent("a");
  agent.plaintext = true;
  ASSERT_TRUE(startAgent(agent));
  server_insecure_plaintext_ = true;
  server_insecure_http_ = true;
  ASSERT_TRUE(startServer());
  EXPECT_TRUE(server_url_.starts_with("http://")) << server_url_;
  waitForNode(agent.id, [](const json& n) { return n["state"] == "Ready"; });
  auto created = http(cli::HttpMethod::kPost, "/workloads", spec("plain-1", "echo hi; sleep 1"));
  ASSERT_EQ(created.status, 201) << created.body.dump();
  EXPECT_EQ(created.body["status"]["node"], agent.id);
  auto done = waitForState("plain-1", "Succeeded");
  EXPECT_EQ(done["status"]["exit_code"], 0);
  EXPECT_EQ(sandboxesOf("plain-1"), 1u);
  // Both insecure modes are announced.
  const std::string log = logTail(dir_ / "server.log", 400);
  EXPECT_NE(log.find("--insecure-http"), std::string::npos) << log;
  EXPECT_NE(log.find("--insecure-plaintext"), std::string::npos) << log;
}

}  // namespace
}  // namespace zp::testsupport
