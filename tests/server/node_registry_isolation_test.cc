// NodeRegistry and verified isolation (docs/architecture.md §10.3): the list
// from Hello and heartbeats (the revision the link holds), the scheduling
// snapshot, quarantine audit entries, and probes.

#include <gtest/gtest.h>

#include <atomic>

#include "node_registry_fixture.h"
#include "server/nodes/node_registry.h"

namespace zp::server {
namespace {

using api::IsolationLevel;
using testing::FakeAgent;
using testing::kStart;
using testing::NodeRegistryTest;
using testing::runTask;
using testing::runUntil;
using namespace std::chrono_literals;

api::ClassIsolation verified(std::string cls, IsolationLevel level, int score,
                             std::optional<IsolationLevel> claim = std::nullopt) {
  api::ClassIsolation c;
  c.runtime_class = std::move(cls);
  c.level = level;
  c.score = score;
  c.claim = claim;
  c.verified_at = kStart - 30s;
  c.probe_version = "0.1.0";
  if (level != IsolationLevel::kUnverified) {
    c.findings = {{"host-kernel-shared", api::Severity::kInfo, "boot id equal", "none"}};
  }
  return c;
}

class NodeIsolationTest : public NodeRegistryTest {
 protected:
  // Starts the registry on `agent` and waits until the node is Ready.
  void startOn(FakeAgent& agent) {
    make({{"node-a", agent.address(), {}}});
    registry->start();
    ASSERT_TRUE(waitFor("changed:node-a:Ready"));
  }
  // Every audit entry written so far (waits for the commits queued before).
  std::vector<store::AuditEntry> audit() {
    std::atomic<bool> done{false};
    std::vector<store::AuditEntry> entries;
    commits.read([&](store::Store* s) {
      if (s != nullptr) {
        auto loaded = s->loadAudit(TimePoint{}, 1000);
        if (loaded) entries = std::move(*loaded);
      }
      done = true;
    });
    EXPECT_TRUE(runUntil(io, [&] { return done.load(); }));
    return entries;
  }
  static std::vector<std::string> actions(const std::vector<store::AuditEntry>& entries) {
    std::vector<std::string> out;
    for (const auto& e : entries) out.push_back(e.action + " " + e.target);
    return out;
  }
};

TEST_F(NodeIsolationTest, HelloBringsTheListAndHeartbeatsAskOnlyForChanges) {
  FakeAgent agent("node-a", {"gvisor", "native"}, {4096, 4000});
  agent.setIsolation({verified("native", IsolationLevel::kSharedKernel, 50),
                      verified("gvisor", IsolationLevel::kApplicationKernel, 70)});
  ASSERT_NO_FATAL_FAILURE(startOn(agent));
  auto node = view("node-a");
  ASSERT_EQ(node.isolation.size(), 2u);
  EXPECT_EQ(node.isolation[0].runtime_class, "gvisor");  // sorted by class
  EXPECT_EQ(node.isolation[0].level, IsolationLevel::kApplicationKernel);
  EXPECT_EQ(node.isolation[1], verified("native", IsolationLevel::kSharedKernel, 50));
  const std::int64_t revision = agent.isolationRevision();

  // Heartbeats name the revision held: the agent leaves the list out.
  const int lists = agent.isolationLists();
  heartbeat("node-a");
  heartbeat("node-a");
  auto asked = agent.nodeInfoRevisions();
  ASSERT_GE(asked.size(), 2u);
  EXPECT_EQ(asked.back(), revision);
  EXPECT_EQ(agent.isolationLists(), lists);
  EXPECT_EQ(view("node-a").isolation, node.isolation);  // kept

  // A change reaches the server with the next heartbeat, and the service
  // hears of it (its queue may place something now).
  const int changed = listener.countOf("changed:node-a:Ready");
  agent.setIsolation({verified("gvisor", IsolationLevel::kApplicationKernel, 60)});
  heartbeat("node-a");
  ASSERT_EQ(view("node-a").isolation.size(), 1u);
  EXPECT_EQ(view("node-a").isolation[0].score, 60);
  EXPECT_EQ(listener.countOf("changed:node-a:Ready"), changed + 1);
  heartbeat("node-a");
  EXPECT_EQ(agent.nodeInfoRevisions().back(), agent.isolationRevision());
  EXPECT_EQ(listener.countOf("changed:node-a:Ready"), changed + 1);  // nothing new
}

TEST_F(NodeIsolationTest, TheSchedulingSnapshotFollowsTheListWithoutFindings) {
  FakeAgent agent("node-a", {"gvisor"}, {4096, 4000});
  agent.setIsolation({verified("gvisor", IsolationLevel::kApplicationKernel, 70)});
  ASSERT_NO_FATAL_FAILURE(startOn(agent));
  const auto* snapshot = &registry->schedulingNodes();
  ASSERT_EQ(snapshot->size(), 1u);
  ASSERT_EQ((*snapshot)[0].isolation.size(), 1u);
  EXPECT_EQ((*snapshot)[0].isolation[0].level, IsolationLevel::kApplicationKernel);
  EXPECT_EQ((*snapshot)[0].isolation[0].verified_at, kStart - 30s);
  EXPECT_TRUE((*snapshot)[0].isolation[0].findings.empty());
  EXPECT_EQ(view("node-a").isolation[0].findings.size(), 1u);  // the API's view has them

  agent.setIsolation(
      {verified("gvisor", IsolationLevel::kSharedKernel, 40, IsolationLevel::kApplicationKernel)});
  heartbeat("node-a");
  const auto& after = registry->schedulingNodes();
  ASSERT_EQ(after[0].isolation.size(), 1u);
  EXPECT_EQ(after[0].isolation[0].level, IsolationLevel::kSharedKernel);
  EXPECT_TRUE(after[0].isolation[0].quarantined());

  // The cheap lookups agree.
  EXPECT_EQ(registry->state("node-a"), NodeState::kReady);
  EXPECT_FALSE(registry->state("node-z"));
  auto shown = registry->classIsolation("node-a", "gvisor");
  ASSERT_TRUE(shown);
  EXPECT_EQ(shown->level, IsolationLevel::kSharedKernel);
  EXPECT_TRUE(shown->findings.empty());
  auto missing = registry->classIsolation("node-a", "kata");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->runtime_class, "kata");
  EXPECT_EQ(missing->level, IsolationLevel::kUnverified);
  EXPECT_FALSE(registry->classIsolation("node-z", "gvisor"));
}

TEST_F(NodeIsolationTest, QuarantineChangesAreAuditedOnce) {
  FakeAgent agent("node-a", {"edera-zone", "gvisor"}, {4096, 4000});
  const auto zone = [](IsolationLevel level) {
    return verified("edera-zone", level, level == IsolationLevel::kHypervisor ? 100 : 15,
                    IsolationLevel::kHypervisor);
  };
  const auto gvisor = verified("gvisor", IsolationLevel::kApplicationKernel, 70);
  // Quarantined when the server first hears of it: that counts.
  agent.setIsolation({zone(IsolationLevel::kSharedKernel), gvisor});
  ASSERT_NO_FATAL_FAILURE(startOn(agent));
  auto entries = audit();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].principal, "node:node-a");
  EXPECT_EQ(entries[0].action, "isolation.quarantined");
  EXPECT_EQ(entries[0].target, "edera-zone (shared-kernel, claim hypervisor)");
  EXPECT_EQ(entries[0].result, 200);
  EXPECT_EQ(entries[0].source, agent.address());
  EXPECT_EQ(entries[0].time, clock.now());

  // Unchanged quarantine (another score), a reconnect with the same list:
  // nothing new.
  auto rescored = zone(IsolationLevel::kSharedKernel);
  rescored.score = 5;
  agent.setIsolation({rescored, gvisor});
  heartbeat("node-a");
  const int ready = listener.countOf("changed:node-a:Ready");
  agent.dropConnections();
  ASSERT_TRUE(waitFor("changed:node-a:Ready", ready + 1));
  EXPECT_EQ(audit().size(), 1u);

  // The result expires (unverified) and is verified quarantined again: an
  // expiry neither releases nor quarantines anew.
  agent.setIsolation({zone(IsolationLevel::kUnverified), gvisor});
  heartbeat("node-a");
  EXPECT_FALSE(view("node-a").isolation[0].quarantined());
  agent.setIsolation({zone(IsolationLevel::kSharedKernel), gvisor});
  heartbeat("node-a");
  EXPECT_EQ(audit().size(), 1u);

  // Verified as claimed: released.
  agent.setIsolation({zone(IsolationLevel::kHypervisor), gvisor});
  heartbeat("node-a");
  // Quarantined again, then the class is no longer reported at all.
  agent.setIsolation({zone(IsolationLevel::kApplicationKernel), gvisor});
  heartbeat("node-a");
  agent.setIsolation({gvisor});
  heartbeat("node-a");
  EXPECT_EQ(view("node-a").isolation.size(), 1u);
  EXPECT_EQ(actions(audit()),
            (std::vector<std::string>{
                "isolation.quarantined edera-zone (shared-kernel, claim hypervisor)",
                "isolation.released edera-zone (hypervisor, claim hypervisor)",
                "isolation.quarantined edera-zone (application-kernel, claim hypervisor)",
                "isolation.released edera-zone (no longer reported)"}));
}

