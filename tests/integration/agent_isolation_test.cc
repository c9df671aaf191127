// Isolation verification on the stack's real containerd (docs/architecture.md
// §10.2): the real agent runs the real zoneplane-probe image in its classes.
// `native` (runc) verifies as shared-kernel without a high finding; a class
// `edera-zone` backed by the same runc but claiming `hypervisor` is
// quarantined after one probe (claim-not-met); the stack's gVisor handler
// verifies as application-kernel. Probe sandboxes never show as
// workloads, none is left once a probe is over, and one a crash left is
// removed when the agent starts.
//
// The probing test needs ZONEPLANE_PROBE_IMAGE (scripts/stack env) besides
// the fixture's variables; skipped without it unless ZONEPLANE_REQUIRE_STACK=1.

#include <fstream>
#include <future>

#include "agent/cri_configs.h"
#include "agent/isolation/probe_runner.h"
#include "agent_fixture.h"

namespace zp::agent_it {
namespace {

constexpr const char* kLabelProbe = "zoneplane.io/probe";

class Isolation : public AgentIntegrationTest {
 protected:
  // The probe image, or a skip (a failure under ZONEPLANE_REQUIRE_STACK=1).
  // Use with ASSERT_NO_FATAL_FAILURE, then return if IsSkipped().
  void requireProbeImage() {
    probe_image_ = envOrEmpty("ZONEPLANE_PROBE_IMAGE");
    if (!probe_image_.empty()) return;
    const char* why =
        "ZONEPLANE_PROBE_IMAGE must be set (eval \"$(scripts/stack env)\" after scripts/stack "
        "start has pushed the zoneplane/probe image)";
    if (envOrEmpty("ZONEPLANE_REQUIRE_STACK") == "1") FAIL() << why;
    GTEST_SKIP() << why;
  }

  // Starts the agent with the fixture's classes (native, alt) plus
  // `edera-zone` on the same runc claiming hypervisor, and the probe image.
  void startWithProbe() {
    const auto config = dir_ / "agent.toml";
    std::ofstream out(config);
    out << "[probe]\n"
        << "image = \"" << probe_image_ << "\"\n"
        << "timeout_seconds = 120\n"
        << "[runtime_classes.edera-zone]\n"
        << "endpoint = \"" << endpoint_ << "\"\n"
        << "handler = \"runc\"\n"
        << "isolation = \"hypervisor\"\n";
    out.close();
    ASSERT_NO_FATAL_FAILURE(startAgent({"--config", config.string()}));
  }

  // This node's probe sandboxes, straight from the runtime.
  std::vector<cri::v1::PodSandbox> probeSandboxes() const {
    cri::v1::PodSandboxFilter filter;
    (*filter.mutable_label_selector())["zoneplane.io/node-id"] = node_id_;
    auto listed = cri_->listPodSandbox(filter);
    EXPECT_TRUE(listed.has_value()) << listed.error().toString();
    std::vector<cri::v1::PodSandbox> probes;
    if (!listed) return probes;
    for (const auto& sb : *listed) {
      if (sb.labels().contains(kLabelProbe)) probes.push_back(sb);
    }
    return probes;
  }

  static const Json* classOf(const Json& node, const std::string& name) {
    if (!node.contains("isolation")) return nullptr;
    for (const auto& c : node["isolation"]) {
      if (c.value("runtime_class", "") == name) return &c;
    }
    return nullptr;
  }
  static bool hasFinding(const Json& c, const std::string& id) {
    for (const auto& f : c.value("findings", Json::array())) {
      if (f.value("id", "") == id) return true;
    }
    return false;
  }


