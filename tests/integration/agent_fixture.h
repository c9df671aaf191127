#pragma once
// AgentIntegrationTest: the fixture of the zoneplane-agent integration tests.
// Each test gets its own node id ("ag-<random>"), a temporary directory (data
// dir + agent log), a CRI client on the stack's containerd and helpers to run
// the real agent process and talk to it.
//
// Environment (from `eval "$(scripts/stack env)"`):
//   ZONEPLANE_CRI_ENDPOINT  the containerd CRI socket, unix:///...
//   ZONEPLANE_TEST_IMAGE    busybox image in the local registry
//   ZONEPLANE_ALT_HANDLER   a second runtime handler (runc-alt)
//   ZONEPLANE_GVISOR_HANDLER the gVisor handler ("gvisor"); empty or unset when
//                           the stack has none (runsc or jq not installed)
//   ZONEPLANE_REQUIRE_STACK=1 turns "variables missing" from a skip into a failure.
//
// PerClassTest runs a test once per runtime class the stack offers ("native"
// = runc, "gvisor" = runsc): instantiate it with ::testing::ValuesIn
// (runtimeClassNames()) and classParamName.
//
// The agent runs with mutual TLS (docs/architecture.md §9.2): its node
// certificate comes from a test PKI made per test (pki_), and the clients
// present the PKI's server certificate and require node/<node id>. An agent
// started with "--insecure-plaintext" among its extra arguments is spoken to
// in plaintext instead.
//
// Cleanup (TearDown, also after a failed assertion): SIGTERM the agent, then
// stop and remove every sandbox labelled zoneplane.io/node-id=<node id>, then
// delete the temporary directory. The agent log is printed when the test failed.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "agent_test_support.h"
#include "cri/client.h"
#include "support/test_pki.h"

namespace zp::agent_it {

class AgentIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  // Stops and removes every sandbox labelled with node_id_ (retrying).
  void removeNodeSandboxes();

  // Starts the agent (classes "native" -> default handler "runc", "alt" ->
  // the alt handler and, when the stack has it, "gvisor" -> its gVisor
  // handler, all on the stack's endpoint with pod_cgroup "cgroupfs"; its TLS
  // files, plus `extra_args`) and connects client_. Use with
  // ASSERT_NO_FATAL_FAILURE.
  void startAgent(std::vector<std::string> extra_args = {});
  // The flags naming the node's TLS files (--tls-cert, --tls-key, --tls-ca).
  std::vector<std::string> tlsArgs() const;
  // A new connection to the running agent, greeted with Hello {node_id_,
  // subscribe} (fails the test if it cannot connect or Hello is refused).
  LineClient connect(bool subscribe = false);
  // A new connection without Hello.
  LineClient connectRaw();

  // A request on client_; a transport failure fails the test and returns
  // {"type":"TransportError"}.
  Json call(const Json& request);
  Json startWorkload(const Json& workload);
  Json getStatus(const std::string& id);
  Json stopWorkload(const std::string& id, int timeout_seconds);
  Json removeWorkload(const std::string& id, int timeout_seconds);
  Json listWorkloads();

  // Polls GetStatus until `done(status)`; `last` receives the final status.
  bool waitStatus(const std::string& id, const std::function<bool(const Json&)>& done,
                  std::chrono::milliseconds timeout, Json& last);
  bool waitState(const std::string& id, const std::string& state, std::chrono::milliseconds timeout,
                 Json& last);
  // Waits for Succeeded or Failed.
  bool waitTerminal(const std::string& id, std::chrono::milliseconds timeout, Json& last);

  // A fresh workload id: "<tag>-<random>".
  static std::string workloadId(const std::string& tag);
  Json workload(const std::string& id, std::vector<std::string> command,
                const std::string& runtime_class = "native", std::int64_t memory_mb = 64) const;

  // This node's sandboxes / containers of one workload, straight from the runtime.
  std::vector<cri::v1::PodSandbox> sandboxesOf(const std::string& workload_id) const;
  std::vector<cri::v1::Container> containersOf(const std::string& workload_id) const;
  // Polls the log file until it contains `needle`; returns the final contents.
  static std::string waitLogContains(const std::string& path, const std::string& needle,
                                     std::chrono::milliseconds timeout = 30s);

  std::string endpoint_, image_, alt_handler_, gvisor_handler_, node_id_;
  std::filesystem::path dir_, data_dir_, agent_log_;
  testsupport::TestPki pki_;
  tls::TlsFiles node_tls_;       // the agent's certificate, key and CA
  LineClientTls client_tls_;     // what connect() uses unless plaintext_
  bool plaintext_ = false;       // the agent runs --insecure-plaintext
  std::unique_ptr<cri::Client> cri_;
  AgentProcess agent_;
  std::optional<LineClient> client_;
};

// The runtime classes every PerClassTest runs on, in order.
std::vector<std::string> runtimeClassNames();
// The test name suffix: the class name ("native", "gvisor").
std::string classParamName(const ::testing::TestParamInfo<std::string>& info);

// A test run once per runtime class (GetParam() is the class name). SetUp
// skips a "gvisor" instance when the stack has no gVisor handler, or fails it
// when ZONEPLANE_REQUIRE_STACK=1 (scripts/stack installs one).
class PerClassTest : public AgentIntegrationTest,
                     public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override;
  const std::string& runtimeClass() const { return GetParam(); }
  bool gvisor() const { return GetParam() == "gvisor"; }
  // The CRI handler the agent gives the class ("runc" for native).
  std::string handler() const { return gvisor() ? gvisor_handler_ : "runc"; }
  // A workload of this test's class.
  Json classWorkload(const std::string& id, std::vector<std::string> command,
                     std::int64_t memory_mb = 64) const {
    return workload(id, std::move(command), runtimeClass(), memory_mb);
  }
};

}  // namespace zp::agent_it
