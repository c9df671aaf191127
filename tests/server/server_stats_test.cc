// GET /stats (docs/architecture.md §7): the server's backlogs as scripts/soak
// samples them, rising with the load and back to zero without it.

#include <future>
#include <string>

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

// One call in flight per agent connection, so a second call waits for the slot.
class StatsLinkTest : public ServerFixture {
 protected:
  void configure() override { options_.registry.link.max_in_flight = 1; }

  json node(const std::string& id) {
    const json stats = server_->get("/stats").json;
    const json* entry = nodeEntry(stats, id);
    return entry != nullptr ? *entry : json{};
  }
};

// The agent link's counters, driven above zero and back: a call held by the
// agent is in flight, the next one waits for the slot, a log follow is an
// open stream, and after a restart the agent's own count arrives with Hello.
TEST_F(StatsLinkTest, StatsCountTheCallsAndLogStreamsOnEachAgentLink) {
  for (const char* id : {"w-log", "w-del-1", "w-del-2"}) create(spec(id));
  ASSERT_TRUE(eventually([&] {
    return node2_->workload("w-log") && node2_->workload("w-del-1") &&
           node2_->workload("w-del-2");
  }));
  node2_->setLog("w-log", {{"2026-01-02T03:04:05.000000001Z", "stdout", "hello", false}});
  auto follow_stream = server_->stream("/workloads/w-log/logs?follow=true");
  StreamingRequest& follow = *follow_stream;
  ASSERT_EQ(follow.status(), 200u);
  EXPECT_EQ(follow.readLine(), "hello");

  node2_->holdSlowCalls(true);
  // Declared before the futures: a failed ASSERT below releases the held
  // calls first, so the futures' destructors do not wait out the call timeout.
  struct ReleaseOnExit {
    FakeAgent& agent;
    ~ReleaseOnExit() { agent.releaseSlowCalls(); }
  } release_on_exit{*node2_};
  auto first = std::async(std::launch::async, [&] { return server_->del("/workloads/w-del-1"); });
  ASSERT_TRUE(eventually([&] { return node2_->heldSlowCalls() == 1; }));
  auto second = std::async(std::launch::async, [&] { return server_->del("/workloads/w-del-2"); });
  json busy;
  EXPECT_TRUE(eventually([&] {
    busy = node("node-2");
    return busy["calls_waiting"] == 1;
  })) << busy.dump();
  EXPECT_EQ(busy["calls_in_flight"], 1) << busy.dump();
  EXPECT_EQ(busy["log_streams"], 1) << busy.dump();
  EXPECT_EQ(busy["workloads_placed"], 3) << busy.dump();
  EXPECT_EQ(node2_->heldSlowCalls(), 1);  // the second never reached the agent
  const json idle = node("node-1");
  EXPECT_EQ(idle["calls_in_flight"], 0) << idle.dump();
  EXPECT_EQ(idle["calls_waiting"], 0) << idle.dump();
  EXPECT_EQ(idle["log_streams"], 0) << idle.dump();

  node2_->releaseSlowCalls();
  EXPECT_EQ(first.get().status, 200u);
  EXPECT_EQ(second.get().status, 200u);
  node2_->setState("w-log", api::WorkloadState::kSucceeded, "Completed");
  node2_->endLogs("w-log");
  EXPECT_EQ(follow.readLine(), std::nullopt);
  json after;
  EXPECT_TRUE(eventually([&] {
    after = node("node-2");
    return after["calls_in_flight"] == 0 && after["calls_waiting"] == 0 &&
           after["log_streams"] == 0 && after["workloads_placed"] == 0;  // w-log ended
  })) << after.dump();

  // What the agent itself reports: its count as its Hello answer says.
  restartServer();
  json hello;
  EXPECT_TRUE(eventually([&] {
    hello = node("node-2");
    return hello["agent_workloads"] == 1;
  })) << hello.dump();
  EXPECT_EQ(node("node-1")["agent_workloads"], 0);
}

}  // namespace
}  // namespace zp::server::testing
