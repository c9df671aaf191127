#include "server/nodes/node_registry.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "node_registry_fixture.h"
#include "server/async_event.h"

namespace zp::server {
namespace {

namespace asio = boost::asio;
using testing::FakeAgent;
using testing::FakeClock;
using testing::FakeMonotonicClock;
using testing::runTask;
using testing::runUntil;
using namespace std::chrono_literals;

using testing::kStart;
using testing::NodeRegistryTest;

api::WorkloadStatus status(std::string id, std::string node) {
  api::WorkloadStatus s;
  s.id = std::move(id);
  s.uid = "u-" + s.id;
  s.node = std::move(node);
  s.state = api::WorkloadState::kRunning;
  return s;
}

TEST_F(NodeRegistryTest, MembershipIsTheStoreAndTheFileAndTheFileWinsForAddresses) {
  ASSERT_TRUE(store.apply({store::PutNode{{"node-b", "10.0.0.2:9000", false, kStart}},
                           store::PutNode{{"node-a", "10.0.0.1:1", true, kStart}}}));
  make(
      {{"node-c", "10.0.0.3:9000", {"native", "gvisor"}}, {"node-a", "10.0.0.1:9000", {"native"}}});
  auto nodes = registry->nodes();
  ASSERT_EQ(nodes.size(), 3u);
  EXPECT_EQ(nodes[0].id, "node-a");
  EXPECT_EQ(nodes[1].id, "node-b");
  EXPECT_EQ(nodes[2].id, "node-c");
  EXPECT_EQ(nodes[0].address, "10.0.0.1:9000");  // the file's
  EXPECT_FALSE(nodes[0].schedulable);            // the stored cordon stays
  EXPECT_EQ(nodes[0].runtime_classes, std::vector<std::string>{"native"});
  EXPECT_EQ(nodes[2].runtime_classes, (std::vector<std::string>{"gvisor", "native"}));
  EXPECT_TRUE(nodes[1].runtime_classes.empty());
  for (const auto& node : nodes) {
    EXPECT_EQ(node.state, NodeState::kNotReady);
    EXPECT_EQ(node.reason, node_reason::kConnecting);
    EXPECT_EQ(node.capacity, api::Resources{});
    EXPECT_FALSE(node.last_heartbeat);
  }
  EXPECT_EQ(store.applies(), 1);  // loading writes nothing
}

TEST_F(NodeRegistryTest, AddCordonUncordonRemoveArePersisted) {
  make();
  auto added = runTask(io, registry->add("node-a", "127.0.0.1:9000"));
  ASSERT_TRUE(added) << added.error().toString();
  EXPECT_EQ(added->id, "node-a");
  EXPECT_EQ(added->state, NodeState::kNotReady);
  EXPECT_TRUE(added->schedulable);
  auto stored = storedNodes();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].address, "127.0.0.1:9000");
  EXPECT_FALSE(stored[0].cordoned);
  EXPECT_EQ(stored[0].added_at, kStart);

  auto cordoned = runTask(io, registry->cordon("node-a"));
  ASSERT_TRUE(cordoned);
  EXPECT_FALSE(cordoned->schedulable);
  EXPECT_TRUE(storedNodes()[0].cordoned);
  const int applies = store.applies();
  ASSERT_TRUE(runTask(io, registry->cordon("node-a")));  // already: nothing to write
  EXPECT_EQ(store.applies(), applies);

  // A restarted server finds the node, cordoned.
  {
    NodeRegistry reloaded(io.get_executor(), commits, clock, options(), monotonic);
    ASSERT_TRUE(reloaded.load(storedNodes(), {}));
    auto node = reloaded.node("node-a");
    ASSERT_TRUE(node);
    EXPECT_FALSE(node->schedulable);
    EXPECT_EQ(node->address, "127.0.0.1:9000");
  }

  auto uncordoned = runTask(io, registry->uncordon("node-a"));
  ASSERT_TRUE(uncordoned);
  EXPECT_TRUE(uncordoned->schedulable);
  EXPECT_FALSE(storedNodes()[0].cordoned);