  std::string probe_image_;
};

TEST_F(Isolation, RuncVerifiesAsSharedKernelAndAFalseHypervisorClaimIsQuarantined) {
  ASSERT_NO_FATAL_FAILURE(requireProbeImage());
  if (IsSkipped()) return;
  ASSERT_NO_FATAL_FAILURE(startWithProbe());
  // Every class is probed at start; ProbeIsolation joins those probes (or
  // runs new ones) and answers once all are over. Meanwhile the node's
  // workloads, listed on another connection, never include a probe.
  auto prober = connect();
  std::promise<Result<Json>> probed;
  auto answer = probed.get_future();
  std::thread asking([&] { probed.set_value(prober.call({{"type", "ProbeIsolation"}}, 5min)); });
  bool probe_seen = false;
  while (answer.wait_for(50ms) != std::future_status::ready) {
    if (!probeSandboxes().empty()) probe_seen = true;
    const auto list = listWorkloads();
    ASSERT_EQ(list.value("type", ""), "WorkloadList") << list.dump();
    EXPECT_TRUE(list["items"].empty()) << "a probe listed as a workload: " << list.dump();
  }
  asking.join();
  auto reply = answer.get();
  ASSERT_TRUE(reply.has_value()) << reply.error().toString();
  const Json& node = *reply;
  ASSERT_EQ(node.value("type", ""), "Node") << node.dump();
  ASSERT_TRUE(node.contains("isolation")) << node.dump();
  // alt, edera-zone, native, and gvisor when the stack has it
  EXPECT_EQ(node["isolation"].size(), gvisor_handler_.empty() ? 3u : 4u) << node.dump();
  if (!probe_seen) std::cerr << "(no probe sandbox was caught while listing)\n";

  const Json* native = classOf(node, "native");
  ASSERT_NE(native, nullptr) << node.dump();
  EXPECT_EQ(native->value("level", ""), "shared-kernel") << native->dump();
  EXPECT_EQ(native->value("error", ""), "") << native->dump();
  EXPECT_FALSE(native->value("quarantined", true)) << native->dump();
  EXPECT_TRUE(native->contains("verified_at")) << native->dump();
  EXPECT_FALSE(native->value("probe_version", "").empty()) << native->dump();
  EXPECT_TRUE(hasFinding(*native, "host-kernel-shared")) << native->dump();
  for (const auto& f : native->value("findings", Json::array())) {
    if (f.value("severity", "") != "high") continue;
    ADD_FAILURE() << "runc with the full posture has a high finding: " << f.dump();
  }

  const Json* edera = classOf(node, "edera-zone");
  ASSERT_NE(edera, nullptr) << node.dump();
  EXPECT_EQ(edera->value("claim", ""), "hypervisor") << edera->dump();
  EXPECT_EQ(edera->value("level", ""), "shared-kernel") << edera->dump();
  EXPECT_TRUE(edera->value("quarantined", false)) << edera->dump();
  EXPECT_TRUE(hasFinding(*edera, "claim-not-met")) << edera->dump();
  EXPECT_LT(edera->value("score", 100), native->value("score", 0)) << node.dump();

  // The heartbeat's view: the same revision leaves the list out.
  const auto revision = node.value("isolation_revision", std::int64_t{0});
  const auto heartbeat = call({{"type", "NodeInfo"}, {"isolation_revision", revision}});
  EXPECT_EQ(heartbeat.value("isolation_revision", std::int64_t{-1}), revision) << heartbeat.dump();
  EXPECT_FALSE(heartbeat.contains("isolation")) << heartbeat.dump();

  // Every probe removed its sandbox; the agent said why edera-zone is quarantined.
  EXPECT_TRUE(probeSandboxes().empty());
  EXPECT_TRUE(listWorkloads()["items"].empty());
  EXPECT_NE(readFile(agent_log_).find("\"edera-zone\" is quarantined"), std::string::npos)
      << logTail(agent_log_, 40);
}

// The stack's gVisor handler verifies as what it claims, an application
// kernel, and the probe reports what the handler's --network=host gives
// away: the host kernel serves the workload's sockets.
TEST_F(Isolation, GvisorVerifiesAsAnApplicationKernel) {
  ASSERT_NO_FATAL_FAILURE(requireProbeImage());
  if (IsSkipped()) return;
  if (gvisor_handler_.empty()) {
    const char* why = "the stack has no gVisor handler (ZONEPLANE_GVISOR_HANDLER is empty)";
    if (envOrEmpty("ZONEPLANE_REQUIRE_STACK") == "1") FAIL() << why;
    GTEST_SKIP() << why;
  }
  // A class of its own: the fixture's "gvisor" flag carries no claim.
  const auto config = dir_ / "agent.toml";
  std::ofstream out(config);
  out << "[probe]\n"
      << "image = \"" << probe_image_ << "\"\n"
      << "timeout_seconds = 120\n"
      << "[runtime_classes.sandboxed]\n"
      << "endpoint = \"" << endpoint_ << "\"\n"
      << "handler = \"" << gvisor_handler_ << "\"\n"
      << "isolation = \"application-kernel\"\n";
  out.close();
  ASSERT_NO_FATAL_FAILURE(startAgent({"--config", config.string()}));
  auto prober = connect();
  auto reply = prober.call({{"type", "ProbeIsolation"}, {"runtime_class", "sandboxed"}}, 5min);
  ASSERT_TRUE(reply.has_value()) << reply.error().toString();
  const Json* gvisor = classOf(*reply, "sandboxed");
  ASSERT_NE(gvisor, nullptr) << reply->dump();
  EXPECT_EQ(gvisor->value("error", ""), "") << gvisor->dump();
  EXPECT_EQ(gvisor->value("claim", ""), "application-kernel") << gvisor->dump();
  EXPECT_EQ(gvisor->value("level", ""), "application-kernel") << gvisor->dump();
  EXPECT_FALSE(gvisor->value("quarantined", true)) << gvisor->dump();
  EXPECT_TRUE(hasFinding(*gvisor, "network-host-kernel")) << gvisor->dump();
  EXPECT_FALSE(hasFinding(*gvisor, "host-kernel-shared")) << gvisor->dump();
  EXPECT_TRUE(probeSandboxes().empty());
}

TEST_F(Isolation, AProbeSandboxLeftByACrashIsRemovedAtStart) {
  // A probe sandbox as a crashed agent leaves it: this node's labels, the
  // probe's, no workload's.
  const auto identity = agent::probeIdentity("native", image_, {}, "probe-" + randomHex(16));
  const auto logs = data_dir_ / "probes" / ("zoneplane-probe_" + identity.uid);
  std::filesystem::create_directories(logs);
  auto left = cri_->runPodSandbox(
      agent::sandboxConfig(identity, node_id_, logs.string(), agent::PodPlacement{}), "runc");
  ASSERT_TRUE(left.has_value()) << left.error().toString();
  ASSERT_EQ(probeSandboxes().size(), 1u);

  ASSERT_NO_FATAL_FAILURE(startAgent());  // no probe image: nothing new is probed
  EXPECT_TRUE(probeSandboxes().empty());
  EXPECT_FALSE(std::filesystem::exists(logs));
  EXPECT_TRUE(listWorkloads()["items"].empty());
  // Without an image every class is unverified, and says why.
  const auto node = call({{"type", "NodeInfo"}});
  const Json* native = classOf(node, "native");
  ASSERT_NE(native, nullptr) << node.dump();
  EXPECT_EQ(native->value("level", ""), "unverified");
  EXPECT_NE(native->value("error", "").find("no probe image"), std::string::npos) << node.dump();
}

}  // namespace
}  // namespace zp::agent_it
