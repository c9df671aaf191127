// The assembled Server, nodes side: membership through the API and its
// persistence, cordon and drain, removal with workloads, node loss with
// rescheduling and fencing, and the trust levels on offer
// (docs/architecture.md §7, §8.2, §8.3, §8.6).

#include <algorithm>

#include "server_fixture.h"

namespace zp::server::testing {
namespace {

using api::WorkloadState;
using nlohmann::json;

bool contains(const std::vector<FakeAgent::Copy>& copies, const FakeAgent::Copy& copy) {
  return std::find(copies.begin(), copies.end(), copy) != copies.end();
}

std::string nodeJson(const std::string& id, const std::string& address) {
  return json{{"id", id}, {"address", address}}.dump();
}

TEST_F(ServerFixture, NodeAddedByTheApiAndItsCordonPersistAcrossRestarts) {
  auto agent3 = makeAgent("node-3", {"native"}, {2048, 2000});
  FakeAgent& node3 = *agent3;
  auto added = server_->post("/nodes", nodeJson("node-3", node3.address()));
  ASSERT_EQ(added.status, 201u) << added.body;
  EXPECT_EQ(added.header("location"), "/nodes/node-3");
  EXPECT_EQ(added.json["address"], node3.address());
  ASSERT_TRUE(waitNodeState("node-3", NodeState::kReady));
  auto view = server_->get("/nodes/node-3").json;
  EXPECT_EQ(view["state"], "Ready");
  EXPECT_EQ(view["capacity"]["memory_mb"], 2048);
  EXPECT_EQ(view["runtime_classes"], json::array({"native"}));
  EXPECT_EQ(view["version"], "fake");

  auto again = server_->post("/nodes", nodeJson("node-3", node3.address()));
  EXPECT_EQ(again.status, 409u);
  EXPECT_EQ(again.json["error"]["code"], "AlreadyExists");
  EXPECT_EQ(server_->post("/nodes", nodeJson("Node_3", node3.address())).status, 422u);
  EXPECT_EQ(server_->post("/nodes", nodeJson("node-4", "127.0.0.1:0")).status, 422u);
  EXPECT_EQ(server_->post("/nodes", R"({"id":"node-4","address":"127.0.0.1:1","x":1})").status,
            400u);

  auto cordoned = server_->post("/nodes/node-3/cordon");
  ASSERT_EQ(cordoned.status, 200u) << cordoned.body;
  EXPECT_EQ(cordoned.json["schedulable"], false);

  restartServer();  // the configuration names node-1 and node-2 only
  ASSERT_TRUE(waitNodeState("node-3", NodeState::kReady));
  auto stored = server_->get("/nodes/node-3").json;
  EXPECT_EQ(stored["address"], node3.address());
  EXPECT_EQ(stored["schedulable"], false);
  auto all = server_->get("/nodes").json["items"];
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2]["id"], "node-3");
  // Cordoned: a workload binpack would give node-3 goes to node-1.
  EXPECT_EQ(server_->post("/workloads", spec("big-1", "native", 1500)).json["status"]["node"],
            "node-1");

  ASSERT_EQ(server_->post("/nodes/node-3/uncordon").status, 200u);
  restartServer();
  ASSERT_TRUE(waitNodeState("node-3", NodeState::kReady));
  EXPECT_EQ(server_->get("/nodes/node-3").json["schedulable"], true);
  EXPECT_EQ(server_->post("/workloads", spec("big-2", "native", 1500)).json["status"]["node"],
            "node-3");
  stopServer();  // before node3 goes away
}