  auto removed = runTask(io, registry->remove("node-a", false));
  ASSERT_TRUE(removed) << removed.error().toString();
  EXPECT_EQ(removed->id, "node-a");
  EXPECT_TRUE(storedNodes().empty());
  EXPECT_FALSE(registry->node("node-a"));
  EXPECT_EQ(listener.events,
            (std::vector<std::string>{"changed:node-a:NotReady", "changed:node-a:NotReady:cordoned",
                                      "changed:node-a:NotReady", "removed:node-a"}));

  auto unknown = runTask(io, registry->cordon("node-a"));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Code::kNotFound);
  auto gone = runTask(io, registry->remove("node-a", true));
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, Code::kNotFound);
}

TEST_F(NodeRegistryTest, AddValidatesAndReportsCommitFailures) {
  make();
  const auto refused = [&](std::string id, std::string address) {
    auto r = runTask(io, registry->add(std::move(id), std::move(address)));
    return r ? std::string("added") : std::string(codeName(r.error().code)) + ":" + r.error().field;
  };
  EXPECT_EQ(refused("", "127.0.0.1:9000"), "InvalidArgument:id");
  EXPECT_EQ(refused("Node_A", "127.0.0.1:9000"), "InvalidArgument:id");
  EXPECT_EQ(refused(std::string(64, 'a'), "127.0.0.1:9000"), "InvalidArgument:id");
  EXPECT_EQ(refused("node-a", ""), "InvalidArgument:address");
  EXPECT_EQ(refused("node-a", "127.0.0.1"), "InvalidArgument:address");
  EXPECT_EQ(refused("node-a", "127.0.0.1:0"), "InvalidArgument:address");
  EXPECT_EQ(refused("node-a", "127.0.0.1:70000"), "InvalidArgument:address");
  EXPECT_EQ(store.applies(), 0);

  store.failNextApplies(1);
  EXPECT_EQ(refused("node-a", "127.0.0.1:9000"), "Unavailable:");
  EXPECT_FALSE(registry->node("node-a"));
  EXPECT_EQ(refused("node-a", "127.0.0.1:9000"), "added");
  EXPECT_EQ(refused("node-a", "127.0.0.1:9001"), "AlreadyExists:id");
  EXPECT_EQ(view("node-a").address, "127.0.0.1:9000");

  // A failed cordon changes nothing.
  store.failNextApplies(1);
  auto cordon = runTask(io, registry->cordon("node-a"));
  ASSERT_FALSE(cordon);
  EXPECT_EQ(cordon.error().code, Code::kUnavailable);
  EXPECT_TRUE(view("node-a").schedulable);
}

TEST_F(NodeRegistryTest, RemoveIsRefusedWhileWorkloadsArePlacedUnlessForced) {
  make({{"node-a", "127.0.0.1:9000", {}}});
  registry->allocate("node-a", {256, 250});
  auto refused = runTask(io, registry->remove("node-a", false));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::kFailedPrecondition);
  EXPECT_NE(refused.error().message.find("1 workload"), std::string::npos)
      << refused.error().message;
  EXPECT_TRUE(registry->node("node-a"));
  store.failNextApplies(1);
  auto failed = runTask(io, registry->remove("node-a", true));
  ASSERT_FALSE(failed);
  EXPECT_TRUE(view("node-a").schedulable);  // back after the failed commit
  auto forced = runTask(io, registry->remove("node-a", true));
  ASSERT_TRUE(forced) << forced.error().toString();
  EXPECT_EQ(forced->workloads, 1);
  EXPECT_FALSE(registry->node("node-a"));
  EXPECT_EQ(listener.events, std::vector<std::string>{"removed:node-a"});
  // The service releases what it had counted: nothing to do for a gone node.
  registry->release("node-a", {256, 250});
}

