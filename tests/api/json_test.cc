#include "api/json.h"

#include <gtest/gtest.h>

namespace zp::api {
namespace {

using nlohmann::json;

TEST(JsonTest, SpecRoundTrips) {
  WorkloadSpec s{"wl-1", "busybox:1", "native", 64, 100, {"sh", "-c"}, {"exit 3"}, {{"A", "1"}}};
  auto back = workloadSpecFromJson(toJson(s));
  ASSERT_TRUE(back) << back.error().toString();
  EXPECT_EQ(*back, s);
  s.trust = TrustLevel::kMultiTenant;
  s.runtime_class.clear();
  s.security = SecuritySpec{Profile::kBaseline, {"CHOWN"}, true, 0, 10, 64};
  back = workloadSpecFromJson(toJson(s));
  ASSERT_TRUE(back) << back.error().toString();
  EXPECT_EQ(*back, s);
  EXPECT_FALSE(toJson(s).contains("runtime_class"));
}

TEST(JsonTest, AbsentFieldsTakeDefaultsButExplicitValuesStay) {
  auto r = workloadSpecFromJson(json{{"image", "busybox"}});
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->memory_mb, kDefaultMemoryMb);
  EXPECT_EQ(r->cpu_millicores, kDefaultCpuMillicores);
  EXPECT_EQ(r->security, SecuritySpec{});
  EXPECT_EQ(r->security.profile, Profile::kRestricted);
  EXPECT_EQ(r->security.pids_limit, kDefaultPidsLimit);
  EXPECT_FALSE(r->trust);
  r = workloadSpecFromJson(json{{"memory_mb", 0}, {"cpu_millicores", 0}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->memory_mb, 0);  // left for validation to reject, not defaulted
  EXPECT_EQ(r->cpu_millicores, 0);
}

TEST(JsonTest, SecurityObjectIsStrict) {
  const json cases[] = {
      json{{"security", "restricted"}},
      json{{"security", {{"profile", "privileged"}}}},
      json{{"security", {{"profile", 1}}}},
      json{{"security", {{"read_only_root_fs", "yes"}}}},
      json{{"security", {{"run_as_user", "1000"}}}},
      json{{"security", {{"capabilities_add", "NET_ADMIN"}}}},
      json{{"security", {{"privileged", true}}}},
      json{{"trust", "trusted"}},
      json{{"trust", 2}},
  };
  for (const auto& c : cases) EXPECT_FALSE(workloadSpecFromJson(c)) << c.dump();
  auto r = workloadSpecFromJson(json{{"security", {{"privileged", true}}}}, "workload.");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "workload.security.privileged");
  r = workloadSpecFromJson(json{{"trust", "trusted"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "trust");
}

TEST(JsonTest, SpecRejectsUnknownFields) {
  auto r = workloadSpecFromJson(json{{"id", "a"}, {"imagee", "x"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "imagee");
  EXPECT_NE(r.error().message.find("unknown field"), std::string::npos);
}

TEST(JsonTest, SpecCanIgnoreUnknownFieldsOfNewerPeers) {
  auto r = workloadSpecFromJson(json{{"id", "a"}, {"priority", 5}}, "", UnknownFields::kIgnore);
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->id, "a");
  EXPECT_FALSE(workloadSpecFromJson(json{{"memory_mb", "x"}}, "", UnknownFields::kIgnore));
  EXPECT_FALSE(workloadSpecFromJson(json::array(), "", UnknownFields::kIgnore));
}

TEST(JsonTest, SpecRejectsWrongTypes) {
  const json cases[] = {
      json{{"id", 5}},
      json{{"memory_mb", "512"}},
      json{{"memory_mb", 1.5}},
      json{{"cpu_millicores", true}},
      json{{"memory_mb", 18446744073709551615ULL}},
      json{{"command", "sh"}},
      json{{"command", json::array({"sh", 1})}},
      json{{"env", json::array()}},
      json{{"env", {{"A", 1}}}},
  };
  for (const auto& c : cases) {
    auto r = workloadSpecFromJson(c);
    EXPECT_FALSE(r) << c.dump();
  }
  EXPECT_FALSE(workloadSpecFromJson(json::array()));
  EXPECT_FALSE(workloadSpecFromJson(json("str")));
}

// Present means given: an empty id or runtime_class is refused, not read as
// absent (which would generate an id or let the scheduler pick a class).
TEST(JsonTest, AnEmptyIdOrRuntimeClassIsRefused) {
  auto id = workloadSpecFromJson(json{{"image", "busybox"}, {"id", ""}});
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().field, "id");
  EXPECT_EQ(id.error().message, "id must not be empty (leave it out to have one generated)");
  auto cls = workloadSpecFromJson(json{{"image", "busybox"}, {"runtime_class", ""}}, "workload.");
  ASSERT_FALSE(cls);
  EXPECT_EQ(cls.error().field, "workload.runtime_class");
  auto absent = workloadSpecFromJson(json{{"image", "busybox"}});
  ASSERT_TRUE(absent);
  EXPECT_EQ(absent->id, "");
  EXPECT_EQ(absent->runtime_class, "");
}

TEST(JsonTest, PrefixAppearsInFieldNames) {
  auto r = workloadSpecFromJson(json{{"memory_mb", "x"}}, "workload.");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "workload.memory_mb");
}

TEST(JsonTest, StatusRoundTrips) {
  WorkloadStatus s;
  s.id = "wl-1";
  s.state = WorkloadState::kFailed;
  s.reason = "Error";
  s.message = "exited with 3";
  s.exit_code = 3;
  s.node = "node-1";
  s.created_at = TimePoint{std::chrono::milliseconds{1'700'000'000'123}};
  s.finished_at = TimePoint{std::chrono::milliseconds{1'700'000'001'000}};
  s.sandbox_id = "abc";
  s.profile = "restricted";
  s.run_as_user = 100000;
  s.run_as_group = 100000;
  auto back = workloadStatusFromJson(toJson(s));
  ASSERT_TRUE(back) << back.error().toString();
  EXPECT_EQ(*back, s);
}

TEST(JsonTest, StatusNeedsKnownState) {
  EXPECT_FALSE(workloadStatusFromJson(json{{"id", "a"}, {"state", "Sleeping"}}));
  EXPECT_FALSE(workloadStatusFromJson(json{{"state", "Running"}}));
}

TEST(JsonTest, NodeInfoRoundTrips) {
  NodeInfo n{"node-1", {4096, 2000}, {3072, 1500}, {"edera-zone", "native"}, "0.1.0", 2};
  auto back = nodeInfoFromJson(toJson(n));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, n);
}

// What an agent declares in its Hello is what the scheduler counts on.
TEST(JsonTest, NodeInfoWithImpossibleResourcesOrClassesIsRefused) {
  const NodeInfo good{"node-1", {4096, 2000}, {3072, 1500}, {"native"}, "0.1.0", 0};
  const auto refused = [](NodeInfo n) {
    auto r = nodeInfoFromJson(toJson(n));
    return r ? std::string("accepted") : r.error().field;
  };
  NodeInfo n = good;
  n.capacity.cpu_millicores = -1;
  EXPECT_EQ(refused(n), "capacity.cpu_millicores");
  n = good;
  n.capacity.memory_mb = std::int64_t{1} << 40;
  EXPECT_EQ(refused(n), "capacity.memory_mb");
  n = good;
  n.allocatable.memory_mb = 4097;
  EXPECT_EQ(refused(n), "allocatable.memory_mb");
  n = good;
  n.allocatable.cpu_millicores = -500;  // over-committed after a restart: kept
  EXPECT_EQ(refused(n), "accepted");
  for (const char* name : {"ÄÄ", "", "Native", "a_b"}) {
    n = good;
    n.runtime_classes = {name};
    EXPECT_EQ(refused(n), "runtime_classes") << name;
  }
  n = good;
  n.runtime_classes = {"native", "native"};
  EXPECT_EQ(refused(n), "runtime_classes");
  n = good;
  for (int i = 0; i <= 64; ++i) n.runtime_classes.push_back("c" + std::to_string(i));
  EXPECT_EQ(refused(n), "runtime_classes");
}

}  // namespace
}  // namespace zp::api
