// POST /workloads, GET /workloads/{id}, DELETE /workloads/{id} against a real
// server, fake agents and a real SqliteStore.

#include "server_fixture.h"

namespace zp::server::testing {
namespace {

using api::WorkloadState;

TEST_F(ServerFixture, CreateReturns201WithLocationAndPending) {
  auto res = create(spec("web-1"));
  EXPECT_EQ(res.header("location"), "/workloads/web-1");
  EXPECT_EQ(res.header("content-type"), "application/json");
  EXPECT_EQ(res.json["spec"]["id"], "web-1");
  EXPECT_EQ(res.json["spec"]["image"], "busybox:1.36");
  EXPECT_EQ(res.json["status"]["state"], "Pending");
  EXPECT_EQ(res.json["status"]["node"], "node-1");  // more free memory than node-2
  EXPECT_TRUE(res.json["status"].contains("created_at"));
  // Stored, and delivered to the agent.
  EXPECT_EQ(stored("web-1").node, "node-1");
  EXPECT_TRUE(node1_->workload("web-1"));
  EXPECT_EQ(node1_->count("StartWorkload"), 1);
}

TEST_F(ServerFixture, CreateGeneratesIdAndAppliesDefaults) {
  auto res = create(R"({"image":"busybox","runtime_class":"native"})");
  const std::string id = res.json["spec"]["id"];
  ASSERT_EQ(id.size(), 13u);
  EXPECT_EQ(id.substr(0, 3), "wl-");
  for (char c : id.substr(3)) EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) << id;
  EXPECT_EQ(res.json["spec"]["memory_mb"], api::kDefaultMemoryMb);
  EXPECT_EQ(res.json["spec"]["cpu_millicores"], api::kDefaultCpuMillicores);
  EXPECT_EQ(res.header("location"), "/workloads/" + id);
  EXPECT_EQ(stored(id).spec.memory_mb, api::kDefaultMemoryMb);
}

TEST_F(ServerFixture, MalformedJsonIs400) {
  auto res = server_->post("/workloads", R"({"image": )");
  EXPECT_EQ(res.status, 400u);
  EXPECT_EQ(res.json["error"]["code"], "InvalidArgument");
  EXPECT_NE(res.json["error"]["message"].get<std::string>().find("malformed JSON"),
            std::string::npos);
  EXPECT_EQ(server_->post("/workloads", "").status, 400u);
}

// Shape errors (unknown field, wrong type, not an object) are 400; bad values 422.
TEST_F(ServerFixture, UnknownFieldAndWrongTypeAre400WithField) {
  auto unknown =
      server_->post("/workloads", R"({"image":"busybox","runtime_class":"native","replicas":3})");
  EXPECT_EQ(unknown.status, 400u);
  EXPECT_EQ(unknown.json["error"]["field"], "replicas");
  auto type = server_->post("/workloads",
                            R"({"image":"busybox","runtime_class":"native","memory_mb":"lots"})");
  EXPECT_EQ(type.status, 400u);
  EXPECT_EQ(type.json["error"]["field"], "memory_mb");
  EXPECT_EQ(server_->post("/workloads", "[1,2]").status, 400u);
}

TEST_F(ServerFixture, InvalidValuesAre422WithField) {
  auto bad_id = server_->post("/workloads", spec("Bad_Id"));
  EXPECT_EQ(bad_id.status, 422u);
  EXPECT_EQ(bad_id.json["error"]["code"], "InvalidArgument");
  EXPECT_EQ(bad_id.json["error"]["field"], "id");
  auto bad_image =
      server_->post("/workloads", R"({"image":"UPPER/Case","runtime_class":"native"})");
  EXPECT_EQ(bad_image.status, 422u);
  EXPECT_EQ(bad_image.json["error"]["field"], "image");
  auto bad_memory = server_->post("/workloads", spec("small", "native", 1));
  EXPECT_EQ(bad_memory.status, 422u);
  EXPECT_EQ(bad_memory.json["error"]["field"], "memory_mb");
  auto missing_image = server_->post("/workloads", R"({"runtime_class":"native"})");
  EXPECT_EQ(missing_image.status, 422u);
  EXPECT_EQ(missing_image.json["error"]["field"], "image");
}

TEST_F(ServerFixture, UnknownClassIs422ListingTheClassesOnOffer) {
  auto res = server_->post("/workloads", spec("web-1", "gvisor"));
  EXPECT_EQ(res.status, 422u);
  EXPECT_EQ(res.json["error"]["field"], "runtime_class");
  const std::string message = res.json["error"]["message"];
  EXPECT_NE(message.find("edera-zone, native"), std::string::npos) << message;
  EXPECT_FALSE(store_->get("web-1"));
}

TEST_F(ServerFixture, DuplicateIdIs409) {
  create(spec("web-1"));
  auto res = server_->post("/workloads", spec("web-1"));
  EXPECT_EQ(res.status, 409u);
  EXPECT_EQ(res.json["error"]["code"], "AlreadyExists");
  EXPECT_EQ(node1_->count("StartWorkload") + node2_->count("StartWorkload"), 1);
}

TEST_F(ServerFixture, NoCapacityIs503Unschedulable) {
  // node-2 is the only edera-zone node: 1024 MB.
  create(spec("zone-1", "edera-zone", 1000));
  auto res = server_->post("/workloads", spec("zone-2", "edera-zone", 512));
  EXPECT_EQ(res.status, 503u);
  EXPECT_EQ(res.json["error"]["code"], "ResourceExhausted");
  EXPECT_EQ(res.json["error"]["reason"], "Unschedulable");
  const std::string message = res.json["error"]["message"];
  EXPECT_NE(message.find("node \"node-2\" has 24 MB"), std::string::npos) << message;
  EXPECT_FALSE(store_->get("zone-2"));
}

TEST_F(ServerFixture, CapacityIsFreedByTerminalWorkloads) {
  create(spec("zone-1", "edera-zone", 1000));
  node2_->setState("zone-1", WorkloadState::kSucceeded, "Completed", 0);
  EXPECT_EQ(server_->get("/workloads/zone-1").json["status"]["state"], "Succeeded");
  create(spec("zone-2", "edera-zone", 512));
}

TEST_F(ServerFixture, CreateWithAgentDownStaysPendingAndIsStored) {
  node1_->setMode(FakeAgent::Mode::kDown);
  auto res = create(spec("web-1"));
  EXPECT_EQ(res.json["status"]["state"], "Pending");
  EXPECT_EQ(res.json["status"]["reason"], "Scheduled");
  EXPECT_EQ(stored("web-1").status.state, WorkloadState::kPending);
  // The reconciler delivers it once the node is back and the backoff is over.
  node1_->setMode(FakeAgent::Mode::kNormal);
  auto reconcile = [&] {
    return server_->run<int>([&] { return server_->server().reconciler().reconcileOnce(); });
  };
  EXPECT_EQ(reconcile(), 0);
  EXPECT_FALSE(node1_->workload("web-1"));
  clock_.advance(BackoffOptions{}.initial);
  EXPECT_EQ(reconcile(), 1);
  EXPECT_TRUE(node1_->workload("web-1"));
}

TEST_F(ServerFixture, AgentRejectionMarksFailed) {
  node1_->failStarts(Error{Code::kInvalidArgument, "image not allowed here", "workload.image"});
  auto res = create(spec("web-1"));
  EXPECT_EQ(res.json["status"]["state"], "Failed");
  EXPECT_EQ(res.json["status"]["reason"], "DeliveryFailed");
  EXPECT_NE(res.json["status"]["message"].get<std::string>().find("image not allowed here"),
            std::string::npos);
}

TEST_F(ServerFixture, GetReportsTheAgentsStateAndStoresIt) {
  create(spec("web-1"));
  node1_->setState("web-1", WorkloadState::kRunning, "Started");
  auto res = server_->get("/workloads/web-1");
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.json["spec"]["id"], "web-1");
  EXPECT_EQ(res.json["status"]["state"], "Running");
  EXPECT_EQ(res.json["status"]["node"], "node-1");
  EXPECT_EQ(stored("web-1").status.state, WorkloadState::kRunning);
  EXPECT_EQ(node1_->count("GetStatus"), 1);

