// GET /workloads (filters, one ListWorkloads per node) and GET /nodes.

#include <set>

#include "server_fixture.h"

namespace zp::server::testing {
namespace {

using api::WorkloadState;

std::set<std::string> ids(const HttpResult& res) {
  std::set<std::string> out;
  for (const auto& item : res.json["items"]) out.insert(item["spec"]["id"].get<std::string>());
  return out;
}

class ListFixture : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    create(spec("web-1"));                 // node-1 (most free memory)
    create(spec("zone-1", "edera-zone"));  // node-2 (only edera-zone node)
    create(spec("web-2"));                 // node-1 again
    node1_->setState("web-1", WorkloadState::kRunning, "Started");
    node1_->resetCounts();
    node2_->resetCounts();
  }
};

TEST_F(ListFixture, ListsEverythingWithOneListWorkloadsPerNode) {
  auto res = server_->get("/workloads");
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(ids(res), (std::set<std::string>{"web-1", "web-2", "zone-1"}));
  EXPECT_EQ(node1_->count("ListWorkloads"), 1);
  EXPECT_EQ(node2_->count("ListWorkloads"), 1);
  EXPECT_EQ(node1_->count("GetStatus") + node2_->count("GetStatus"), 0);
  for (const auto& item : res.json["items"]) {
    if (item["spec"]["id"] == "web-1") {
      EXPECT_EQ(item["status"]["state"], "Running");
    }
  }
  EXPECT_EQ(stored("web-1").status.state, WorkloadState::kRunning);
}

TEST_F(ListFixture, Filters) {
  EXPECT_EQ(ids(server_->get("/workloads?node=node-2")), (std::set<std::string>{"zone-1"}));
  EXPECT_EQ(ids(server_->get("/workloads?runtime_class=native")),
            (std::set<std::string>{"web-1", "web-2"}));
  EXPECT_EQ(ids(server_->get("/workloads?state=Running")), (std::set<std::string>{"web-1"}));
  EXPECT_EQ(ids(server_->get("/workloads?state=Pending&node=node-1")),
            (std::set<std::string>{"web-2"}));
  EXPECT_TRUE(ids(server_->get("/workloads?node=node-9")).empty());
  // The node filter means the node is not asked at all.
  node1_->resetCounts();
  server_->get("/workloads?node=node-2");
  EXPECT_EQ(node1_->count("ListWorkloads"), 0);
}

TEST_F(ListFixture, BadFilters) {
  auto state = server_->get("/workloads?state=Sleeping");
  EXPECT_EQ(state.status, 422u);
  EXPECT_EQ(state.json["error"]["field"], "state");
  auto unknown = server_->get("/workloads?colour=blue");
  EXPECT_EQ(unknown.status, 400u);
  EXPECT_EQ(unknown.json["error"]["field"], "colour");
  EXPECT_EQ(server_->get("/workloads?state=%zz").status, 400u);
}

TEST_F(ListFixture, UnreachableNodeShowsUnknownAndKeepsStoredState) {
  ASSERT_EQ(server_->get("/workloads/web-1").json["status"]["state"], "Running");
  node1_->setMode(FakeAgent::Mode::kDown);
  auto res = server_->get("/workloads");
  EXPECT_EQ(res.status, 200u);
  for (const auto& item : res.json["items"]) {
    const std::string node = item["status"]["node"];
    EXPECT_EQ(item["status"]["state"], node == "node-1" ? "Unknown" : "Pending") << item.dump();
    if (node == "node-1") {
      EXPECT_EQ(item["status"]["reason"], "NodeUnreachable");
    }
  }
  EXPECT_EQ(ids(server_->get("/workloads?state=Unknown")),
            (std::set<std::string>{"web-1", "web-2"}));
  EXPECT_EQ(stored("web-1").status.state, WorkloadState::kRunning);
}

TEST_F(ListFixture, ReconcilerResendsOnlyWhatTheAgentLost) {
  node1_->forget("web-2");
  const int resent =
      server_->run<int>([&] { return server_->server().reconciler().reconcileOnce(); });
  EXPECT_EQ(resent, 1);
  EXPECT_EQ(node1_->count("StartWorkload"), 1);
  EXPECT_EQ(node2_->count("StartWorkload"), 0);
  EXPECT_TRUE(node1_->workload("web-2"));
}

TEST_F(ServerFixture, NodesReportCapacityAllocatableAndReachability) {
  create(spec("web-1", "native", 1000));
  node2_->setMode(FakeAgent::Mode::kDown);
  auto res = server_->get("/nodes");
  EXPECT_EQ(res.status, 200u);
  ASSERT_EQ(res.json["items"].size(), 2u);
  const auto& n1 = res.json["items"][0];
  EXPECT_EQ(n1["node_id"], "node-1");
  EXPECT_EQ(n1["address"], node1_->address());
  EXPECT_EQ(n1["reachable"], true);
  EXPECT_EQ(n1["capacity"]["memory_mb"], 4096);
  EXPECT_EQ(n1["allocatable"]["memory_mb"], 3096);
  EXPECT_EQ(n1["allocatable"]["cpu_millicores"], 4000 - api::kDefaultCpuMillicores);
  EXPECT_EQ(n1["runtime_classes"], nlohmann::json::array({"native"}));
  EXPECT_EQ(n1["workloads"], 1);
  EXPECT_FALSE(n1.contains("error"));
  const auto& n2 = res.json["items"][1];
  EXPECT_EQ(n2["node_id"], "node-2");
  EXPECT_EQ(n2["reachable"], false);
  EXPECT_FALSE(n2["error"].get<std::string>().empty());
  EXPECT_EQ(n2["capacity"]["memory_mb"], 1024);  // last known
}

TEST_F(ServerFixture, HealthzIsOk) {
  auto res = server_->get("/healthz");
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.json, nlohmann::json({{"status", "ok"}}));
}

}  // namespace
}  // namespace zp::server::testing
