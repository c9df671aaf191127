#include "agent/user_resolution.h"

#include <gtest/gtest.h>

#include <set>

namespace zp::agent {
namespace {

api::SecuritySpec restricted() { return {}; }
api::SecuritySpec baselineSecurity() {
  api::SecuritySpec s;
  s.profile = api::Profile::kBaseline;
  return s;
}
ImageFacts rootImage() { return {}; }  // no user in the image config: root
ImageFacts numericImage(std::int64_t uid) { return {uid, ""}; }
ImageFacts namedImage(std::string name) { return {std::nullopt, std::move(name)}; }

// ---- restricted

TEST(ResolveUserTest, RestrictedTakesTheSpecsIds) {
  auto s = restricted();
  s.run_as_user = 4000;
  s.run_as_group = 5000;
  for (const auto& image : {rootImage(), numericImage(1000), namedImage("app")}) {
    const auto plan = resolveUser(s, image);
    EXPECT_EQ(plan.uid, 4000);
    EXPECT_EQ(plan.gid, 5000);
    EXPECT_FALSE(plan.allocate);
  }
}

TEST(ResolveUserTest, AnImageUserOutOfRangeIsNeverUsed) {
  for (std::int64_t uid : {std::int64_t{2'147'483'648}, std::int64_t{4'294'967'296}, std::int64_t{-5}}) {
    const auto r = resolveUser(restricted(), numericImage(uid));
    EXPECT_TRUE(r.allocate) << uid;
    EXPECT_TRUE(r.refusal.empty()) << uid;
    const auto b = resolveUser(baselineSecurity(), numericImage(uid));
    EXPECT_FALSE(b.refusal.empty()) << uid;
    EXPECT_NE(b.refusal.find("2147483647"), std::string::npos) << b.refusal;
    auto explicit_user = baselineSecurity();
    explicit_user.run_as_user = 1234;  // the spec's user makes the image's moot
    EXPECT_TRUE(resolveUser(explicit_user, numericImage(uid)).refusal.empty()) << uid;
  }
}

TEST(ResolveUserTest, RestrictedTakesTheImagesNonRootUserWithAPrivateGroup) {
  const auto plan = resolveUser(restricted(), numericImage(1000));
  EXPECT_EQ(plan.uid, 1000);
  EXPECT_EQ(plan.gid, 1000);
  EXPECT_FALSE(plan.allocate);
  auto s = restricted();
  s.run_as_group = 77;
  EXPECT_EQ(resolveUser(s, numericImage(1000)).gid, 77);
}

TEST(ResolveUserTest, RestrictedAllocatesForARootImage) {
  for (const auto& image : {rootImage(), numericImage(0)}) {
    const auto plan = resolveUser(restricted(), image);
    EXPECT_TRUE(plan.allocate);
    EXPECT_FALSE(plan.uid);
    EXPECT_FALSE(plan.gid);  // the allocated id too
  }
}

TEST(ResolveUserTest, RestrictedAllocatesForANamedUserItCannotVerify) {
  const auto plan = resolveUser(restricted(), namedImage("www-data"));
  EXPECT_TRUE(plan.allocate);
  EXPECT_NE(plan.reason.find("www-data"), std::string::npos) << plan.reason;
}

TEST(ResolveUserTest, RestrictedAllocatesTheUserButKeepsTheSpecsGroup) {
  auto s = restricted();
  s.run_as_group = 3000;
  const auto plan = resolveUser(s, rootImage());
  EXPECT_TRUE(plan.allocate);
  EXPECT_EQ(plan.gid, 3000);
}

// ---- baseline

TEST(ResolveUserTest, BaselineTakesTheSpecsIdsElseTheImagesUserRootIncluded) {
  auto s = baselineSecurity();
  s.run_as_user = 0;
  EXPECT_EQ(resolveUser(s, numericImage(1000)).uid, 0);
  EXPECT_FALSE(resolveUser(s, numericImage(1000)).gid);

  auto plan = resolveUser(baselineSecurity(), rootImage());
  EXPECT_EQ(plan.uid, 0);
  EXPECT_FALSE(plan.gid);
  EXPECT_FALSE(plan.allocate);
  EXPECT_EQ(resolveUser(baselineSecurity(), numericImage(1000)).uid, 1000);
}

TEST(ResolveUserTest, BaselineLeavesANamedUserToTheRuntime) {
  const auto plan = resolveUser(baselineSecurity(), namedImage("postgres"));
  EXPECT_FALSE(plan.uid);
  EXPECT_FALSE(plan.gid);
  EXPECT_FALSE(plan.allocate);
}

// ---- the range and the allocator

TEST(UidRangeTest, Validation) {
  EXPECT_TRUE(validateUidRange(UidRange{}, "security."));
  EXPECT_TRUE(validateUidRange({1, 1}, "security."));
  EXPECT_TRUE(validateUidRange({api::kMaxUserId, 1}, "security."));
  auto bad = validateUidRange({0, 10}, "security.");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field, "security.uid_range_start");
  bad = validateUidRange({100, 0}, "security.");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field, "security.uid_range_size");
  EXPECT_FALSE(validateUidRange({api::kMaxUserId, 2}, "security."));
  EXPECT_FALSE(validateUidRange({-5, 10}, "security."));
}

