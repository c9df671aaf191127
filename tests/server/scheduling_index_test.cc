#include "server/nodes/scheduling_index.h"

#include <gtest/gtest.h>

#include <random>
#include <tuple>

#include "server/workloads/scheduler.h"

namespace zp::server {
namespace {

using api::IsolationLevel;

NodeView indexNode(std::string id, std::vector<std::string> classes, api::Resources free,
                   NodeState state = NodeState::kReady, bool schedulable = true) {
  NodeView view;
  view.id = std::move(id);
  view.state = state;
  view.schedulable = schedulable;
  view.runtime_classes = std::move(classes);
  view.capacity = free;
  return view;
}

// The definition the index must answer like: every node looked at.
const NodeView* reference(const std::vector<NodeView>& nodes, std::string_view cls,
                          const api::Resources& need, const api::IsolationRequirement& requirement,
                          SchedulerPolicy policy) {
  const NodeView* best = nullptr;
  std::tuple<std::int64_t, std::int64_t> best_left{};
  for (const auto& n : nodes) {
    if (n.state != NodeState::kReady || !n.schedulable || !n.admits(cls, requirement)) continue;
    const api::Resources free = n.allocatable();
    if (free.memory_mb < need.memory_mb || free.cpu_millicores < need.cpu_millicores) continue;
    const auto left = std::make_tuple(free.memory_mb - need.memory_mb,
                                      free.cpu_millicores - need.cpu_millicores);
    const bool better = best == nullptr ||
                        (policy == SchedulerPolicy::kBinpack ? left < best_left
                                                             : left > best_left) ||
                        (left == best_left && n.id < best->id);
    if (better) {
      best = &n;
      best_left = left;
    }
  }
  return best;
}

std::string idOf(const NodeView* view) { return view ? view->id : "none"; }

TEST(SchedulingIndexTest, BinpackAndSpreadWithTiesToTheSmallerId) {
  SchedulingIndex index(
      {indexNode("a", {"native"}, {1000, 1000}), indexNode("b", {"native"}, {500, 1000}),
       indexNode("c", {"native"}, {500, 1000}), indexNode("d", {"native"}, {2000, 100})});
  const auto binpack = SchedulerPolicy::kBinpack;
  const auto spread = SchedulerPolicy::kSpread;
  EXPECT_EQ(idOf(index.best("native", {100, 200}, std::nullopt, binpack)), "b");
  EXPECT_EQ(idOf(index.best("native", {100, 200}, std::nullopt, spread)), "a");  // d: too little cpu
  EXPECT_EQ(idOf(index.best("native", {100, 50}, std::nullopt, spread)), "d");
  EXPECT_EQ(idOf(index.best("native", {600, 200}, std::nullopt, binpack)), "a");
  EXPECT_EQ(idOf(index.best("native", {3000, 1}, std::nullopt, binpack)), "none");
  EXPECT_EQ(idOf(index.best("gvisor", {1, 1}, std::nullopt, binpack)), "none");
}

TEST(SchedulingIndexTest, FollowsAllocationsStateCordonsAndClasses) {
  SchedulingIndex index(
      {indexNode("a", {"native"}, {1000, 1000}), indexNode("b", {"native"}, {800, 1000})});
  const auto binpack = SchedulerPolicy::kBinpack;
  EXPECT_EQ(idOf(index.best("native", {100, 10}, std::nullopt, binpack)), "b");
  ASSERT_TRUE(index.setAllocated("b", {750, 0}, 3));
  EXPECT_EQ(index.find("b")->workloads, 3);
  EXPECT_EQ(idOf(index.best("native", {100, 10}, std::nullopt, binpack)), "a");
  EXPECT_EQ(idOf(index.best("native", {50, 10}, std::nullopt, binpack)), "b");

  NodeView a = *index.find("a");
  a.schedulable = false;  // cordoned
  ASSERT_TRUE(index.update(a));
  EXPECT_EQ(idOf(index.best("native", {100, 10}, std::nullopt, binpack)), "none");
  a.schedulable = true;
  a.state = NodeState::kNotReady;
  ASSERT_TRUE(index.update(a));
  EXPECT_EQ(idOf(index.best("native", {100, 10}, std::nullopt, binpack)), "none");

  EXPECT_EQ(index.offeredClasses(), (std::vector<std::string>{"native"}));
  a.state = NodeState::kReady;
  a.runtime_classes = {"gvisor"};
  ASSERT_TRUE(index.update(a));
  EXPECT_EQ(index.offeredClasses(), (std::vector<std::string>{"gvisor", "native"}));
  EXPECT_EQ(idOf(index.best("gvisor", {100, 10}, std::nullopt, binpack)), "a");
  EXPECT_EQ(idOf(index.best("native", {100, 10}, std::nullopt, binpack)), "none");
  EXPECT_FALSE(index.update(indexNode("zz", {"native"}, {1, 1})));
  EXPECT_FALSE(index.setAllocated("zz", {1, 1}, 1));
}

TEST(SchedulingIndexTest, HonoursTheIsolationRequirement) {
  NodeView verified = indexNode("b", {"gvisor"}, {100, 100});
  api::ClassIsolation entry;
  entry.runtime_class = "gvisor";
  entry.level = IsolationLevel::kApplicationKernel;
  verified.isolation = {entry};
  SchedulingIndex index({indexNode("a", {"gvisor"}, {50, 100}), verified});
  const api::IsolationRequirement needs = IsolationLevel::kApplicationKernel;
  EXPECT_EQ(idOf(index.best("gvisor", {10, 10}, std::nullopt, SchedulerPolicy::kBinpack)), "a");
  EXPECT_EQ(idOf(index.best("gvisor", {10, 10}, needs, SchedulerPolicy::kBinpack)), "b");
  EXPECT_EQ(idOf(index.best("gvisor", {10, 10}, needs, SchedulerPolicy::kSpread)), "b");
}

// Random fleets, changed at random between questions: the index answers
// like the walk over every node, for both policies.
TEST(SchedulingIndexTest, AnswersLikeAWalkOverEveryNode) {
  std::mt19937 rng(20261202);
  const std::vector<std::string> classes{"native", "gvisor", "edera-zone"};
  const auto pickClasses = [&] {
    std::vector<std::string> out;
    for (const auto& c : classes) {
      if (rng() % 2) out.push_back(c);
    }
    return out;  // sorted? not needed by the index
  };
  const auto randomNode = [&](std::string id) {
    NodeView v = indexNode(
        std::move(id), pickClasses(),
        {static_cast<std::int64_t>(rng() % 8) * 100, static_cast<std::int64_t>(rng() % 4) * 100},
        rng() % 6 == 0 ? NodeState::kNotReady : NodeState::kReady, rng() % 7 != 0);
    for (const auto& c : v.runtime_classes) {
      if (rng() % 2) continue;
      api::ClassIsolation entry;
      entry.runtime_class = c;
      entry.level = rng() % 2 ? IsolationLevel::kApplicationKernel : IsolationLevel::kSharedKernel;
      v.isolation.push_back(entry);
    }
    return v;
  };
  for (int fleet = 0; fleet < 40; ++fleet) {
    std::vector<NodeView> nodes;
    const int count = 1 + static_cast<int>(rng() % 30);
    for (int i = 0; i < count; ++i) nodes.push_back(randomNode("n" + std::to_string(100 + i)));
    SchedulingIndex index(nodes);
    for (int step = 0; step < 200; ++step) {
      const std::size_t i = rng() % nodes.size();
      if (rng() % 3 == 0) {
        nodes[i] = randomNode(nodes[i].id);
        ASSERT_TRUE(index.update(nodes[i]));
      } else {
        nodes[i].allocated = {static_cast<std::int64_t>(rng() % 6) * 100,
                              static_cast<std::int64_t>(rng() % 3) * 100};
        ASSERT_TRUE(index.setAllocated(nodes[i].id, nodes[i].allocated, 0));
      }
      const api::Resources need{static_cast<std::int64_t>(rng() % 5) * 100,
                                static_cast<std::int64_t>(rng() % 3) * 100};
      const api::IsolationRequirement requirement =
          rng() % 2 ? api::IsolationRequirement{} : IsolationLevel::kApplicationKernel;
      for (const auto& cls : classes) {
        for (auto policy : {SchedulerPolicy::kBinpack, SchedulerPolicy::kSpread}) {
          ASSERT_EQ(idOf(index.best(cls, need, requirement, policy)),
                    idOf(reference(nodes, cls, need, requirement, policy)))
              << "fleet " << fleet << " step " << step << " class " << cls;
        }
      }
    }
  }
}

}  // namespace
}  // namespace zp::server