TEST_F(ServerFixture, RemovingANodeWithWorkloadsNeedsForceWhichTreatsThemAsLost) {
  auto keep = create(spec("keep-1", "native", 128, "OnFailure"));
  auto job = create(spec("job-1", "native", 128, "Never"));
  ASSERT_EQ(keep.json["status"]["node"], "node-2");
  ASSERT_EQ(job.json["status"]["node"], "node-2");
  const std::string keep_uid = keep.json["status"]["uid"];
  const std::string job_uid = job.json["status"]["uid"];
  ASSERT_TRUE(eventually([&] { return node2_->workload("keep-1") && node2_->workload("job-1"); }));

  auto refused = server_->del("/nodes/node-2");
  EXPECT_EQ(refused.status, 409u);
  EXPECT_EQ(refused.json["error"]["code"], "FailedPrecondition");
  EXPECT_NE(refused.json["error"]["message"].get<std::string>().find("2 workload(s)"),
            std::string::npos)
      << refused.body;
  EXPECT_EQ(server_->get("/nodes/node-2").status, 200u);
  EXPECT_EQ(server_->del("/nodes/node-2?force=maybe").status, 400u);

  auto forced = server_->del("/nodes/node-2?force=true");
  ASSERT_EQ(forced.status, 200u) << forced.body;
  EXPECT_EQ(forced.json["id"], "node-2");
  EXPECT_EQ(server_->get("/nodes/node-2").status, 404u);

  auto moved = waitWorkload("keep-1", [](const json& j) { return placedOn(j, "node-1"); });
  const std::string new_uid = moved["status"]["uid"];
  EXPECT_NE(new_uid, keep_uid);
  EXPECT_TRUE(eventually([&] { return agentUid(*node1_, "keep-1") == new_uid; }));
  auto lost = waitState("job-1", "Failed");
  EXPECT_EQ(lost["status"]["reason"], "NodeLost");
  EXPECT_TRUE(node2_->removals().empty());  // a removed node is not asked

  // The node added back is told to drop both old copies.
  ASSERT_EQ(server_->post("/nodes", nodeJson("node-2", node2_->address())).status, 201u);
  ASSERT_TRUE(waitNodeState("node-2", NodeState::kReady));
  EXPECT_TRUE(
      eventually([&] { return !node2_->workload("keep-1") && !node2_->workload("job-1"); }));
  EXPECT_TRUE(contains(node2_->removals(), {"keep-1", keep_uid}));
  EXPECT_TRUE(contains(node2_->removals(), {"job-1", job_uid}));
  EXPECT_EQ(agentUid(*node1_, "keep-1"), new_uid);
  EXPECT_EQ(server_->get("/nodes/node-2").json["workloads"], 0);
  EXPECT_EQ(server_->get("/nodes/node-1").json["workloads"], 1);
  EXPECT_EQ(server_->del("/workloads/job-1").status, 200u);
}

TEST_F(ServerFixture, DrainMovesRestartableWorkloadsAndEndsTheOthers) {
  auto keep = create(spec("keep-1", "native", 128, "Always"));
  auto job = create(spec("job-1", "native", 128, "Never"));
  ASSERT_EQ(keep.json["status"]["node"], "node-2");
  ASSERT_EQ(job.json["status"]["node"], "node-2");
  ASSERT_TRUE(eventually([&] { return node2_->workload("keep-1") && node2_->workload("job-1"); }));

  auto drained = server_->post("/nodes/node-2/drain");
  ASSERT_EQ(drained.status, 200u) << drained.body;
  EXPECT_EQ(drained.json["schedulable"], false);
  EXPECT_EQ(drained.json["workloads"], 0);
  EXPECT_TRUE(contains(node2_->removals(), {"keep-1", keep.json["status"]["uid"]}));
  EXPECT_TRUE(contains(node2_->removals(), {"job-1", job.json["status"]["uid"]}));
  EXPECT_FALSE(node2_->workload("keep-1"));
  EXPECT_FALSE(node2_->workload("job-1"));

  auto moved = server_->get("/workloads/keep-1").json;
  EXPECT_EQ(moved["status"]["node"], "node-1");
  const std::string uid = moved["status"]["uid"];
  EXPECT_TRUE(eventually([&] { return agentUid(*node1_, "keep-1") == uid; }));
  auto ended = server_->get("/workloads/job-1").json;
  EXPECT_EQ(ended["status"]["state"], "Failed");
  EXPECT_EQ(ended["status"]["reason"], "Drained");
  // Cordoned: new workloads go elsewhere.
  EXPECT_EQ(create(spec("web-1")).json["status"]["node"], "node-1");
}