TEST_F(NodeRegistryTest, AllocateAndReleaseKeepRunningCounts) {
  FakeAgent agent("node-a", {"native"}, {4096, 4000});
  make({{"node-a", agent.address(), {}}});
  registry->start();
  ASSERT_TRUE(waitFor("changed:node-a:Ready"));
  registry->allocate("node-a", {512, 500});
  registry->allocate("node-a", {1024, 250});
  registry->allocate("node-x", {1, 1});  // unknown: ignored
  auto node = view("node-a");
  EXPECT_EQ(node.workloads, 2);
  EXPECT_EQ(node.allocated, (api::Resources{1536, 750}));
  EXPECT_EQ(node.capacity, (api::Resources{4096, 4000}));
  EXPECT_EQ(node.allocatable(), (api::Resources{2560, 3250}));
  registry->release("node-a", {512, 500});
  node = view("node-a");
  EXPECT_EQ(node.workloads, 1);
  EXPECT_EQ(node.allocated, (api::Resources{1024, 250}));
  registry->release("node-a", {1024, 250});
  registry->release("node-a", {1024, 250});  // one too many: stays at zero
  node = view("node-a");
  EXPECT_EQ(node.workloads, 0);
  EXPECT_EQ(node.allocated, api::Resources{});
}

TEST_F(NodeRegistryTest, ReadyOnlyAfterTheResyncThenPushesFlow) {
  FakeAgent agent("node-a", {"native", "edera-zone"}, {4096, 4000});
  agent.put(status("wl-1", "node-a"));
  agent.put(status("wl-2", "node-a"));
  make({{"node-a", agent.address(), {}}});
  registry->start();
  ASSERT_TRUE(waitFor("changed:node-a:Ready"));
  EXPECT_EQ(listener.events,
            (std::vector<std::string>{"resync:node-a:2:NotReady", "changed:node-a:Ready"}));
  auto node = view("node-a");
  EXPECT_EQ(node.state, NodeState::kReady);
  EXPECT_EQ(node.reason, "");
  EXPECT_EQ(node.runtime_classes, (std::vector<std::string>{"edera-zone", "native"}));
  EXPECT_EQ(node.version, "fake");
  EXPECT_EQ(node.last_heartbeat, kStart);

  agent.setState("wl-1", api::WorkloadState::kSucceeded, "Completed", 0);
  ASSERT_TRUE(waitFor("status:node-a:wl-1:Succeeded"));

  // Calls go through the node's link; an unknown node is unavailable.
  auto reply = runTask(io, registry->call("node-a", protocol::GetStatus{"wl-2"}, 5s));
  ASSERT_TRUE(reply) << reply.error().toString();
  EXPECT_EQ(std::get<api::WorkloadStatus>(*reply).id, "wl-2");
  auto unknown = runTask(io, registry->call("node-x", protocol::NodeInfo{}, 5s));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Code::kUnavailable);
  auto logs =
      runTask(io, registry->openLogs("node-x", protocol::Logs{"wl-2", std::nullopt, false, false}));
  ASSERT_FALSE(logs);
  EXPECT_EQ(logs.error().code, Code::kUnavailable);
}

TEST_F(NodeRegistryTest, ASilentNodeIsNotReadyWithinFiveSecondsAndLostAfterThirty) {
  FakeAgent agent("node-a", {"native"}, {4096, 4000});
  make({{"node-a", agent.address(), {}}});
  registry->start();
  ASSERT_TRUE(waitFor("changed:node-a:Ready"));
  for (int i = 0; i < 3; ++i) heartbeat("node-a");

  agent.setMode(FakeAgent::Mode::kSilent);
  const MonotonicTime silent_since = monotonic.now();
  while (view("node-a").state == NodeState::kReady) {
    advance(200ms);
    registry->tick(monotonic.now());
    io.poll();
    ASSERT_LT(monotonic.now() - silent_since, 10s);
  }
  EXPECT_LE(monotonic.now() - silent_since, 5s);
  auto node = view("node-a");
  EXPECT_EQ(node.state, NodeState::kNotReady);
  EXPECT_EQ(node.reason, node_reason::kNoHeartbeat);
  EXPECT_EQ(listener.countOf("changed:node-a:NotReady"), 1);

  const MonotonicTime not_ready_since = monotonic.now();
  advance(29s);
  registry->tick(monotonic.now());
  EXPECT_EQ(view("node-a").state, NodeState::kNotReady);
  advance(1s);
  registry->tick(monotonic.now());
  EXPECT_EQ(view("node-a").state, NodeState::kLost);
  EXPECT_EQ(monotonic.now() - not_ready_since, 30s);
  EXPECT_EQ(listener.countOf("changed:node-a:Lost"), 1);

  // It answers again: a new Hello and a resync (seen as Lost) make it Ready.
  agent.setMode(FakeAgent::Mode::kNormal);
  ASSERT_TRUE(waitFor("changed:node-a:Ready", 2));
  EXPECT_EQ(listener.countOf("resync:node-a:0:Lost"), 1);
  EXPECT_GE(agent.count("Hello"), 2);
}

