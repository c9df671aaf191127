// NodeRegistry and verified isolation (docs/architecture.md §10.3): the list
// from Hello and heartbeats (the revision the link holds), the scheduling
// snapshot, quarantine audit entries, and probes.

#include <gtest/gtest.h>

#include <atomic>

#include "agent/captured_log.h"
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
using CapturedLog = zp::agent::testing::CapturedLog;

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
  void startOn(FakeAgent& agent, NodeRegistryOptions registry_options = options()) {
    make({{"node-a", agent.address(), {}}}, registry_options);
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
  // Quarantined when the server first hears of it: that counts. (No rate
  // limit here: QuarantineAuditsAreRateLimitedPerClass.)
  agent.setIsolation({zone(IsolationLevel::kSharedKernel), gvisor});
  auto unlimited = options();
  unlimited.quarantine_audit_interval = 0ms;
  ASSERT_NO_FATAL_FAILURE(startOn(agent, unlimited));
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
  auto status = registry->nodeStatus("node-a");
  ASSERT_TRUE(status);
  EXPECT_EQ(status->state, NodeState::kNotReady);
  EXPECT_EQ(status->reason, view("node-a").reason);
  EXPECT_EQ(status->message, view("node-a").message);
  EXPECT_FALSE(status->reason.empty());
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


TEST_F(NodeIsolationTest, AHelloWithoutAListLeavesEveryClassUnverified) {
  FakeAgent agent("node-a", {"edera-zone", "gvisor"}, {4096, 4000});
  const auto zone = verified("edera-zone", IsolationLevel::kSharedKernel, 15,
                             IsolationLevel::kHypervisor);  // quarantined
  agent.setIsolation({zone, verified("gvisor", IsolationLevel::kApplicationKernel, 70)});
  ASSERT_NO_FATAL_FAILURE(startOn(agent));
  ASSERT_EQ(view("node-a").isolation.size(), 2u);
  ASSERT_EQ(audit().size(), 1u);

  // The agent is replaced by one that verifies nothing: what the previous
  // process verified is not kept.
  agent.setVerifies(false);
  const int ready = listener.countOf("changed:node-a:Ready");
  agent.dropConnections();
  ASSERT_TRUE(waitFor("changed:node-a:Ready", ready + 1));
  EXPECT_TRUE(view("node-a").isolation.empty());
  EXPECT_TRUE(registry->schedulingNodes()[0].isolation.empty());
  EXPECT_EQ(registry->classIsolation("node-a", "gvisor")->level, IsolationLevel::kUnverified);
  EXPECT_EQ(listener.countOf("isolation:node-a:edera-zone,gvisor"), 2);  // learnt, then lost
  heartbeat("node-a");
  EXPECT_EQ(agent.nodeInfoRevisions().back(), std::nullopt);  // the revision is reset
  // Unverified ends no quarantine: nothing audited; verified quarantined
  // again, it is the same quarantine.
  EXPECT_EQ(audit().size(), 1u);
  agent.setVerifies(true);
  agent.dropConnections();
  ASSERT_TRUE(waitFor("changed:node-a:Ready", ready + 2));
  EXPECT_EQ(view("node-a").isolation.size(), 2u);
  EXPECT_EQ(audit().size(), 1u);
}

TEST_F(NodeIsolationTest, ItemsTheNodeMustNotReportAreDropped) {
  FakeAgent agent("node-a", {"gvisor", "native"}, {4096, 4000});
  const std::vector<api::ClassIsolation> list{
      verified("native", IsolationLevel::kSharedKernel, 50),
      verified("gvisor", IsolationLevel::kApplicationKernel, 70),
      verified("native", IsolationLevel::kHypervisor, 100),  // which one is true?
      verified("kata", IsolationLevel::kHypervisor, 100),    // not offered
      verified("Kata\x1b[2J\n", IsolationLevel::kHypervisor, 100)};
  agent.setIsolation(list);
  CapturedLog log(spdlog::level::warn);
  ASSERT_NO_FATAL_FAILURE(startOn(agent));
  auto node = view("node-a");
  ASSERT_EQ(node.isolation.size(), 1u);
  EXPECT_EQ(node.isolation[0].runtime_class, "gvisor");
  EXPECT_EQ(registry->classIsolation("node-a", "native")->level, IsolationLevel::kUnverified);
  EXPECT_FALSE(registry->classIsolation("node-a", "kata")->quarantined());
  // One warning, counting, with the agent's strings made printable.
  EXPECT_EQ(log.count("ignored 4 of 5 isolation items from the agent: 1 not a runtime class name "
                      "(e.g. \"Kata?[2J?\"), 1 of a class the node does not offer (e.g. \"kata\"), "
                      "2 of a class named more than once (e.g. \"native\")"),
            1u)
      << (log.lines().empty() ? "" : log.lines().back());
  for (const auto& line : log.lines()) EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
  // The same list again (a new revision) is not warned about again.
  agent.setIsolation(list);
  heartbeat("node-a");
  EXPECT_EQ(log.count("ignored 4 of 5"), 1u);
}

TEST_F(NodeIsolationTest, QuarantineAuditsAreRateLimitedPerClass) {
  FakeAgent agent("node-a", {"edera-zone", "kata"}, {4096, 4000});
  const auto zone = [](IsolationLevel level) {
    return verified("edera-zone", level, 15, IsolationLevel::kHypervisor);
  };
  const auto kata = [](IsolationLevel level) {
    return verified("kata", level, 15, IsolationLevel::kHypervisor);
  };
  auto limited = options();
  limited.quarantine_audit_interval = 10s;
  agent.setIsolation({zone(IsolationLevel::kSharedKernel), kata(IsolationLevel::kHypervisor)});
  CapturedLog log(spdlog::level::info);
  ASSERT_NO_FATAL_FAILURE(startOn(agent, limited));
  ASSERT_EQ(audit().size(), 1u);
  // The zone flips on every heartbeat: nothing more within the interval,
  // in the audit or the log.
  for (auto level : {IsolationLevel::kHypervisor, IsolationLevel::kSharedKernel,
                     IsolationLevel::kHypervisor}) {
    agent.setIsolation({zone(level), kata(IsolationLevel::kHypervisor)});
    heartbeat("node-a");
  }
  EXPECT_EQ(audit().size(), 1u);
  EXPECT_EQ(log.count("\"edera-zone\" is no longer quarantined"), 0u);
  // Another class has its own allowance.
  agent.setIsolation({zone(IsolationLevel::kHypervisor), kata(IsolationLevel::kSharedKernel)});
  heartbeat("node-a");
  EXPECT_EQ(actions(audit()).back(), "isolation.quarantined kata (shared-kernel, claim hypervisor)");
  // Once the interval is over, the zone's current state is written, with
  // the changes that were not.
  for (int i = 0; i < 7; ++i) heartbeat("node-a");
  const auto entries = actions(audit());
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries.back(),
            "isolation.released edera-zone (hypervisor, claim hypervisor; 2 changes suppressed)");
  EXPECT_EQ(log.count("\"edera-zone\" is no longer quarantined: hypervisor; 2 changes suppressed"),
            1u);
  for (int i = 0; i < 10; ++i) heartbeat("node-a");
  EXPECT_EQ(audit().size(), 3u);  // nothing held, nothing more
}

