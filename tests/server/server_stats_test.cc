// GET /stats (docs/architecture.md §7): the server's backlogs as scripts/soak
// samples them, rising with the load and back to zero without it.

#include "server_fixture.h"

namespace zp::server::testing {
namespace {

using nlohmann::json;

const json* nodeEntry(const json& stats, const std::string& id) {
  for (const auto& node : stats["nodes"]) {
    if (node["id"] == id) return &node;
  }
  return nullptr;
}

TEST_F(ServerFixture, StatsShowEachBacklogAndItsReturnToZero) {
  auto stats = server_->get("/stats");
  ASSERT_EQ(stats.status, 200u) << stats.body;
  EXPECT_EQ(stats.json["watchers"], 0);
  EXPECT_GE(stats.json["http_connections"].get<int>(), 1);  // this request's
  EXPECT_TRUE(stats.json["commit_backlog"].is_number_unsigned());
  ASSERT_EQ(stats.json["nodes"].size(), 2u);
  EXPECT_EQ(stats.json["nodes"][0]["id"], "node-1");
  EXPECT_EQ(stats.json["nodes"][1]["id"], "node-2");
  for (const auto& node : stats.json["nodes"]) {
    EXPECT_EQ(node["calls_in_flight"], 0) << node.dump();
    EXPECT_EQ(node["calls_waiting"], 0) << node.dump();
    EXPECT_EQ(node["log_streams"], 0) << node.dump();
    EXPECT_EQ(node["workloads_placed"], 0) << node.dump();
  }

  // A watch is a watcher while it is open, and no longer once the client left.
  auto watch = server_->stream("/workloads?watch=true");
  ASSERT_EQ(watch->status(), 200u);
  EXPECT_TRUE(eventually([&] { return server_->get("/stats").json["watchers"] == 1; }));
  watch.reset();
  EXPECT_TRUE(eventually([&] { return server_->get("/stats").json["watchers"] == 0; }));

  // A workload counts on its node until it is deleted.
  create(spec("w-stats", "native", 128));
  json placed;
  EXPECT_TRUE(eventually([&] {
    placed = server_->get("/stats").json;
    const json* a = nodeEntry(placed, "node-1");
    const json* b = nodeEntry(placed, "node-2");
    return a && b && (*a)["workloads_placed"].get<int>() + (*b)["workloads_placed"].get<int>() == 1;
  })) << placed.dump();
  ASSERT_EQ(server_->del("/workloads/w-stats").status, 200u);
  EXPECT_TRUE(eventually([&] {
    placed = server_->get("/stats").json;
    return (*nodeEntry(placed, "node-1"))["workloads_placed"] == 0 &&
           (*nodeEntry(placed, "node-2"))["workloads_placed"] == 0;
  })) << placed.dump();

  EXPECT_EQ(server_->get("/stats?verbose=1").status, 400u);
}

}  // namespace
}  // namespace zp::server::testing