  node1_->setState("web-1", WorkloadState::kFailed, "Error", 3);
  auto failed = server_->get("/workloads/web-1");
  EXPECT_EQ(failed.json["status"]["state"], "Failed");
  EXPECT_EQ(failed.json["status"]["exit_code"], 3);
}

TEST_F(ServerFixture, GetWithAgentDownIsUnknownButKeepsTheLastKnownState) {
  create(spec("web-1"));
  node1_->setState("web-1", WorkloadState::kRunning, "Started");
  ASSERT_EQ(server_->get("/workloads/web-1").json["status"]["state"], "Running");
  node1_->setMode(FakeAgent::Mode::kDown);
  auto res = server_->get("/workloads/web-1");
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.json["status"]["state"], "Unknown");
  EXPECT_EQ(res.json["status"]["reason"], "NodeUnreachable");
  const std::string message = res.json["status"]["message"];
  EXPECT_NE(message.find("node-1"), std::string::npos) << message;
  EXPECT_NE(message.find("Running"), std::string::npos) << message;
  EXPECT_EQ(stored("web-1").status.state, WorkloadState::kRunning);
}

TEST_F(ServerFixture, GetResendsWhenTheAgentLostANonTerminalWorkload) {
  create(spec("web-1"));
  node1_->forget("web-1");
  auto res = server_->get("/workloads/web-1");
  EXPECT_EQ(res.json["status"]["state"], "Pending");
  EXPECT_EQ(node1_->count("StartWorkload"), 2);
  EXPECT_TRUE(node1_->workload("web-1"));
}

