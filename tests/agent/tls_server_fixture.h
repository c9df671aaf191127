#pragma once
// TlsServerTest: ProtocolServerTest serving mutual TLS as the agent does
// (docs/architecture.md §9.2): node-1's certificate from a throw-away test
// PKI, loaded with loadNodeTls(); clients present a certificate of their
// choice and verify the agent as node/node-1.

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "agent/node_tls.h"
#include "protocol_server_fixture.h"
#include "support/line_client.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"
#include "tls/tls_context.h"

namespace zp::agent {

using testsupport::LineClient;
using testsupport::LineClientTls;

// Sends `request` with a fresh req and returns the reply carrying it,
// skipping the pushes a subscribed connection gets meanwhile.
inline Result<nlohmann::json> callPastPushes(LineClient& c, nlohmann::json request) {
  static int next = 0;
  const std::string req = "past-" + std::to_string(++next);
  request["req"] = req;
  if (auto s = c.send(request); !s) return fail(s.error());
  while (true) {
    auto line = c.readJson(std::chrono::seconds(30));
    if (!line || line->value("req", "") == req) return line;
  }
}

class TlsServerTest : public ProtocolServerTest {
 protected:
  void SetUp() override {
    ProtocolServerTest::SetUp();
    pki_ = testsupport::makeTestPki(tmp_.path());
  }

  // Serves node-1's identity with `limits`. Use with ASSERT_NO_FATAL_FAILURE.
  void startTlsServer(ServerLimits limits = {}) {
    auto tls = loadNodeTls(pki_.node("node-1"), "node-1");
    ASSERT_TRUE(tls.has_value()) << tls.error().toString();
    startServer(limits, *tls);
  }

  // The TLS settings of a client presenting `identity`'s certificate and key
  // and trusting this PKI's CA for the agent.
  LineClientTls clientTls(const tls::TlsFiles& identity) const {
    auto context = tls::clientContext({identity.cert, identity.key, pki_.ca_cert_path},
                                      tls::MinVersion::kTls13);
    EXPECT_TRUE(context.has_value()) << context.error().toString();
    return {context ? *context : nullptr, tls::Identity::node("node-1")};
  }
  Result<LineClient> connectAs(const tls::TlsFiles& identity) {
    const auto tls = clientTls(identity);
    return LineClient::connect(port_, &tls);
  }
  // A connection as the control plane (identity server); fails the test if
  // it cannot connect.
  LineClient connectAsServer() {
    auto c = connectAs(pki_.server);
    if (!c) {
      ADD_FAILURE() << "cannot connect as the server: " << c.error().toString();
      return LineClient::disconnected();
    }
    return std::move(*c);
  }
  // A plain TCP connection that sends nothing.
  LineClient connectPlain() {
    auto c = LineClient::connect(port_);
    if (!c) {
      ADD_FAILURE() << "cannot connect: " << c.error().toString();
      return LineClient::disconnected();
    }
    return std::move(*c);
  }
  // Whether the agent has closed `c` (without waiting).
  static bool closedNow(LineClient& c) { return c.waitClosed(std::chrono::milliseconds(0)); }

  testsupport::TempDir tmp_{"zp-agent-tls"};
  testsupport::TestPki pki_;
};

}  // namespace zp::agent
