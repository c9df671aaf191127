#include "server/workloads/scheduler.h"

#include <gtest/gtest.h>

namespace zp::server {
namespace {

api::WorkloadSpec spec(std::string cls, std::int64_t memory_mb = 128, std::int64_t cpu = 250) {
  api::WorkloadSpec s;
  s.id = "wl-1";
  s.image = "busybox";
  s.runtime_class = std::move(cls);
  s.memory_mb = memory_mb;
  s.cpu_millicores = cpu;
  return s;
}

NodeView node(std::string id, std::vector<std::string> classes,
              std::optional<api::Resources> allocatable, bool reachable = true) {
  return NodeView{std::move(id), std::move(classes), allocatable, reachable};
}

const MostFreeMemoryScheduler kScheduler;

TEST(SchedulerTest, OnlyNodesOfferingTheClass) {
  auto picked = kScheduler.pick(spec("edera-zone"),
                                {node("n1", {"native"}, api::Resources{8000, 8000}),
                                 node("n2", {"edera-zone", "native"}, api::Resources{1000, 1000})});
  ASSERT_TRUE(picked) << picked.error().toString();
  EXPECT_EQ(*picked, "n2");
}

TEST(SchedulerTest, PicksMostFreeMemory) {
  auto picked =
      kScheduler.pick(spec("native"), {node("n1", {"native"}, api::Resources{1000, 9000}),
                                       node("n2", {"native"}, api::Resources{3000, 500}),
                                       node("n3", {"native"}, api::Resources{2000, 9000})});
  ASSERT_TRUE(picked);
  EXPECT_EQ(*picked, "n2");
}

TEST(SchedulerTest, TiesGoToMoreCpuThenSmallerId) {
  auto by_cpu =
      kScheduler.pick(spec("native"), {node("n1", {"native"}, api::Resources{2000, 500}),
                                       node("n2", {"native"}, api::Resources{2000, 900})});
  ASSERT_TRUE(by_cpu);
  EXPECT_EQ(*by_cpu, "n2");
  auto by_id = kScheduler.pick(spec("native"), {node("nb", {"native"}, api::Resources{2000, 900}),
                                                node("na", {"native"}, api::Resources{2000, 900})});
  ASSERT_TRUE(by_id);
  EXPECT_EQ(*by_id, "na");
}

TEST(SchedulerTest, SkipsNodesWithoutRoom) {
  auto picked = kScheduler.pick(spec("native", 512, 500),
                                {node("big-cpu", {"native"}, api::Resources{256, 64000}),
                                 node("small", {"native"}, api::Resources{600, 500})});
  ASSERT_TRUE(picked);
  EXPECT_EQ(*picked, "small");
}

TEST(SchedulerTest, UnknownCapacityFitsButKnownCapacityIsPreferred) {
  auto known =
      kScheduler.pick(spec("native"), {node("unknown", {"native"}, std::nullopt),
                                       node("known", {"native"}, api::Resources{200, 300})});
  ASSERT_TRUE(known);
  EXPECT_EQ(*known, "known");
  auto fallback =
      kScheduler.pick(spec("native", 4096), {node("unknown", {"native"}, std::nullopt),
                                             node("known", {"native"}, api::Resources{200, 300})});
  ASSERT_TRUE(fallback);
  EXPECT_EQ(*fallback, "unknown");
}

TEST(SchedulerTest, ReachableNodesArePreferred) {
  auto picked =
      kScheduler.pick(spec("native"), {node("down", {"native"}, api::Resources{9000, 9000}, false),
                                       node("up", {"native"}, api::Resources{500, 500}, true)});
  ASSERT_TRUE(picked);
  EXPECT_EQ(*picked, "up");
}

TEST(SchedulerTest, NoRoomIsResourceExhaustedWithReasons) {
  auto picked = kScheduler.pick(spec("native", 512, 500),
                                {node("n1", {"native"}, api::Resources{100, 4000}),
                                 node("n2", {"edera-zone"}, api::Resources{9000, 9000})});
  ASSERT_FALSE(picked);
  EXPECT_EQ(picked.error().code, Code::kResourceExhausted);
  const auto& message = picked.error().message;
  EXPECT_NE(message.find("memory_mb=512"), std::string::npos) << message;
  EXPECT_NE(message.find("node \"n1\" has 100 MB and 4000 millicores"), std::string::npos)
      << message;
  EXPECT_EQ(message.find("n2"), std::string::npos) << message;  // does not offer the class
}

TEST(SchedulerTest, ClassNobodyOffersIsInvalidArgument) {
  auto picked = kScheduler.pick(spec("gvisor"), {node("n1", {"native"}, api::Resources{100, 100})});
  ASSERT_FALSE(picked);
  EXPECT_EQ(picked.error().code, Code::kInvalidArgument);
  EXPECT_EQ(picked.error().field, "runtime_class");
}

TEST(SchedulerTest, NoNodesAtAll) {
  auto picked = kScheduler.pick(spec("native"), {});
  ASSERT_FALSE(picked);
  EXPECT_EQ(picked.error().code, Code::kInvalidArgument);
}

// Classes are tried in order of preference: the first with a node that has
// room wins, whatever the order of the nodes.
TEST(PlaceByPreferenceTest, FirstClassWithRoomWins) {
  const std::vector<NodeView> nodes{
      node("n1", {"native"}, api::Resources{8000, 8000}),
      node("n2", {"edera-zone", "native"}, api::Resources{1000, 1000})};
  auto small = placeByPreference(kScheduler, spec(""), {"edera-zone", "native"}, nodes);
  ASSERT_TRUE(small) << small.error().toString();
  EXPECT_EQ(small->runtime_class, "edera-zone");
  EXPECT_EQ(small->node, "n2");
  auto swapped = placeByPreference(kScheduler, spec(""), {"native", "edera-zone"}, nodes);
  ASSERT_TRUE(swapped);
  EXPECT_EQ(swapped->runtime_class, "native");
  EXPECT_EQ(swapped->node, "n1");
  // No room on the edera-zone node: the next class.
  auto big = placeByPreference(kScheduler, spec("", 2000), {"edera-zone", "native"}, nodes);
  ASSERT_TRUE(big);
  EXPECT_EQ(big->runtime_class, "native");
  EXPECT_EQ(big->node, "n1");
  // A class no node offers is skipped.
  auto skipped = placeByPreference(kScheduler, spec(""), {"gvisor", "native"}, nodes);
  ASSERT_TRUE(skipped);
  EXPECT_EQ(skipped->runtime_class, "native");
}

TEST(PlaceByPreferenceTest, NoRoomForAnyClassIsUnschedulableWithEveryReason) {
  const std::vector<NodeView> nodes{node("n1", {"native"}, api::Resources{100, 8000}),
                                    node("n2", {"edera-zone"}, api::Resources{200, 1000})};
  auto placed =
      placeByPreference(kScheduler, spec("", 512), {"edera-zone", "gvisor", "native"}, nodes);
  ASSERT_FALSE(placed);
  EXPECT_EQ(placed.error().code, Code::kResourceExhausted);
  const auto& message = placed.error().message;
  EXPECT_NE(message.find("runtime_class \"edera-zone\""), std::string::npos) << message;
  EXPECT_NE(message.find("runtime_class \"native\""), std::string::npos) << message;
  EXPECT_NE(message.find("node \"n1\" has 100 MB"), std::string::npos) << message;
}

TEST(PlaceByPreferenceTest, NoClassOfferedIsInvalidArgument) {
  auto placed = placeByPreference(kScheduler, spec(""), {"gvisor", "kata"},
                                  {node("n1", {"native"}, api::Resources{100, 100})});
  ASSERT_FALSE(placed);
  EXPECT_EQ(placed.error().code, Code::kInvalidArgument);
  EXPECT_EQ(placed.error().field, "runtime_class");
}

}  // namespace
}  // namespace zp::server