TEST_F(NodeRegistryTest, ALostConnectionIsNotReadyAtOnceAndHealsWithAResync) {
  FakeAgent agent("node-a", {"native"}, {4096, 4000});
  make({{"node-a", agent.address(), {}}});
  registry->start();
  ASSERT_TRUE(waitFor("changed:node-a:Ready"));
  agent.stop();
  ASSERT_TRUE(waitFor("changed:node-a:NotReady"));
  EXPECT_EQ(view("node-a").reason, node_reason::kConnectionLost);
  ASSERT_TRUE(
      runUntil(io, [&] { return view("node-a").reason == node_reason::kConnectionRefused; }));
  EXPECT_EQ(view("node-a").state, NodeState::kNotReady);
  agent.put(status("wl-9", "node-a"));
  agent.restart();
  ASSERT_TRUE(waitFor("changed:node-a:Ready", 2));
  EXPECT_EQ(listener.countOf("resync:node-a:1:NotReady"), 1);
}

TEST_F(NodeRegistryTest, AnAgentOfAnotherNodeIsNeverReady) {
  FakeAgent agent("node-x", {"native"}, {4096, 4000});
  make({{"node-a", agent.address(), {}}});
  registry->start();
  ASSERT_TRUE(runUntil(io, [&] { return view("node-a").reason == node_reason::kNodeIdMismatch; }));
  auto node = view("node-a");
  EXPECT_EQ(node.state, NodeState::kNotReady);
  EXPECT_NE(node.message.find("node-x"), std::string::npos) << node.message;
  EXPECT_EQ(agent.count("ListWorkloads"), 0);
  EXPECT_TRUE(listener.events.empty());
}

TEST_F(NodeRegistryTest, AddedNodesConnectAndRemovedOnesDisconnect) {
  FakeAgent agent("node-a", {"native"}, {4096, 4000});
  make();
  registry->start();
  auto added = runTask(io, registry->add("node-a", agent.address()));
  ASSERT_TRUE(added) << added.error().toString();
  ASSERT_TRUE(waitFor("changed:node-a:Ready"));
  EXPECT_EQ(listener.events,
            (std::vector<std::string>{"changed:node-a:NotReady", "resync:node-a:0:NotReady",
                                      "changed:node-a:Ready"}));
  registry->allocate("node-a", {128, 100});
  auto removed = runTask(io, registry->remove("node-a", true));
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->state, NodeState::kReady);
  EXPECT_EQ(listener.events.back(), "removed:node-a");
  EXPECT_TRUE(runUntil(io, [&] { return agent.connections() == 0; }));
  auto call = runTask(io, registry->call("node-a", protocol::NodeInfo{}, 1s));
  ASSERT_FALSE(call);
  EXPECT_EQ(call.error().code, Code::kUnavailable);
}

TEST_F(NodeRegistryTest, HeartbeatsUpdateCapacityAndTheLastHeartbeat) {
  FakeAgent agent("node-a", {"native"}, {4096, 4000});
  make({{"node-a", agent.address(), {"configured"}}});
  EXPECT_EQ(view("node-a").runtime_classes, std::vector<std::string>{"configured"});
  registry->start();
  ASSERT_TRUE(waitFor("changed:node-a:Ready"));
  EXPECT_EQ(view("node-a").runtime_classes, std::vector<std::string>{"native"});
  const int before = agent.count("NodeInfo");
  heartbeat("node-a");
  heartbeat("node-a");
  EXPECT_EQ(agent.count("NodeInfo"), before + 2);
  EXPECT_EQ(view("node-a").last_heartbeat, kStart + 2s);
  EXPECT_EQ(view("node-a").state, NodeState::kReady);
}

