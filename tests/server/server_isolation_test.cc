// The assembled Server and verified isolation (docs/architecture.md §10.3):
// untrusted workloads wait for a verified class with the reason in their
// status, node views and GET /nodes/{id}/isolation, POST /nodes/{id}/probe
// against a fake agent, the workload's isolation line, and the audit
// entries of quarantine changes.

#include <algorithm>
#include <future>

#include "server_fixture.h"

namespace zp::server::testing {
namespace {

using api::IsolationLevel;
using nlohmann::json;
using namespace std::chrono_literals;

// node-2 claims its edera-zone is a hypervisor, but the probe saw the host's
// kernel: quarantined. node-1 (native) has no verification at all.
class ServerIsolationTest : public ServerFixture {
 protected:
  void configure() override {
    node2_->setIsolation({zone(IsolationLevel::kSharedKernel)});
    // Every quarantine change audited at once (the rate limit has its own
    // test in node_registry_isolation_test.cc).
    options_.registry.quarantine_audit_interval = 0ms;
  }

  api::ClassIsolation zone(IsolationLevel level) const {
    api::ClassIsolation c;
    c.runtime_class = "edera-zone";
    c.claim = IsolationLevel::kHypervisor;
    c.level = level;
    c.score = level == IsolationLevel::kHypervisor ? 100 : 15;
    c.verified_at = fake_clock_.now() - 120s;
    c.probe_version = "0.1.0";
    if (level != IsolationLevel::kHypervisor) {
      c.findings = {{"claim-not-met", api::Severity::kHigh, "boot id equal to the host's",
                     "run edera-zone with the Edera runtime"}};
    }
    return c;
  }
  // GET /audit: "principal action target result" for entries of `action`.
  std::vector<std::string> audited(const std::string& action) {
    std::vector<std::string> out;
    const json items = server_->get("/audit").json["items"];
    for (const auto& e : items) {
      if (e["action"] != action) continue;
      out.push_back(e["principal"].get<std::string>() + " " + e["target"].get<std::string>() + " " +
                    std::to_string(e["result"].get<int>()));
    }
    return out;
  }
};

TEST_F(ServerIsolationTest, AnUntrustedWorkloadWaitsForAVerifiedClassAndSaysWhy) {
  auto created = create(R"({"id":"u-1","image":"busybox:1.36","trust":"untrusted"})");
  const json& status = created.json["status"];
  EXPECT_EQ(status["state"], "Pending");
  EXPECT_EQ(status["reason"], "Unschedulable");
  EXPECT_EQ(status["message"],
            "0/2 nodes available: 1 class not offered, 1 class not verified (edera-zone: "
            "shared-kernel, quarantined; below application-kernel)");
  EXPECT_FALSE(status.contains("isolation"));
  EXPECT_EQ(node2_->starts().size(), 0u);

  // The zone verifies as claimed: the next heartbeat brings the list and the
  // queue places the workload.
  node2_->setIsolation({zone(IsolationLevel::kHypervisor)});
  auto placed = waitWorkload("u-1", [](const json& j) { return placedOn(j, "node-2"); });
  EXPECT_EQ(placed["spec"]["runtime_class"], "edera-zone");
  EXPECT_EQ(placed["status"]["isolation"],
            (json{{"level", "hypervisor"},
                  {"score", 100},
                  {"verified_at", formatRfc3339(fake_clock_.now() - 120s)},
                  {"quarantined", false}}));
  auto listed = server_->get("/workloads").json["items"];
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["status"]["isolation"], placed["status"]["isolation"]);

