// WorkloadService and verified isolation (docs/architecture.md §6, §8.3,
// §10.3): admission's requirement for the trust level, the "class not
// verified" reason of queued workloads, the queue retried when a node's
// verification changes, the placement message, and the isolation shown with
// a record.

#include <gtest/gtest.h>

#include "workload_service_fixture.h"

namespace zp::server::testing {
namespace {

using api::IsolationLevel;
using api::TrustLevel;
using api::WorkloadState;
using protocol::StartWorkload;

api::ClassIsolation verification(std::string cls, IsolationLevel level, int score,
                                 std::optional<IsolationLevel> claim = std::nullopt) {
  api::ClassIsolation c;
  c.runtime_class = std::move(cls);
  c.claim = claim;
  c.level = level;
  c.score = score;
  c.findings = {{"host-kernel-shared", api::Severity::kInfo, "seen", "none"}};
  return c;
}

// edera-zone claimed a hypervisor and verified as the host's kernel.
api::ClassIsolation quarantinedZone() {
  return verification("edera-zone", IsolationLevel::kSharedKernel, 15, IsolationLevel::kHypervisor);
}

class WorkloadIsolationTest : public WorkloadServiceTest {
 protected:
  static api::WorkloadSpec workload(const std::string& id, TrustLevel trust, std::string cls = "") {
    auto s = spec(id);
    s.trust = trust;
    s.runtime_class = std::move(cls);
    return s;
  }
};

TEST_F(WorkloadIsolationTest, AnUntrustedWorkloadSkipsAQuarantinedZoneForAVerifiedGvisor) {
  fleet_.addNode("n1", {"edera-zone", "gvisor"}, {4096, 4000});
  fleet_.view("n1").isolation = {quarantinedZone(),
                                 verification("gvisor", IsolationLevel::kApplicationKernel, 70)};
  // No class asked for: edera-zone is preferred, but not verified here.
  auto r = accepted(workload("u-1", TrustLevel::kUntrusted));
  EXPECT_EQ(r.spec.runtime_class, "gvisor");
  EXPECT_EQ(r.status.node, "n1");
  EXPECT_EQ(r.status.message,
            "scheduled to node \"n1\" (class gvisor: application-kernel, score 70)");
  // Shown with the record: the class's verification on its node, no findings.
  auto shown = service_->isolation(record("u-1"));
  ASSERT_TRUE(shown);
  EXPECT_EQ(shown->runtime_class, "gvisor");
  EXPECT_EQ(shown->level, IsolationLevel::kApplicationKernel);
  EXPECT_EQ(shown->score, 70);
  EXPECT_TRUE(shown->findings.empty());
}

TEST_F(WorkloadIsolationTest, AQuarantinedZoneQueuesTheWorkloadWithTheReasonUntilItVerifies) {
  fleet_.addNode("n1", {"edera-zone"}, {4096, 4000});
  fleet_.addNode("n2", {"native"}, {4096, 4000});
  fleet_.view("n1").isolation = {quarantinedZone()};
  auto queued = submit(workload("u-1", TrustLevel::kUntrusted));
  ASSERT_TRUE(queued) << queued.error().toString();  // accepted (201), not refused
  EXPECT_EQ(queued->status.state, WorkloadState::kPending);
  EXPECT_EQ(queued->status.reason, "Unschedulable");
  EXPECT_EQ(queued->status.message,
            "0/2 nodes available: 1 class not offered, 1 class not verified (edera-zone: "
            "shared-kernel, quarantined; below application-kernel)");
  EXPECT_FALSE(service_->isolation(*queued));  // not placed: nothing to show
  // Naming the class changes nothing.
  auto named = submit(workload("u-2", TrustLevel::kUntrusted, "edera-zone"));
  ASSERT_TRUE(named);
  EXPECT_EQ(named->status.reason, "Unschedulable");
  EXPECT_EQ(fleet_.count("StartWorkload"), 0);

  // Verified as claimed: the registry reports the node changed, the queue
  // runs, both are placed in submission order.
  fleet_.view("n1").isolation = {
      verification("edera-zone", IsolationLevel::kHypervisor, 100, IsolationLevel::kHypervisor)};
  sink_.events.clear();
  nodeChanged("n1");
  EXPECT_EQ(status("u-1").node, "n1");
  EXPECT_EQ(status("u-2").node, "n1");
  ASSERT_GE(sink_.events.size(), 2u);
  EXPECT_EQ(sink_.events[0].record.status.message,
            "scheduled to node \"n1\" (class edera-zone: hypervisor, score 100)");
  EXPECT_EQ(fleet_.requests<StartWorkload>("n1").size(), 2u);
}

TEST_F(WorkloadIsolationTest, UnverifiedClassesServeOnlyTrustLevelsThatRequireNothing) {
  fleet_.addNode("n1", {"edera-zone", "native"}, {4096, 4000});
  fleet_.view("n1").isolation.clear();  // never probed
  auto waiting = accepted(workload("u-1", TrustLevel::kMultiTenant));
  EXPECT_EQ(waiting.status.message,
            "0/1 nodes available: 1 class not verified (edera-zone: unverified; below "
            "application-kernel)");
  // internal requires "any": unverified and quarantined classes do.
  auto internal = accepted(workload("i-1", TrustLevel::kInternal, "native"));
  EXPECT_EQ(internal.status.node, "n1");
  EXPECT_EQ(internal.status.message, "scheduled to node \"n1\" (class native: unverified)");
  auto shown = service_->isolation(record("i-1"));
  ASSERT_TRUE(shown);
  EXPECT_EQ(shown->level, IsolationLevel::kUnverified);
  fleet_.view("n1").isolation = {quarantinedZone()};
  auto zone = accepted(workload("i-2", TrustLevel::kInternal, "edera-zone"));
  EXPECT_EQ(zone.status.node, "n1");
  EXPECT_EQ(zone.status.message,
            "scheduled to node \"n1\" (class edera-zone: shared-kernel, score 15)");
  EXPECT_TRUE(service_->isolation(record("i-2"))->quarantined());
  // The node gone: nothing to show.
  fleet_.removeNode("n1");
  EXPECT_FALSE(service_->isolation(record("i-2")));
}

TEST_F(WorkloadIsolationTest, AConfiguredRequirementApplies) {
  auto config = TrustPolicyConfig::defaults();
  config.rule(TrustLevel::kInternal).min_isolation = IsolationLevel::kHypervisor;
  const NamedClassPolicy strict(config);
  const Admission admission(strict, images_);
  EXPECT_EQ(admission.requirement(workload("i-1", TrustLevel::kInternal)),
            IsolationLevel::kHypervisor);
  EXPECT_EQ(admission.requirement(spec("d-1")), IsolationLevel::kApplicationKernel);  // untrusted
  EXPECT_EQ(admission_.requirement(workload("i-1", TrustLevel::kInternal)), std::nullopt);
}


TEST_F(WorkloadIsolationTest, AWorkloadPlacedAgainAfterNodeLossKeepsItsClass) {
  fleet_.addNode("n1", {"edera-zone", "gvisor"}, {4096, 4000});
  fleet_.view("n1").isolation = {quarantinedZone(),
                                 verification("gvisor", IsolationLevel::kApplicationKernel, 70)};
  auto w = workload("u-1", TrustLevel::kUntrusted);
  w.restart_policy = api::RestartPolicy::kOnFailure;
  ASSERT_EQ(accepted(w).spec.runtime_class, "gvisor");
  // n2 verifies both; edera-zone is the level's first choice for a new workload.
  fleet_.addNode("n2", {"edera-zone", "gvisor"}, {4096, 4000});
  fleet_.view("n2").isolation = {
      verification("edera-zone", IsolationLevel::kHypervisor, 100, IsolationLevel::kHypervisor),
      verification("gvisor", IsolationLevel::kApplicationKernel, 70)};
  EXPECT_EQ(accepted(workload("u-2", TrustLevel::kUntrusted)).spec.runtime_class, "edera-zone");

  fleet_.setState("n1", NodeState::kLost, "NoHeartbeat");
  nodeChanged("n1");
  const auto moved = record("u-1");
  EXPECT_EQ(moved.status.node, "n2");
  EXPECT_EQ(moved.spec.runtime_class, "gvisor");
  EXPECT_EQ(fleet_.copies("n2").at("u-1").spec.runtime_class, "gvisor");
}

TEST_F(WorkloadIsolationTest, ADeliveryRechecksTheClassAndPlacesAgainWhenItNoLongerVerifies) {
  fleet_.addNode("n1", {"gvisor"}, {4096, 4000});
  fleet_.view("n1").isolation = {verification("gvisor", IsolationLevel::kApplicationKernel, 70)};
  // Placed while verified, but the node does not take the delivery.
  fleet_.setConnected("n1", false);
  auto placed = accepted(workload("u-1", TrustLevel::kUntrusted));
  ASSERT_EQ(placed.status.node, "n1");
  ASSERT_EQ(fleet_.copiesOf("u-1"), 0);
  // The agent comes back restarted: its class is not verified (yet, or its
  // handler changed). The redelivery of the resync must not start it there.
  fleet_.view("n1").isolation = {verification("gvisor", IsolationLevel::kUnverified, 0)};
  fleet_.setConnected("n1", true);
  fleet_.clearCalls();
  sink_.events.clear();
  resync("n1", {});
  settle();
  EXPECT_EQ(fleet_.count("StartWorkload"), 0);
  EXPECT_EQ(fleet_.copiesOf("u-1"), 0);
  // Watchers see why it left n1; the record then says why it waits now (the
  // capacity it freed on n1 ran the queue again).
  ASSERT_FALSE(sink_.events.empty());
  const std::string moved = sink_.events.front().record.status.message;
  EXPECT_NE(moved.find("class \"gvisor\" on node \"n1\" is not verified, below the "
                       "application-kernel its trust level \"untrusted\" needs"),
            std::string::npos)
      << moved;
  const auto after = record("u-1");
  EXPECT_EQ(after.status.state, WorkloadState::kPending);
  EXPECT_EQ(after.status.reason, "Unschedulable");
  EXPECT_EQ(after.status.node, "");
  EXPECT_EQ(after.status.message,
            "0/1 nodes available: 1 class not verified (gvisor: unverified; below "
            "application-kernel)");
  EXPECT_EQ(after.spec.runtime_class, "gvisor");  // kept, as on a lost node
  // Verified again: placed and delivered.
  fleet_.view("n1").isolation = {verification("gvisor", IsolationLevel::kApplicationKernel, 70)};
  nodeChanged("n1");
  settle();
  EXPECT_EQ(record("u-1").status.node, "n1");
  EXPECT_EQ(fleet_.copiesOf("u-1"), 1);
}

TEST_F(WorkloadIsolationTest, APlacementAfterAFailedRecheckIsStoredBeforeItIsDelivered) {
  // Background writes wait a second for company here: what the service
  // awaits commits at once, the rest only once that second is over (and
  // settle() waits for it).
  settle();
  service_->stop();
  service_.reset();
  commits_->stop();
  commits_ = std::make_unique<store::CommitQueue>(store_, store::CommitQueue::kDefaultMaxGroup,
                                                  std::chrono::seconds(1));
  makeService();
  for (const char* node : {"n1", "n2"}) {
    fleet_.addNode(node, {"gvisor"}, {4096, 4000});
    fleet_.view(node).isolation = {verification("gvisor", IsolationLevel::kApplicationKernel, 70)};
  }
  fleet_.setConnected("n1", false);
  ASSERT_EQ(accepted(workload("u-1", TrustLevel::kUntrusted, "gvisor")).status.node, "n1");
  // n1 comes back unverified: the redelivery places it on n2 instead.
  fleet_.view("n1").isolation = {verification("gvisor", IsolationLevel::kUnverified, 0)};
  fleet_.setConnected("n1", true);
  std::optional<std::string> stored_node;
  fleet_.on_call = [&](const FakeFleet::Call& call) {
    if (call.node != "n2" || !std::holds_alternative<protocol::StartWorkload>(call.request)) return;
    const auto all = store_.loadWorkloads();
    for (const auto& r : *all) {
      if (r.spec.id == "u-1") stored_node = r.status.node;
    }
  };
  resync("n1", {});
  settle();
  fleet_.on_call = nullptr;  // it refers to this test's locals
  ASSERT_TRUE(stored_node) << "no StartWorkload reached n2";
  EXPECT_EQ(*stored_node, "n2");  // durable before it was sent (§8.4)
  EXPECT_EQ(fleet_.copiesOf("u-1"), 1);
}

TEST_F(WorkloadIsolationTest, AVerificationChangeIsPublishedForTheClassesWorkloads) {
  fleet_.addNode("n1", {"edera-zone", "gvisor"}, {4096, 4000});
  fleet_.addNode("n2", {"gvisor"}, {4096, 4000});
  accepted(workload("g-1", TrustLevel::kInternal, "gvisor"));
  accepted(workload("z-1", TrustLevel::kInternal, "edera-zone"));
  ASSERT_EQ(status("g-1").node, "n1");  // binpack: the first of two equal nodes
  sink_.events.clear();
  service_->onIsolationChanged("n1", {"gvisor"});
  ASSERT_EQ(sink_.events.size(), 1u);
  EXPECT_EQ(sink_.events[0].type, WatchEventType::kModified);
  EXPECT_EQ(sink_.events[0].record.spec.id, "g-1");
  service_->onIsolationChanged("n2", {"edera-zone", "gvisor"});  // nothing of it placed there
  EXPECT_EQ(sink_.events.size(), 1u);
}

}  // namespace
}  // namespace zp::server::testing
