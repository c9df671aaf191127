#include "server/workloads/scheduler.h"

#include <gtest/gtest.h>

namespace zp::server {
namespace {

using Classes = std::vector<std::string>;
using api::IsolationLevel;

// No verification needed ("any"), as for internal workloads.
const api::IsolationRequirement kAny = std::nullopt;

api::WorkloadSpec spec(std::int64_t memory_mb = 128, std::int64_t cpu = 250) {
  api::WorkloadSpec s;
  s.id = "wl-1";
  s.image = "busybox";
  s.memory_mb = memory_mb;
  s.cpu_millicores = cpu;
  return s;
}

NodeView node(std::string id, Classes classes, api::Resources free,
              NodeState state = NodeState::kReady, bool schedulable = true) {
  NodeView view;
  view.id = std::move(id);
  view.state = state;
  view.schedulable = schedulable;
  view.runtime_classes = std::move(classes);
  // Half allocated already: allocatable() is what counts.
  view.capacity = {free.memory_mb * 2, free.cpu_millicores * 2};
  view.allocated = free;
  return view;
}

const Scheduler kBinpack{SchedulerPolicy::kBinpack, {}};
const Scheduler kSpread{SchedulerPolicy::kSpread, {}};

std::string placedOn(const Decision& decision) {
  return decision.placement ? decision.placement->node : "unplaced: " + decision.message;
}

TEST(SchedulerTest, BinpackPicksTheNodeLeftWithTheLeastFreeMemory) {
  const std::vector<NodeView> nodes{node("n1", {"kata"}, {4000, 4000}),
                                    node("n2", {"kata"}, {1000, 4000}),
                                    node("n3", {"kata"}, {2000, 4000})};
  EXPECT_EQ(placedOn(kBinpack.place(spec(512), {"kata"}, kAny, nodes)), "n2");
  EXPECT_EQ(placedOn(kSpread.place(spec(512), {"kata"}, kAny, nodes)), "n1");
  // n2 has no room for 1500: the next least free.
  EXPECT_EQ(placedOn(kBinpack.place(spec(1500), {"kata"}, kAny, nodes)), "n3");
}

TEST(SchedulerTest, CpuBreaksMemoryTiesThenTheNodeId) {
  const std::vector<NodeView> nodes{node("nb", {"kata"}, {2000, 900}),
                                    node("na", {"kata"}, {2000, 900}),
                                    node("nc", {"kata"}, {2000, 500})};
  EXPECT_EQ(placedOn(kBinpack.place(spec(), {"kata"}, kAny, nodes)), "nc");
  EXPECT_EQ(placedOn(kSpread.place(spec(), {"kata"}, kAny, nodes)), "na");
  const std::vector<NodeView> equal{node("nb", {"kata"}, {2000, 900}),
                                    node("na", {"kata"}, {2000, 900})};
  EXPECT_EQ(placedOn(kBinpack.place(spec(), {"kata"}, kAny, equal)), "na");
  EXPECT_EQ(placedOn(kSpread.place(spec(), {"kata"}, kAny, equal)), "na");
}

TEST(SchedulerTest, FiltersStateCordonClassMemoryAndCpu) {
  const std::vector<NodeView> nodes{
      node("not-ready", {"kata"}, {9000, 9000}, NodeState::kNotReady),
      node("lost", {"kata"}, {9000, 9000}, NodeState::kLost),
      node("cordoned", {"kata"}, {9000, 9000}, NodeState::kReady, false),
      node("other-class", {"gvisor"}, {9000, 9000}),
      node("small", {"kata"}, {511, 9000}),
      node("slow", {"kata"}, {9000, 499}),
      node("fits", {"kata"}, {512, 500})};
  EXPECT_EQ(placedOn(kSpread.place(spec(512, 500), {"kata"}, kAny, nodes)), "fits");
  auto none = kSpread.place(spec(512, 500), {"kata"}, kAny, {nodes.begin(), nodes.end() - 1});
  ASSERT_FALSE(none.placement);
  EXPECT_EQ(none.message,
            "0/6 nodes available: 2 not ready, 1 cordoned, 1 class not offered, 1 insufficient "
            "memory, 1 insufficient cpu");
}

TEST(SchedulerTest, TheDocumentedMessage) {
  const std::vector<NodeView> nodes{node("n1", {"kata"}, {9000, 9000}, NodeState::kReady, false),
                                    node("n2", {"kata"}, {100, 9000}),
                                    node("n3", {"kata"}, {100, 9000}),
                                    node("n4", {"kata"}, {100, 9000})};
  auto decision = kBinpack.place(spec(512), {"kata"}, kAny, nodes);
  ASSERT_FALSE(decision.placement);
  EXPECT_EQ(decision.message, "0/4 nodes available: 1 cordoned, 3 insufficient memory");
  EXPECT_EQ(kBinpack.place(spec(), {"kata"}, kAny, {}).message, "0/0 nodes available: no nodes");
}

TEST(SchedulerTest, ClassesAreTriedInOrderOfPreference) {
  const std::vector<NodeView> nodes{node("n1", {"gvisor"}, {8000, 8000}),
                                    node("n2", {"gvisor", "kata"}, {1000, 1000})};
  auto kata = kBinpack.place(spec(), {"kata", "gvisor"}, kAny, nodes);
  ASSERT_TRUE(kata.placement);
  EXPECT_EQ(*kata.placement, (Placement{"n2", "kata"}));
  auto gvisor = kBinpack.place(spec(), {"gvisor", "kata"}, kAny, nodes);
  ASSERT_TRUE(gvisor.placement);
  EXPECT_EQ(*gvisor.placement, (Placement{"n2", "gvisor"}));  // binpack: the fuller node
  // No room on the kata node: the next class.
  auto big = kBinpack.place(spec(2000), {"kata", "gvisor"}, kAny, nodes);
  ASSERT_TRUE(big.placement);
  EXPECT_EQ(*big.placement, (Placement{"n1", "gvisor"}));
  // A class no node offers is skipped.
  auto skipped = kBinpack.place(spec(), {"edera-zone", "kata"}, kAny, nodes);
  ASSERT_TRUE(skipped.placement);
  EXPECT_EQ(skipped.placement->runtime_class, "kata");
}

TEST(SchedulerTest, AClassMemoryFloorIsWhatTheNodeMustHave) {
  const Scheduler scheduler{SchedulerPolicy::kBinpack, {{"edera-zone", 300}}};
  EXPECT_EQ(scheduler.memoryFloor("edera-zone"), 300);
  EXPECT_EQ(scheduler.memoryFloor("kata"), 0);
  EXPECT_EQ(scheduler.accounted(spec(128, 250), "edera-zone"), (api::Resources{300, 250}));
  EXPECT_EQ(scheduler.accounted(spec(512, 250), "edera-zone"), (api::Resources{512, 250}));
  EXPECT_EQ(scheduler.accounted(spec(128, 250), "kata"), (api::Resources{128, 250}));

  const std::vector<NodeView> nodes{node("zone", {"edera-zone", "kata"}, {299, 9000})};
  auto kata = scheduler.place(spec(128), {"edera-zone", "kata"}, kAny, nodes);
  ASSERT_TRUE(kata.placement);
  EXPECT_EQ(kata.placement->runtime_class, "kata");  // 128 fits, but a zone needs 300
  auto none = scheduler.place(spec(128), {"edera-zone"}, kAny, nodes);
  ASSERT_FALSE(none.placement);
  EXPECT_EQ(none.message, "0/1 nodes available: 1 insufficient memory");
}

TEST(SchedulerTest, ANodeCountsOnceUnderItsFirstFailingFilter) {
  // Short of both memory and cpu: counted as insufficient memory only.
  const std::vector<NodeView> nodes{node("n1", {"kata"}, {100, 100}),
                                    node("n2", {"gvisor"}, {100, 100}, NodeState::kNotReady)};
  auto decision = kBinpack.place(spec(512, 500), {"kata"}, kAny, nodes);
  EXPECT_EQ(decision.message, "0/2 nodes available: 1 not ready, 1 insufficient memory");
}

// A node's verification of one class.
api::ClassIsolation classVerification(std::string cls, IsolationLevel level, int score,
                                      std::optional<IsolationLevel> claim = std::nullopt) {
  api::ClassIsolation c;
  c.runtime_class = std::move(cls);
  c.level = level;
  c.score = score;
  c.claim = claim;
  return c;
}

const api::IsolationRequirement kAppKernel = IsolationLevel::kApplicationKernel;

TEST(SchedulerIsolationTest, ANodePassesOnlyWhenItsVerificationSatisfiesTheRequirement) {
  std::vector<NodeView> nodes{node("n1", {"gvisor"}, {4000, 4000}),
                              node("n2", {"gvisor"}, {2000, 4000}),
                              node("n3", {"gvisor"}, {1000, 4000})};
  nodes[0].isolation = {classVerification("gvisor", IsolationLevel::kApplicationKernel, 70)};
  nodes[1].isolation = {classVerification("gvisor", IsolationLevel::kSharedKernel, 50)};
  // n3 has no entry for gvisor: unverified.
  auto placed = kBinpack.place(spec(), {"gvisor"}, kAppKernel, nodes);
  ASSERT_TRUE(placed.placement) << placed.message;
  EXPECT_EQ(*placed.placement, (Placement{"n1", "gvisor", IsolationLevel::kApplicationKernel, 70}));
  // A stronger level satisfies a weaker requirement.
  nodes[1].isolation = {classVerification("gvisor", IsolationLevel::kHypervisor, 100)};
  EXPECT_EQ(placedOn(kBinpack.place(spec(), {"gvisor"}, kAppKernel, nodes)), "n2");
  // "any" takes every class, verified or not: binpack picks the fullest.
  auto any = kBinpack.place(spec(), {"gvisor"}, kAny, nodes);
  ASSERT_TRUE(any.placement);
  EXPECT_EQ(*any.placement, (Placement{"n3", "gvisor", IsolationLevel::kUnverified, 0}));
}

TEST(SchedulerIsolationTest, TheMessageNamesTheClassItsLevelAndTheRequirement) {
  std::vector<NodeView> nodes{node("n1", {"edera-zone"}, {4000, 4000})};
  nodes[0].isolation = {classVerification("edera-zone", IsolationLevel::kSharedKernel, 15,
                                          IsolationLevel::kHypervisor)};
  auto decision = kBinpack.place(spec(), {"edera-zone"}, kAppKernel, nodes);
  ASSERT_FALSE(decision.placement);
  EXPECT_EQ(decision.message,
            "0/1 nodes available: 1 class not verified (edera-zone: shared-kernel, quarantined; "
            "below application-kernel)");
}

TEST(SchedulerIsolationTest, AQuarantinedClassServesOnlyAny) {
  // Verified hypervisor but claimed more? Impossible; verified application
  // kernel below a hypervisor claim is quarantined even though the level
  // itself would satisfy application-kernel.
  std::vector<NodeView> nodes{node("n1", {"kata"}, {4000, 4000})};
  nodes[0].isolation = {classVerification("kata", IsolationLevel::kApplicationKernel, 70,
                                          IsolationLevel::kHypervisor)};
  auto refused = kBinpack.place(spec(), {"kata"}, kAppKernel, nodes);
  ASSERT_FALSE(refused.placement);
  EXPECT_EQ(refused.message,
            "0/1 nodes available: 1 class not verified (kata: application-kernel, quarantined; "
            "below application-kernel)");
  EXPECT_EQ(placedOn(kBinpack.place(spec(), {"kata"}, kAny, nodes)), "n1");
}

TEST(SchedulerIsolationTest, AnUnverifiedClassIsNamedSo) {
  std::vector<NodeView> nodes{node("n1", {"gvisor", "kata"}, {4000, 4000}),
                              node("n2", {"gvisor"}, {4000, 4000}),
                              node("n3", {"runc"}, {4000, 4000})};
  nodes[1].isolation = {classVerification("gvisor", IsolationLevel::kUnverified, 0)};
  auto decision = kBinpack.place(spec(), {"kata", "gvisor"}, kAppKernel, nodes);
  ASSERT_FALSE(decision.placement);
  // Each distinct verification once, in the order seen.
  EXPECT_EQ(decision.message,
            "0/3 nodes available: 1 class not offered, 2 class not verified (kata: unverified; "
            "gvisor: unverified; below application-kernel)");
}

TEST(SchedulerIsolationTest, VerificationComesBeforeResourcesAndClassesFallBackInOrder) {
  std::vector<NodeView> nodes{node("n1", {"edera-zone", "gvisor"}, {4000, 4000}),
                              node("n2", {"edera-zone"}, {100, 100})};
  nodes[0].isolation = {classVerification("edera-zone", IsolationLevel::kSharedKernel, 15,
                                          IsolationLevel::kHypervisor),
                        classVerification("gvisor", IsolationLevel::kApplicationKernel, 70)};
  nodes[1].isolation = {classVerification("edera-zone", IsolationLevel::kHypervisor, 100,
                                          IsolationLevel::kHypervisor)};
  // edera-zone is preferred but verified only on n2, which has no room: gvisor on n1.
  auto placed = kBinpack.place(spec(512), {"edera-zone", "gvisor"}, kAppKernel, nodes);
  ASSERT_TRUE(placed.placement) << placed.message;
  EXPECT_EQ(*placed.placement, (Placement{"n1", "gvisor", IsolationLevel::kApplicationKernel, 70}));
  // Only edera-zone: n1 fails its verification first, n2 its memory.
  auto none = kBinpack.place(spec(512), {"edera-zone"}, kAppKernel, nodes);
  EXPECT_EQ(none.message,
            "0/2 nodes available: 1 class not verified (edera-zone: shared-kernel, quarantined; "
            "below application-kernel), 1 insufficient memory");
}

TEST(SchedulerIsolationTest, ManyDistinctVerificationsAreCut) {
  std::vector<NodeView> nodes;
  Classes classes;
  for (int i = 0; i < 6; ++i) {
    const std::string cls = "c" + std::to_string(i);
    classes.push_back(cls);
    nodes.push_back(node("n" + std::to_string(i), {cls}, {4000, 4000}));
  }
  auto decision = kBinpack.place(spec(), classes, IsolationLevel::kHypervisor, nodes);
  EXPECT_EQ(decision.message,
            "0/6 nodes available: 6 class not verified (c0: unverified; c1: unverified; c2: "
            "unverified; c3: unverified; …; below hypervisor)");
}

}  // namespace
}  // namespace zp::server
