#include "server/workloads/scheduler.h"

#include <gtest/gtest.h>

namespace zp::server {
namespace {

using Classes = std::vector<std::string>;

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
  EXPECT_EQ(placedOn(kBinpack.place(spec(512), {"kata"}, nodes)), "n2");
  EXPECT_EQ(placedOn(kSpread.place(spec(512), {"kata"}, nodes)), "n1");
  // n2 has no room for 1500: the next least free.
  EXPECT_EQ(placedOn(kBinpack.place(spec(1500), {"kata"}, nodes)), "n3");
}

TEST(SchedulerTest, CpuBreaksMemoryTiesThenTheNodeId) {
  const std::vector<NodeView> nodes{node("nb", {"kata"}, {2000, 900}),
                                    node("na", {"kata"}, {2000, 900}),
                                    node("nc", {"kata"}, {2000, 500})};
  EXPECT_EQ(placedOn(kBinpack.place(spec(), {"kata"}, nodes)), "nc");
  EXPECT_EQ(placedOn(kSpread.place(spec(), {"kata"}, nodes)), "na");
  const std::vector<NodeView> equal{node("nb", {"kata"}, {2000, 900}),
                                    node("na", {"kata"}, {2000, 900})};
  EXPECT_EQ(placedOn(kBinpack.place(spec(), {"kata"}, equal)), "na");
  EXPECT_EQ(placedOn(kSpread.place(spec(), {"kata"}, equal)), "na");
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
  EXPECT_EQ(placedOn(kSpread.place(spec(512, 500), {"kata"}, nodes)), "fits");
  auto none = kSpread.place(spec(512, 500), {"kata"}, {nodes.begin(), nodes.end() - 1});
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
  auto decision = kBinpack.place(spec(512), {"kata"}, nodes);
  ASSERT_FALSE(decision.placement);
  EXPECT_EQ(decision.message, "0/4 nodes available: 1 cordoned, 3 insufficient memory");
  EXPECT_EQ(kBinpack.place(spec(), {"kata"}, {}).message, "0/0 nodes available: no nodes");
}

TEST(SchedulerTest, ClassesAreTriedInOrderOfPreference) {
  const std::vector<NodeView> nodes{node("n1", {"gvisor"}, {8000, 8000}),
                                    node("n2", {"gvisor", "kata"}, {1000, 1000})};
  auto kata = kBinpack.place(spec(), {"kata", "gvisor"}, nodes);
  ASSERT_TRUE(kata.placement);
  EXPECT_EQ(*kata.placement, (Placement{"n2", "kata"}));
  auto gvisor = kBinpack.place(spec(), {"gvisor", "kata"}, nodes);
  ASSERT_TRUE(gvisor.placement);
  EXPECT_EQ(*gvisor.placement, (Placement{"n2", "gvisor"}));  // binpack: the fuller node
  // No room on the kata node: the next class.
  auto big = kBinpack.place(spec(2000), {"kata", "gvisor"}, nodes);
  ASSERT_TRUE(big.placement);
  EXPECT_EQ(*big.placement, (Placement{"n1", "gvisor"}));
  // A class no node offers is skipped.
  auto skipped = kBinpack.place(spec(), {"edera-zone", "kata"}, nodes);
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
  auto kata = scheduler.place(spec(128), {"edera-zone", "kata"}, nodes);
  ASSERT_TRUE(kata.placement);
  EXPECT_EQ(kata.placement->runtime_class, "kata");  // 128 fits, but a zone needs 300
  auto none = scheduler.place(spec(128), {"edera-zone"}, nodes);
  ASSERT_FALSE(none.placement);
  EXPECT_EQ(none.message, "0/1 nodes available: 1 insufficient memory");
}

TEST(SchedulerTest, ANodeCountsOnceUnderItsFirstFailingFilter) {
  // Short of both memory and cpu: counted as insufficient memory only.
  const std::vector<NodeView> nodes{node("n1", {"kata"}, {100, 100}),
                                    node("n2", {"gvisor"}, {100, 100}, NodeState::kNotReady)};
  auto decision = kBinpack.place(spec(512, 500), {"kata"}, nodes);
  EXPECT_EQ(decision.message, "0/2 nodes available: 1 not ready, 1 insufficient memory");
}

}  // namespace
}  // namespace zp::server