TEST_F(NodeIsolationTest, AProbeAppliesItsAnswer) {
  FakeAgent agent("node-a", {"edera-zone", "gvisor"}, {4096, 4000});
  agent.setIsolation({verified("gvisor", IsolationLevel::kUnverified, 0)});
  ASSERT_NO_FATAL_FAILURE(startOn(agent));
  const int changed = listener.countOf("changed:node-a:Ready");
  agent.setProbeResult({verified("gvisor", IsolationLevel::kApplicationKernel, 70)});
  auto probed = runTask(io, registry->probe("node-a", "gvisor"));
  ASSERT_TRUE(probed) << probed.error().toString();
  EXPECT_EQ(agent.probes(), std::vector<std::string>{"gvisor"});
  ASSERT_EQ(probed->isolation.size(), 1u);
  EXPECT_EQ(probed->isolation[0].level, IsolationLevel::kApplicationKernel);
  EXPECT_EQ(probed->isolation[0].findings.size(), 1u);
  EXPECT_EQ(view("node-a").isolation, probed->isolation);
  EXPECT_EQ(listener.countOf("changed:node-a:Ready"), changed + 1);
  // Every class: "" on the wire.
  ASSERT_TRUE(runTask(io, registry->probe("node-a", "")));
  EXPECT_EQ(agent.probes().back(), "");

  auto unknown_class = runTask(io, registry->probe("node-a", "kata"));
  ASSERT_FALSE(unknown_class);
  EXPECT_EQ(unknown_class.error().code, Code::kNotFound);
  auto unknown_node = runTask(io, registry->probe("node-z", ""));
  ASSERT_FALSE(unknown_node);
  EXPECT_EQ(unknown_node.error().code, Code::kNotFound);
  agent.stop();
  ASSERT_TRUE(runUntil(io, [&] { return view("node-a").state != NodeState::kReady; }));
  auto unreachable = runTask(io, registry->probe("node-a", "gvisor"));
  ASSERT_FALSE(unreachable);
  EXPECT_EQ(unreachable.error().code, Code::kUnavailable);
}