  // The status shows the verification now, not at placement: quarantined
  // again, the workload keeps running (it is not evicted) and says so.
  node2_->setIsolation({zone(IsolationLevel::kApplicationKernel)});
  auto shown = waitWorkload("u-1", [](const json& j) {
    return j["status"].contains("isolation") && j["status"]["isolation"]["quarantined"] == true;
  });
  EXPECT_EQ(shown["status"]["isolation"]["level"], "application-kernel");
  EXPECT_EQ(shown["status"]["node"], "node-2");
}

TEST_F(ServerIsolationTest, AQuarantinedClassStillServesInternalWorkloads) {
  auto created = create(spec("int-1", "edera-zone"));  // the fixture's default trust: internal
  EXPECT_EQ(created.json["status"]["node"], "node-2");
  EXPECT_EQ(created.json["status"]["message"],
            "scheduled to node \"node-2\" (class edera-zone: shared-kernel, score 15)");
  EXPECT_EQ(created.json["status"]["isolation"]["quarantined"], true);
  // An unverified class is shown as such.
  auto native = create(spec("int-2", "native", 64));
  EXPECT_EQ(native.json["status"]["isolation"],
            (json{{"level", "unverified"}, {"score", 0}, {"quarantined", false}}));
  EXPECT_NE(native.json["status"]["message"].get<std::string>().find("(class native: unverified)"),
            std::string::npos)
      << native.json.dump();
}

TEST_F(ServerIsolationTest, NodeViewsAndTheIsolationRoute) {
  auto node = server_->get("/nodes/node-2");
  ASSERT_EQ(node.status, 200u) << node.body;
  ASSERT_EQ(node.json["isolation"].size(), 1u);
  const json item = node.json["isolation"][0];
  EXPECT_EQ(item["runtime_class"], "edera-zone");
  EXPECT_EQ(item["claim"], "hypervisor");
  EXPECT_EQ(item["level"], "shared-kernel");
  EXPECT_EQ(item["quarantined"], true);
  EXPECT_EQ(item["age_seconds"], 120);
  EXPECT_EQ(item["findings"][0]["id"], "claim-not-met");
  EXPECT_EQ(server_->get("/nodes/node-1").json["isolation"], json::array());

  auto isolation = server_->get("/nodes/node-2/isolation");
  ASSERT_EQ(isolation.status, 200u) << isolation.body;
  EXPECT_EQ(isolation.json, (json{{"node", "node-2"}, {"classes", node.json["isolation"]}}));
  fake_clock_.advance(30s);
  EXPECT_EQ(server_->get("/nodes/node-2/isolation").json["classes"][0]["age_seconds"], 150);
  EXPECT_EQ(server_->get("/nodes/node-1/isolation").json,
            (json{{"node", "node-1"}, {"classes", json::array()}}));
  EXPECT_EQ(server_->get("/nodes/node-9/isolation").status, 404u);
  EXPECT_EQ(server_->get("/nodes/node-2/isolation?verbose=1").status, 400u);
  EXPECT_EQ(server_->head("/nodes/node-2/isolation").status, 200u);
}

TEST_F(ServerIsolationTest, AProbeAnswersOnceTheNodeHasProbed) {
  node2_->setProbeResult({zone(IsolationLevel::kHypervisor)});
  auto probed = server_->post("/nodes/node-2/probe?runtime_class=edera-zone");
  ASSERT_EQ(probed.status, 200u) << probed.body;
  EXPECT_EQ(probed.json["node"], "node-2");
  ASSERT_EQ(probed.json["classes"].size(), 1u);
  EXPECT_EQ(probed.json["classes"][0]["level"], "hypervisor");
  EXPECT_EQ(probed.json["classes"][0]["quarantined"], false);
  EXPECT_EQ(node2_->probes(), std::vector<std::string>{"edera-zone"});
  // Applied at once: the GET answers the same.
  EXPECT_EQ(server_->get("/nodes/node-2/isolation").json, probed.json);
  ASSERT_EQ(server_->post("/nodes/node-2/probe", "{}").status, 200u);  // every class
  EXPECT_EQ(node2_->probes().back(), "");

  auto unknown_class = server_->post("/nodes/node-2/probe?runtime_class=kata");
  EXPECT_EQ(unknown_class.status, 404u) << unknown_class.body;
  EXPECT_EQ(server_->post("/nodes/node-9/probe").status, 404u);
  auto unknown_parameter = server_->post("/nodes/node-2/probe?class=kata");
  EXPECT_EQ(unknown_parameter.status, 400u);
  EXPECT_EQ(unknown_parameter.json["error"]["field"], "class");
  auto bad_name = server_->post("/nodes/node-2/probe?runtime_class=Not_A_Class");
  EXPECT_EQ(bad_name.status, 422u);
  EXPECT_EQ(bad_name.json["error"]["field"], "runtime_class");
  EXPECT_EQ(server_->post("/nodes/node-2/probe", R"({"runtime_class":"kata"})").status, 400u);
  EXPECT_EQ(node2_->probes().size(), 3u);  // the refused ones never reached the node

  node1_->stop();
  ASSERT_TRUE(waitNodeState("node-1", NodeState::kNotReady));
  auto unreachable = server_->post("/nodes/node-1/probe");
  EXPECT_EQ(unreachable.status, 503u) << unreachable.body;

  // Probes are audited like every POST; the quarantine and its release too.
  const auto probes = audited("POST /nodes/{id}/probe");
  ASSERT_GE(probes.size(), 3u);
  EXPECT_TRUE(probes[0].starts_with("test-admin-")) << probes[0];
  EXPECT_TRUE(probes[0].ends_with(" node-2 200")) << probes[0];
  EXPECT_EQ(
      audited("isolation.quarantined"),
      std::vector<std::string>{"node:node-2 edera-zone (shared-kernel, claim hypervisor) 200"});
  EXPECT_EQ(audited("isolation.released"),
            std::vector<std::string>{"node:node-2 edera-zone (hypervisor, claim hypervisor) 200"});
}


TEST_F(ServerIsolationTest, AProbeOfANodeRemovedMeanwhileOrOfAnAgentThatDoesNotProbe) {
  node1_->setVerifies(false);
  auto unimplemented = server_->post("/nodes/node-1/probe");
  EXPECT_EQ(unimplemented.status, 501u) << unimplemented.body;
  EXPECT_EQ(unimplemented.json["error"]["code"], "Unimplemented");

  node2_->holdSlowCalls(true);
  auto probing = std::async(std::launch::async, [&] { return server_->post("/nodes/node-2/probe"); });
  ASSERT_TRUE(eventually([&] { return node2_->heldSlowCalls() == 1; }));
  ASSERT_EQ(server_->del("/nodes/node-2?force=true").status, 200u);
  auto gone = probing.get();
  EXPECT_EQ(gone.status, 404u) << gone.body;
  EXPECT_EQ(gone.json["error"]["code"], "NotFound");
}

TEST_F(ServerIsolationTest, WatchersSeeAVerificationChange) {
  create(spec("int-1", "edera-zone"));
  ASSERT_TRUE(eventually([&] { return node2_->workload("int-1").has_value(); }));
  auto stream = server_->stream("/workloads?watch=true&id=int-1");
  StreamingRequest& watch = *stream;
  ASSERT_EQ(watch.status(), 200u);
  auto added = json::parse(watch.readLine().value_or("{}"));
  EXPECT_EQ(added["type"], "ADDED");
  // Verified as claimed: no status of the workload changes, its isolation does.
  node2_->setIsolation({zone(IsolationLevel::kHypervisor)});
  std::optional<json> seen;
  while (auto line = watch.readLine()) {
    auto event = json::parse(*line);
    ASSERT_EQ(event["type"], "MODIFIED") << *line;
    if (event["workload"]["status"]["isolation"]["quarantined"] == false) {
      seen = event;
      break;
    }
  }
  ASSERT_TRUE(seen) << "no MODIFIED event showed the new verification";
  EXPECT_EQ((*seen)["workload"]["status"]["isolation"]["level"], "hypervisor");
  watch.close();
}

// POST /nodes/{id}/probe with a deadline far shorter than the default.
class ShortProbeDeadlineTest : public ServerIsolationTest {
 protected:
  void configure() override {
    ServerIsolationTest::configure();
    options_.registry.probe_timeout = 300ms;
  }
};

TEST_F(ShortProbeDeadlineTest, AProbeThatOutlastsItsDeadlineIs504) {
  node2_->holdSlowCalls(true);
  auto late = server_->post("/nodes/node-2/probe?runtime_class=edera-zone");
  EXPECT_EQ(late.status, 504u) << late.body;
  EXPECT_EQ(late.json["error"]["code"], "DeadlineExceeded");
  node2_->releaseSlowCalls();
}

}  // namespace
}  // namespace zp::server::testing