TEST_F(FastLifecycleFixture, SilentNodeIsNotReadyThenLostItsWorkloadsMoveAndItsCopiesAreFenced) {
  auto keep = create(spec("keep-1", "native", 128, "OnFailure"));
  auto job = create(spec("job-1", "native", 128, "Never"));
  ASSERT_EQ(keep.json["status"]["node"], "node-2");
  ASSERT_EQ(job.json["status"]["node"], "node-2");
  const std::string keep_uid = keep.json["status"]["uid"];
  const std::string job_uid = job.json["status"]["uid"];
  ASSERT_TRUE(eventually([&] { return node2_->workload("keep-1") && node2_->workload("job-1"); }));
  node2_->setState("keep-1", WorkloadState::kRunning, "Started");
  node2_->setState("job-1", WorkloadState::kRunning, "Started");
  waitState("keep-1", "Running");
  waitState("job-1", "Running");

  node2_->setMode(FakeAgent::Mode::kSilent);
  // NotReady: its workloads show Unknown with the last known state.
  auto unknown = waitWorkload("keep-1", [](const json& j) {
    return j["status"]["state"] == "Unknown" || j["status"]["node"] != "node-2";
  });
  EXPECT_EQ(unknown["status"]["state"], "Unknown");
  EXPECT_EQ(unknown["status"]["reason"], "NodeUnreachable");
  EXPECT_NE(unknown["status"]["message"].get<std::string>().find("last known state Running"),
            std::string::npos)
      << unknown.dump();

  ASSERT_TRUE(waitNodeState("node-2", NodeState::kLost));
  auto moved = waitWorkload("keep-1", [](const json& j) { return placedOn(j, "node-1"); });
  const std::string new_uid = moved["status"]["uid"];
  EXPECT_NE(new_uid, keep_uid);
  EXPECT_TRUE(eventually([&] { return agentUid(*node1_, "keep-1") == new_uid; }));
  auto lost = waitState("job-1", "Failed");
  EXPECT_EQ(lost["status"]["reason"], "NodeLost");
  EXPECT_EQ(lost["status"]["node"], "node-2");
  auto lost_node = server_->get("/nodes/node-2").json;
  EXPECT_EQ(lost_node["state"], "Lost");
  EXPECT_EQ(lost_node["workloads"], 0);
  EXPECT_EQ(lost_node["allocated"]["memory_mb"], 0);
  EXPECT_EQ(server_->get("/nodes/node-1").json["allocated"]["memory_mb"], 128);

  // Back: its old copies are fenced by uid, nothing is started there.
  node2_->setMode(FakeAgent::Mode::kNormal);
  ASSERT_TRUE(waitNodeState("node-2", NodeState::kReady));
  EXPECT_TRUE(
      eventually([&] { return !node2_->workload("keep-1") && !node2_->workload("job-1"); }));
  EXPECT_TRUE(contains(node2_->removals(), {"keep-1", keep_uid}));
  EXPECT_TRUE(contains(node2_->removals(), {"job-1", job_uid}));
  EXPECT_EQ(node2_->starts().size(), 2u);
  EXPECT_EQ(agentUid(*node1_, "keep-1"), new_uid);
  EXPECT_EQ(server_->get("/workloads/keep-1").json["status"]["node"], "node-1");
  EXPECT_EQ(server_->get("/workloads/job-1").json["status"]["reason"], "NodeLost");
}

TEST_F(ServerFixture, SubmissionsBeforeTheNodesConnectWaitForThemOrNeedConfiguredClasses) {
  stopServer();
  node1_->stop();
  node2_->stop();
  startServer(/*wait_ready=*/false);
  EXPECT_TRUE(eventually(
      [&] { return server_->get("/nodes/node-1").json["reason"] == "ConnectionRefused"; }));
  // No node has said which classes it offers: nothing could ever take it.
  auto refused = server_->post("/workloads", spec("early-1"));
  EXPECT_EQ(refused.status, 422u) << refused.body;
  EXPECT_EQ(refused.json["error"]["field"], "runtime_class");

  stopServer();
  options_.nodes[0].runtime_classes = {"native"};
  startServer(/*wait_ready=*/false);
  auto waiting = create(spec("early-1"));
  EXPECT_EQ(waiting.json["status"]["reason"], "Unschedulable");
  EXPECT_EQ(waiting.json["status"]["message"], "0/2 nodes available: 2 not ready");
  node1_->restart();
  auto placed = waitWorkload("early-1", [](const json& j) { return placedOn(j, "node-1"); });
  const std::string uid = placed["status"]["uid"];
  EXPECT_TRUE(eventually([&] { return agentUid(*node1_, "early-1") == uid; }));
  node2_->restart();
  EXPECT_TRUE(waitNodeState("node-2", NodeState::kReady));
}