// Liveness runs on the monotonic clock: steps of the wall clock (NTP, a VM
// resumed) neither make nodes NotReady or Lost nor stop the heartbeats.
TEST_F(NodeRegistryTest, WallClockStepsChangeNoNodesState) {
  FakeAgent agent("node-a", {"native"}, {4096, 4000});
  auto o = options();
  o.tick_interval = 5ms;  // the registry's own timer loop ticks
  make({{"node-a", agent.address(), {}}}, o);
  registry->start();
  ASSERT_TRUE(waitFor("changed:node-a:Ready"));
  ASSERT_TRUE(runUntil(io, [&] { return agent.count("NodeInfo") >= 1; }));  // the first one
  for (const auto step : {std::chrono::milliseconds(1h), std::chrono::milliseconds(-2h)}) {
    clock.advance(step);
    const int before = agent.count("NodeInfo");
    monotonic.advance(1s);  // one heartbeat is due: the loop has ticked once it is sent
    ASSERT_TRUE(runUntil(io, [&] {
      return agent.count("NodeInfo") > before && view("node-a").last_heartbeat == clock.now();
    }));
    EXPECT_EQ(view("node-a").state, NodeState::kReady);
  }
  EXPECT_EQ(listener.countOf("changed:node-a:NotReady"), 0);
  EXPECT_EQ(listener.countOf("changed:node-a:Lost"), 0);
}

// A node whose resync takes long (fences waiting on slow removals) is not
// Lost while its heartbeats are answered: it stays NotReady/Resyncing until
// onResync returns (§8.2).
TEST_F(NodeRegistryTest, AResyncingNodeThatAnswersIsNotLost) {
  FakeAgent agent("node-a", {"native"}, {4096, 4000});
  make({{"node-a", agent.address(), {}}});
  registry->start();
  ASSERT_TRUE(waitFor("changed:node-a:Ready"));
  AsyncEvent released_event(io.get_executor());
  bool released = false;
  bool resync_waits = false;
  listener.during_resync = [&]() -> asio::awaitable<void> {
    resync_waits = true;
    while (!released) co_await released_event.wait();
    resync_waits = false;
  };
  agent.dropConnections();
  ASSERT_TRUE(waitFor("changed:node-a:NotReady"));
  ASSERT_TRUE(runUntil(io, [&] { return resync_waits; }));
  EXPECT_EQ(view("node-a").reason, node_reason::kResyncing);
  // A minute of resync, the node answering every heartbeat.
  for (int i = 0; i < 60; ++i) {
    ASSERT_NO_FATAL_FAILURE(heartbeat("node-a"));
    auto node = view("node-a");
    ASSERT_EQ(node.state, NodeState::kNotReady) << i;
    EXPECT_EQ(node.reason, node_reason::kResyncing);
  }
  EXPECT_EQ(listener.countOf("changed:node-a:Lost"), 0);
  released = true;
  released_event.notify();
  ASSERT_TRUE(waitFor("changed:node-a:Ready", 2));
  EXPECT_EQ(listener.countOf("changed:node-a:Lost"), 0);
  EXPECT_EQ(agent.count("Hello"), 2);
}

// A thousand nodes' heartbeat phases: each in [0, interval), the same for
// the same id, and spread over the interval (no tenth holds more than 15 %).
TEST(HeartbeatPhaseTest, PhasesAreStableAndSpreadOverTheInterval) {
  using std::chrono::milliseconds;
  std::vector<int> tenths(10, 0);
  for (int i = 0; i < 1000; ++i) {
    const std::string id = "sim-" + std::to_string(i);
    const milliseconds phase = heartbeatPhase(id, milliseconds(1000));
    ASSERT_GE(phase.count(), 0) << id;
    ASSERT_LT(phase.count(), 1000) << id;
    EXPECT_EQ(heartbeatPhase(id, milliseconds(1000)), phase);
    ++tenths[static_cast<std::size_t>(phase.count() / 100)];
  }
  for (int n : tenths) EXPECT_LE(n, 150);
  EXPECT_EQ(heartbeatPhase("node-a", milliseconds(0)), milliseconds(0));
}

}  // namespace
}  // namespace zp::server