TEST(UidAllocatorTest, DistinctIdsWithinTheRangeAndTheSameOneAgainPerKey) {
  UidAllocator a({5000, 3});
  std::set<std::int64_t> got;
  for (const char* key : {"a", "b", "c"}) {
    auto id = a.allocate(key);
    ASSERT_TRUE(id) << id.error().message;
    EXPECT_TRUE(a.range().contains(*id));
    got.insert(*id);
  }
  EXPECT_EQ(got.size(), 3u);
  EXPECT_EQ(*a.allocate("b"), *a.allocate("b"));
  auto full = a.allocate("d");
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, Code::kResourceExhausted);
}

TEST(UidAllocatorTest, ReleasedIdsComeBackAfterTheOthers) {
  UidAllocator a({5000, 3});
  const auto first = *a.allocate("a");
  (void)*a.allocate("b");
  a.release("a");
  EXPECT_EQ(a.inUse(), 1u);
  const auto third = *a.allocate("c");
  EXPECT_NE(third, first);  // next fit: a just-freed uid is not handed out at once
  EXPECT_EQ(*a.allocate("d"), first);
}

TEST(UidAllocatorTest, ReservedIdsAreNeverAllocated) {
  UidAllocator a({5000, 2});
  a.reserve("recovered", 5000);
  a.reserve("outside", 42);  // outside the range: not tracked
  EXPECT_EQ(a.inUse(), 1u);
  EXPECT_EQ(*a.allocate("new"), 5001);
  EXPECT_FALSE(a.allocate("another"));
  a.release("recovered");
  EXPECT_EQ(*a.allocate("another"), 5000);
}

TEST(UidAllocatorTest, AClaimedIdOfTheRangeIsNeverShared) {
  UidAllocator a({5000, 10});
  const auto given = *a.allocate("x");
  auto taken = a.claim("y", given);  // a spec naming another workload's allocated uid
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, Code::kAlreadyExists);
  EXPECT_TRUE(a.claim("x", given));       // its holder may claim it again
  EXPECT_TRUE(a.claim("y", 5005));        // a free one of the range is fine
  EXPECT_FALSE(a.claim("z", 5005));
  EXPECT_TRUE(a.claim("z", 1000));        // outside the range: not the node's to manage
  EXPECT_TRUE(a.claim("w", 1000));
}

TEST(UidAllocatorTest, TwoKeysMayHoldTheSameReservedId) {
  UidAllocator a({5000, 1});
  a.reserve("x", 5000);
  a.reserve("y", 5000);  // recovered workloads that already share it
  a.release("x");
  EXPECT_FALSE(a.allocate("z"));  // still held by y
  a.release("y");
  EXPECT_TRUE(a.allocate("z"));
}

}  // namespace
}  // namespace zp::agent