TEST_F(ServerFixture, AReconnectResyncsMissedStatusesAndFencesStrayCopies) {
  auto web = create(spec("web-1"));
  ASSERT_EQ(web.json["status"]["node"], "node-2");
  ASSERT_TRUE(eventually([&] { return node2_->workload("web-1").has_value(); }));
  // Changes the server does not hear of while the connection is down.
  node2_->setAutoPush(false);
  node2_->setState("web-1", WorkloadState::kRunning, "Started");
  api::WorkloadStatus stray;
  stray.id = "stray-1";
  stray.uid = "u-stray";
  stray.node = "node-2";
  stray.state = WorkloadState::kRunning;
  node2_->put(stray);
  node2_->setAutoPush(true);
  EXPECT_EQ(server_->get("/workloads/web-1").json["status"]["state"], "Pending");

  node2_->dropConnections();
  auto running = waitState("web-1", "Running");
  EXPECT_EQ(running["status"]["uid"], web.json["status"]["uid"]);
  EXPECT_TRUE(eventually([&] { return !node2_->workload("stray-1"); }));
  EXPECT_TRUE(contains(node2_->removals(), {"stray-1", "u-stray"}));
  EXPECT_FALSE(contains(node2_->removals(), {"web-1", web.json["status"]["uid"]}));
  EXPECT_EQ(server_->get("/workloads/stray-1").status, 404u);
  EXPECT_TRUE(waitNodeState("node-2", NodeState::kReady));
}

TEST_F(ServerFixture, WhileANodeIsDownItsWorkloadsAreUnknownAndCannotBeDeleted) {
  auto web = create(spec("web-1"));
  ASSERT_EQ(web.json["status"]["node"], "node-2");
  ASSERT_TRUE(eventually([&] { return node2_->workload("web-1").has_value(); }));
  node2_->setState("web-1", WorkloadState::kRunning, "Started");
  waitState("web-1", "Running");

  node2_->stop();  // connections close, new ones are refused
  ASSERT_TRUE(waitNodeState("node-2", NodeState::kNotReady));
  auto down = server_->get("/nodes/node-2").json;
  EXPECT_TRUE(down["reason"] == "ConnectionLost" || down["reason"] == "ConnectionRefused")
      << down.dump();
  auto unknown = server_->get("/workloads/web-1").json;
  EXPECT_EQ(unknown["status"]["state"], "Unknown");
  EXPECT_EQ(unknown["status"]["reason"], "NodeUnreachable");
  EXPECT_NE(unknown["status"]["message"].get<std::string>().find("last known state Running"),
            std::string::npos);
  EXPECT_EQ(server_->get("/workloads?state=Unknown").json["items"].size(), 1u);
  auto refused = server_->del("/workloads/web-1");
  EXPECT_EQ(refused.status, 503u) << refused.body;
  EXPECT_EQ(refused.json["error"]["code"], "Unavailable");
  // The deletion is recorded and finished once the node answers.
  auto terminating = server_->get("/workloads/web-1");
  EXPECT_EQ(terminating.status, 200u);
  EXPECT_EQ(terminating.json["status"]["reason"], "Terminating") << terminating.body;
  // New work goes to the Ready node.
  EXPECT_EQ(create(spec("web-2")).json["status"]["node"], "node-1");

  node2_->restart();
  ASSERT_TRUE(waitNodeState("node-2", NodeState::kReady));
  EXPECT_TRUE(eventually([&] { return server_->get("/workloads/web-1").status == 404u; }));
  EXPECT_TRUE(eventually([&] { return !node2_->workload("web-1"); }));
}