TEST_F(NodeIsolationTest, OnlyWhatSchedulingOrStatusesUseNotifies) {
  FakeAgent agent("node-a", {"gvisor"}, {4096, 4000});
  auto gvisor = verified("gvisor", IsolationLevel::kApplicationKernel, 70);
  agent.setIsolation({gvisor});
  ASSERT_NO_FATAL_FAILURE(startOn(agent));
  EXPECT_EQ(listener.countOf("isolation:node-a:gvisor"), 1);
  const int changed = listener.countOf("changed:node-a:Ready");

  // A new probe with the same result: new times and findings. Shown, but
  // neither the scheduler nor any workload's status sees a difference.
  gvisor.verified_at = kStart;
  gvisor.attempted_at = kStart;
  gvisor.findings.push_back({"seccomp-off", api::Severity::kLow, "mode 0", "--oci-seccomp"});
  agent.setIsolation({gvisor});
  heartbeat("node-a");
  EXPECT_EQ(view("node-a").isolation[0].verified_at, kStart);
  EXPECT_EQ(view("node-a").isolation[0].findings.size(), 2u);
  EXPECT_EQ(registry->classIsolation("node-a", "gvisor")->verified_at, kStart);
  EXPECT_EQ(listener.countOf("changed:node-a:Ready"), changed);
  EXPECT_EQ(listener.countOf("isolation:node-a:gvisor"), 1);

  // Another score: both.
  gvisor.score = 67;
  agent.setIsolation({gvisor});
  heartbeat("node-a");
  EXPECT_EQ(listener.countOf("changed:node-a:Ready"), changed + 1);
  EXPECT_EQ(listener.countOf("isolation:node-a:gvisor"), 2);
  EXPECT_EQ(registry->schedulingNodes()[0].isolation[0].score, 67);
  ASSERT_TRUE(listener.last_changed);  // the listener's view: no findings to copy
  ASSERT_EQ(listener.last_changed->isolation.size(), 1u);
  EXPECT_EQ(listener.last_changed->isolation[0].score, 67);
  EXPECT_TRUE(listener.last_changed->isolation[0].findings.empty());
  EXPECT_EQ(registry->nodeStatus("node-a")->state, NodeState::kReady);
  EXPECT_FALSE(registry->nodeStatus("node-z"));
  // A claim it meets: the scheduler's input, not what a status shows.
  gvisor.claim = IsolationLevel::kApplicationKernel;
  agent.setIsolation({gvisor});
  heartbeat("node-a");
  EXPECT_EQ(listener.countOf("changed:node-a:Ready"), changed + 2);
  EXPECT_EQ(listener.countOf("isolation:node-a:gvisor"), 2);
}

}  // namespace
}  // namespace zp::server