TEST_F(NodeIsolationTest, AnOlderListOnTheSameConnectionIsIgnored) {
  FakeAgent agent("node-a", {"gvisor"}, {4096, 4000});
  agent.setIsolation({verified("gvisor", IsolationLevel::kApplicationKernel, 70)});
  ASSERT_NO_FATAL_FAILURE(startOn(agent));
  // A heartbeat answer carrying a newer list, then a probe answer carrying
  // a newer one still, delivered the other way round: the newest stays.
  agent.setIsolation({verified("gvisor", IsolationLevel::kApplicationKernel, 60)});
  agent.holdReplies(2);
  const int infos = agent.count("NodeInfo");
  advance(1s);
  registry->tick(monotonic.now());
  ASSERT_TRUE(runUntil(io, [&] { return agent.count("NodeInfo") > infos; }));
  agent.setProbeResult({verified("gvisor", IsolationLevel::kHypervisor, 90)});
  auto probed = runTask(io, registry->probe("node-a", "gvisor"));
  ASSERT_TRUE(probed) << probed.error().toString();
  EXPECT_EQ(probed->isolation[0].level, IsolationLevel::kHypervisor);
  ASSERT_TRUE(runUntil(io, [&] { return view("node-a").last_heartbeat == clock.now(); }));
  EXPECT_EQ(view("node-a").isolation[0].level, IsolationLevel::kHypervisor);
  EXPECT_EQ(view("node-a").isolation[0].score, 90);
}

}  // namespace
}  // namespace zp::server