TEST_F(ServerFixture, GetKeepsATerminalStatusTheAgentForgot) {
  create(spec("job-1"));
  node1_->setState("job-1", WorkloadState::kSucceeded, "Completed", 0);
  ASSERT_EQ(server_->get("/workloads/job-1").json["status"]["state"], "Succeeded");
  node1_->forget("job-1");
  auto res = server_->get("/workloads/job-1");
  EXPECT_EQ(res.json["status"]["state"], "Succeeded");
  EXPECT_EQ(res.json["status"]["exit_code"], 0);
  EXPECT_EQ(node1_->count("StartWorkload"), 1);
}

TEST_F(ServerFixture, GetUnknownIdIs404) {
  auto res = server_->get("/workloads/nope");
  EXPECT_EQ(res.status, 404u);
  EXPECT_EQ(res.json["error"]["code"], "NotFound");
}

TEST_F(ServerFixture, DeleteRemovesOnTheAgentAndTheRecord) {
  create(spec("web-1"));
  auto res = server_->del("/workloads/web-1");
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.json["spec"]["id"], "web-1");
  EXPECT_TRUE(res.json.contains("status"));
  EXPECT_EQ(node1_->count("RemoveWorkload"), 1);
  EXPECT_FALSE(node1_->workload("web-1"));
  EXPECT_EQ(store_->get("web-1").error().code, Code::kNotFound);
  EXPECT_EQ(server_->get("/workloads/web-1").status, 404u);
  EXPECT_EQ(server_->del("/workloads/web-1").status, 404u);
}

TEST_F(ServerFixture, DeletePassesTheGracePeriodToTheAgent) {
  create(spec("web-1"));
  create(spec("web-2"));
  EXPECT_EQ(server_->del("/workloads/web-1?grace_seconds=3").status, 200u);
  EXPECT_EQ(node1_->lastGraceSeconds(), 3);
  EXPECT_EQ(server_->del("/workloads/web-2").status, 200u);
  EXPECT_EQ(node1_->lastGraceSeconds(), protocol::kDefaultStopTimeoutSeconds);
}

TEST_F(ServerFixture, DeleteRejectsABadGracePeriod) {
  create(spec("web-1"));
  for (const char* bad : {"-1", "x", "301", "1.5", ""}) {
    auto res = server_->del(std::string("/workloads/web-1?grace_seconds=") + bad);
    EXPECT_EQ(res.status / 100, 4u) << bad;
    EXPECT_EQ(res.json["error"]["field"], "grace_seconds") << bad;
  }
  EXPECT_EQ(server_->del("/workloads/web-1?force=1").status, 400u);
  EXPECT_TRUE(store_->get("web-1"));
}

TEST_F(ServerFixture, DeleteWithAgentDownIs503AndKeepsTheRecord) {
  create(spec("web-1"));
  node1_->setMode(FakeAgent::Mode::kDown);
  auto res = server_->del("/workloads/web-1");
  EXPECT_EQ(res.status, 503u);
  EXPECT_EQ(res.json["error"]["code"], "Unavailable");
  EXPECT_TRUE(store_->get("web-1"));
  EXPECT_TRUE(node1_->workload("web-1"));
  node1_->setMode(FakeAgent::Mode::kNormal);
  EXPECT_EQ(server_->del("/workloads/web-1").status, 200u);
}

TEST_F(ServerFixture, DeleteWhenTheAgentNoLongerHasItStillDeletes) {
  create(spec("web-1"));
  node1_->forget("web-1");
  EXPECT_EQ(server_->del("/workloads/web-1").status, 200u);
  EXPECT_FALSE(store_->get("web-1"));
}

TEST_F(ServerFixture, ReconcilerDoesNotResurrectDeletedWorkloads) {
  create(spec("web-1"));
  node1_->forget("web-1");
  ASSERT_EQ(server_->del("/workloads/web-1").status, 200u);
  EXPECT_EQ(server_->run<int>([&] { return server_->server().reconciler().reconcileOnce(); }), 0);
  EXPECT_FALSE(node1_->workload("web-1"));
}

}  // namespace
}  // namespace zp::server::testing
