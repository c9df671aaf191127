// NodeRegistry::probe (docs/architecture.md §10.3): one ProbeIsolation per
// (node, class) joined by later requests, at most two of a node's call slots
// for probes, the configured deadline, and the answers when the node goes
// away, the server stops, or the agent does not probe.

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <memory>
#include <optional>
#include <vector>

#include "node_registry_fixture.h"
#include "server/nodes/node_registry.h"

namespace zp::server {
namespace {

using api::IsolationLevel;
using testing::FakeAgent;
using testing::NodeRegistryTest;
using testing::runTask;
using testing::runUntil;
using namespace std::chrono_literals;

api::ClassIsolation probed(std::string cls, IsolationLevel level, int score) {
  api::ClassIsolation c;
  c.runtime_class = std::move(cls);
  c.level = level;
  c.score = score;
  c.probe_version = "0.1.0";
  return c;
}

class NodeProbeTest : public NodeRegistryTest {
 protected:
  void startOn(FakeAgent& agent, NodeRegistryOptions registry_options = options()) {
    make({{"node-a", agent.address(), {}}}, registry_options);
    registry->start();
    ASSERT_TRUE(waitFor("changed:node-a:Ready"));
  }
  // Starts a probe in the background; its answer lands in the returned slot.
  std::shared_ptr<std::optional<Result<NodeView>>> startProbe(std::string runtime_class) {
    auto out = std::make_shared<std::optional<Result<NodeView>>>();
    boost::asio::co_spawn(io, registry->probe("node-a", std::move(runtime_class)),
                          [out](std::exception_ptr, Result<NodeView> r) { *out = std::move(r); });
    return out;
  }
  static bool allDone(const std::vector<std::shared_ptr<std::optional<Result<NodeView>>>>& all) {
    return std::all_of(all.begin(), all.end(), [](const auto& r) { return r->has_value(); });
  }
};

TEST_F(NodeProbeTest, ConcurrentProbesJoinAndLeaveSlotsForWorkloadCalls) {
  FakeAgent agent("node-a", {"gvisor", "kata", "native"}, {4096, 4000});
  ASSERT_NO_FATAL_FAILURE(startOn(agent));
  agent.setProbeResult({probed("gvisor", IsolationLevel::kApplicationKernel, 70)});
  agent.holdSlowCalls(true);
  // More requests than the node has call slots (32): one probe per class,
  // "" (every class) apart, and a class request joins a probe of every class.
  std::vector<std::shared_ptr<std::optional<Result<NodeView>>>> gvisor, others;
  for (int i = 0; i < 40; ++i) gvisor.push_back(startProbe("gvisor"));
  for (const char* cls : {"kata", "native", "", "native", "kata", ""}) {
    others.push_back(startProbe(cls));
  }
  // A class the node does not offer joins nothing: the agent's NotFound.
  auto unknown = startProbe("edera-zone");
  ASSERT_TRUE(runUntil(io, [&] { return agent.heldSlowCalls() == 2; }));
  // Workload calls still have their slots.
  protocol::RequestBody status = protocol::GetStatus{"w-1"};
  auto answered = runTask(io, registry->call("node-a", std::move(status), 2s));
  ASSERT_FALSE(answered);
  EXPECT_EQ(answered.error().code, Code::kNotFound) << answered.error().toString();
  EXPECT_EQ(agent.heldSlowCalls(), 2);  // the other probes wait for a probe slot

  agent.releaseSlowCalls();
  ASSERT_TRUE(
      runUntil(io, [&] { return allDone(gvisor) && allDone(others) && unknown->has_value(); }));
  auto probes = agent.probes();
  std::sort(probes.begin(), probes.end());
  EXPECT_EQ(probes, (std::vector<std::string>{"", "edera-zone", "gvisor", "kata", "native"}));
  ASSERT_FALSE(**unknown);
  EXPECT_EQ((**unknown).error().code, Code::kNotFound);
  for (const auto& r : gvisor) {
    ASSERT_TRUE(**r) << (**r).error().toString();
    EXPECT_EQ((**r)->isolation, (**gvisor[0])->isolation);  // the same answer
  }
  for (const auto& r : others) EXPECT_TRUE(**r) << (**r).error().toString();
  ASSERT_EQ(view("node-a").isolation.size(), 1u);
  EXPECT_EQ(view("node-a").isolation[0].level, IsolationLevel::kApplicationKernel);
}

TEST_F(NodeProbeTest, AProbeAnswerSparesTheNextHeartbeatTheList) {
  FakeAgent agent("node-a", {"gvisor"}, {4096, 4000});
  ASSERT_NO_FATAL_FAILURE(startOn(agent));
  agent.setProbeResult({probed("gvisor", IsolationLevel::kApplicationKernel, 70)});
  ASSERT_TRUE(runTask(io, registry->probe("node-a", "gvisor")));
  const int lists = agent.isolationLists();
  heartbeat("node-a");
  EXPECT_EQ(agent.nodeInfoRevisions().back(), agent.isolationRevision());
  EXPECT_EQ(agent.isolationLists(), lists);
}

TEST_F(NodeProbeTest, ANodeRemovedDuringAProbeIsNotFound) {
  FakeAgent agent("node-a", {"gvisor", "native"}, {4096, 4000});
  ASSERT_NO_FATAL_FAILURE(startOn(agent));
  agent.holdSlowCalls(true);
  // Two probes in flight, one waiting for a probe slot.
  std::vector<std::shared_ptr<std::optional<Result<NodeView>>>> probes{
      startProbe("gvisor"), startProbe("native"), startProbe("")};
  ASSERT_TRUE(runUntil(io, [&] { return agent.heldSlowCalls() == 2; }));
  ASSERT_TRUE(runTask(io, registry->remove("node-a", /*force=*/true)));
  ASSERT_TRUE(runUntil(io, [&] { return allDone(probes); }));
  for (const auto& r : probes) {
    ASSERT_FALSE(**r);
    EXPECT_EQ((**r).error().code, Code::kNotFound) << (**r).error().toString();
  }
}

TEST_F(NodeProbeTest, TheDeadlineIsTheConfiguredOne) {
  ServerConfig config;
  config.probe_request_timeout_seconds = 42;
  EXPECT_EQ(nodeRegistryOptions(config).probe_timeout, 42s);

  FakeAgent agent("node-a", {"gvisor", "kata", "native"}, {4096, 4000});
  auto short_deadline = options();
  short_deadline.probe_timeout = 300ms;
  ASSERT_NO_FATAL_FAILURE(startOn(agent, short_deadline));
  agent.holdSlowCalls(true);
  // Two in flight, one waiting for a probe slot: all three time out. The
  // third's deadline counts from its request, so it ends a moment after the
  // first two; whether it ends while it still waits or just after a freed
  // slot let it go out depends on which timer the loop runs first.
  std::vector<std::shared_ptr<std::optional<Result<NodeView>>>> probes{
      startProbe("gvisor"), startProbe("kata"), startProbe("native")};
  ASSERT_TRUE(runUntil(io, [&] { return agent.heldSlowCalls() >= 2; }));
  ASSERT_TRUE(runUntil(io, [&] { return allDone(probes); }));
  for (const auto& r : probes) {
    ASSERT_FALSE(**r);
    EXPECT_EQ((**r).error().code, Code::kDeadlineExceeded) << (**r).error().toString();
  }
  EXPECT_GE(agent.heldSlowCalls(), 2);
  EXPECT_LE(agent.heldSlowCalls(), 3);
  agent.releaseSlowCalls();
}

TEST_F(NodeProbeTest, AStoppingServerAndAnAgentThatDoesNotProbe) {
  FakeAgent agent("node-a", {"gvisor"}, {4096, 4000});
  ASSERT_NO_FATAL_FAILURE(startOn(agent));
  agent.setVerifies(false);
  auto unimplemented = runTask(io, registry->probe("node-a", ""));
  ASSERT_FALSE(unimplemented);
  EXPECT_EQ(unimplemented.error().code, Code::kUnimplemented);

  agent.setVerifies(true);
  agent.holdSlowCalls(true);
  auto probe = startProbe("gvisor");
  ASSERT_TRUE(runUntil(io, [&] { return agent.heldSlowCalls() == 1; }));
  registry->shutdown();
  ASSERT_TRUE(runUntil(io, [&] { return probe->has_value(); }));
  ASSERT_FALSE(**probe);
  EXPECT_EQ((**probe).error().code, Code::kCancelled) << (**probe).error().toString();
  auto after = runTask(io, registry->probe("node-a", "gvisor"));
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code, Code::kCancelled);
  agent.releaseSlowCalls();
}

}  // namespace
}  // namespace zp::server