TEST_F(FastLifecycleFixture, AWorkloadOnlyItsLostNodeCanRunWaitsAndReturnsThereWithANewUid) {
  auto zone = create(spec("zone-1", "edera-zone", 300, "OnFailure"));
  ASSERT_EQ(zone.json["status"]["node"], "node-2");  // the only edera-zone node
  const std::string old_uid = zone.json["status"]["uid"];
  ASSERT_TRUE(eventually([&] { return agentUid(*node2_, "zone-1") == old_uid; }));

  node2_->setMode(FakeAgent::Mode::kSilent);
  ASSERT_TRUE(waitNodeState("node-2", NodeState::kLost));
  auto waiting = waitWorkload(
      "zone-1", [](const json& j) { return j["status"]["reason"] == "Unschedulable"; });
  EXPECT_EQ(waiting["status"]["node"], "");
  const std::string message = waiting["status"]["message"];
  EXPECT_NE(message.find("node \"node-2\" was lost"), std::string::npos) << message;
  EXPECT_NE(message.find("1 not ready, 1 class not offered"), std::string::npos) << message;

  // Back: the old copy is fenced first, then the new placement is delivered.
  node2_->setMode(FakeAgent::Mode::kNormal);
  auto placed = waitWorkload("zone-1", [](const json& j) { return placedOn(j, "node-2"); });
  const std::string new_uid = placed["status"]["uid"];
  EXPECT_NE(new_uid, old_uid);
  EXPECT_TRUE(eventually([&] { return agentUid(*node2_, "zone-1") == new_uid; }));
  EXPECT_TRUE(contains(node2_->removals(), {"zone-1", old_uid}));
  EXPECT_EQ(node2_->starts().back(), (FakeAgent::Copy{"zone-1", new_uid}));
}

json level(const json& levels, const std::string& name) {
  for (const auto& item : levels["items"]) {
    if (item["name"] == name) return item;
  }
  return json();
}

// node-2 verifies its edera-zone as the hypervisor it claims to be; native
// is not verified anywhere.
class VerifiedZoneFixture : public ServerFixture {
 protected:
  void configure() override {
    api::ClassIsolation zone;
    zone.runtime_class = "edera-zone";
    zone.claim = api::IsolationLevel::kHypervisor;
    zone.level = api::IsolationLevel::kHypervisor;
    zone.score = 100;
    node2_->setIsolation({zone});
  }
};

TEST_F(VerifiedZoneFixture, TrustLevelsOfferWhatTheNodesRun) {
  // node-4 offers gvisor and kata, which untrusted workloads may use, but
  // verified neither: gvisor is quarantined (below its claim), kata
  // unverified. Neither is available to a level that requires isolation.
  auto agent4 = makeAgent("node-4", {"gvisor", "kata"}, {8192, 8000});
  FakeAgent& node4 = *agent4;
  api::ClassIsolation quarantined;
  quarantined.runtime_class = "gvisor";
  quarantined.claim = api::IsolationLevel::kApplicationKernel;
  quarantined.level = api::IsolationLevel::kSharedKernel;
  quarantined.score = 40;
  api::ClassIsolation unverified;
  unverified.runtime_class = "kata";
  node4.setIsolation({quarantined, unverified});
  ASSERT_EQ(server_->post("/nodes", nodeJson("node-4", node4.address())).status, 201u);
  ASSERT_TRUE(waitNodeState("node-4", NodeState::kReady));
  ASSERT_TRUE(eventually(
      [&] { return server_->get("/nodes/node-4").json["isolation"].size() == 2; }));

  auto res = server_->get("/trust-levels");
  ASSERT_EQ(res.status, 200u);
  EXPECT_EQ(res.json["default_trust"], "internal");
  EXPECT_EQ(level(res.json, "untrusted")["min_isolation"], "application-kernel");
  EXPECT_EQ(level(res.json, "internal")["min_isolation"], "any");
  EXPECT_EQ(level(res.json, "untrusted")["available"], json::array({"edera-zone"}));
  EXPECT_EQ(level(res.json, "multi_tenant")["available"], json::array({"edera-zone"}));
  EXPECT_EQ(level(res.json, "internal")["available"],
            json::array({"edera-zone", "gvisor", "kata", "native"}));

  // Without node-2's zone: queued rather than refused while node-4 offers
  // gvisor and kata, placed nowhere.
  ASSERT_EQ(server_->del("/nodes/node-2").status, 200u);
  auto waiting =
      server_->post("/workloads", R"({"id":"u-0","image":"busybox:1.36","trust":"untrusted"})");
  ASSERT_EQ(waiting.status, 201u) << waiting.body;
  EXPECT_EQ(waiting.json["status"]["reason"], "Unschedulable");
  EXPECT_EQ(waiting.json["status"]["message"],
            "0/2 nodes available: 1 class not offered, 1 class not verified (gvisor: "
            "shared-kernel, quarantined; kata: unverified; below application-kernel)");
  ASSERT_EQ(server_->del("/workloads/u-0").status, 200u);
  ASSERT_EQ(server_->del("/nodes/node-4").status, 200u);
  auto without = server_->get("/trust-levels").json;
  EXPECT_EQ(level(without, "untrusted")["available"], json::array());
  EXPECT_EQ(level(without, "internal")["available"], json::array({"native"}));
  // An untrusted workload has nowhere to go: refused, not queued.
  auto refused =
      server_->post("/workloads", R"({"id":"u-1","image":"busybox:1.36","trust":"untrusted"})");
  EXPECT_EQ(refused.status, 422u) << refused.body;

  auto agent3 = makeAgent("node-3", {"gvisor"}, {2048, 2000});
  FakeAgent& node3 = *agent3;
  api::ClassIsolation gvisor;
  gvisor.runtime_class = "gvisor";
  gvisor.level = api::IsolationLevel::kApplicationKernel;
  gvisor.score = 70;
  node3.setIsolation({gvisor});
  ASSERT_EQ(server_->post("/nodes", nodeJson("node-3", node3.address())).status, 201u);
  ASSERT_TRUE(waitNodeState("node-3", NodeState::kReady));
  auto with = server_->get("/trust-levels").json;
  EXPECT_EQ(level(with, "untrusted")["available"], json::array({"gvisor"}));
  auto placed = create(R"({"id":"u-1","image":"busybox:1.36","trust":"untrusted"})");
  EXPECT_EQ(placed.json["spec"]["runtime_class"], "gvisor");
  EXPECT_EQ(placed.json["status"]["node"], "node-3");
  stopServer();  // before node3 goes away
}

// --insecure-plaintext: agents over plain TCP, on loopback only.
class PlaintextFixture : public ServerFixture {
 protected:
  bool secure() const override { return false; }
};

TEST_F(PlaintextFixture, AddingANonLoopbackNodeIsRefusedWithoutTls) {
  EXPECT_EQ(server_->get("/nodes/node-1").json["state"], "Ready");
  for (const char* address : {"10.0.0.9:9000", "agent.example.com:9000", "0.0.0.0:9000"}) {
    auto refused = server_->post("/nodes", nodeJson("node-9", address));
    EXPECT_EQ(refused.status, 422u) << address << ": " << refused.body;
    EXPECT_EQ(refused.json["error"]["field"], "address") << refused.body;
    EXPECT_NE(refused.json["error"]["message"].get<std::string>().find("--insecure-plaintext"),
              std::string::npos)
        << refused.body;
  }
  EXPECT_EQ(server_->get("/nodes/node-9").status, 404u);
  auto agent3 = makeAgent("node-3", {"native"}, {2048, 2000});
  ASSERT_EQ(server_->post("/nodes", nodeJson("node-3", agent3->address())).status, 201u);
  EXPECT_TRUE(waitNodeState("node-3", NodeState::kReady));
  stopServer();  // before agent3 goes away
}

TEST_F(ServerFixture, AnAgentWithAnotherNodesCertificateStaysNotReady) {
  // node-4's agent presents node-5's (valid) certificate.
  FakeAgent impostor("node-4", {"native"}, {2048, 2000}, tls_->agent("node-5"));
  ASSERT_EQ(server_->post("/nodes", nodeJson("node-4", impostor.address())).status, 201u);
  ASSERT_TRUE(eventually([&] {
    auto node = server_->get("/nodes/node-4").json;
    return node["reason"] == "TlsIdentity";
  }));
  auto node = server_->get("/nodes/node-4").json;
  EXPECT_EQ(node["state"], "NotReady");
  EXPECT_NE(node["message"].get<std::string>().find("node/node-5"), std::string::npos)
      << node.dump();
  EXPECT_EQ(impostor.count("Hello"), 0);
  // Nothing is placed there.
  ASSERT_EQ(server_->post("/nodes/node-1/cordon").status, 200u);
  ASSERT_EQ(server_->post("/nodes/node-2/cordon").status, 200u);
  auto queued = create(spec("tls-1"));
  EXPECT_EQ(queued.json["status"]["node"], "");
  EXPECT_EQ(impostor.count("StartWorkload"), 0);
  stopServer();  // before the impostor goes away
}

}  // namespace
}  // namespace zp::server::testing
