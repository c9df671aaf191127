#include "api/isolation.h"

#include <gtest/gtest.h>

#include "api/json.h"

namespace zp::api {
namespace {

using nlohmann::json;

ClassIsolation sample() {
  ClassIsolation c;
  c.runtime_class = "edera-zone";
  c.claim = IsolationLevel::kHypervisor;
  c.level = IsolationLevel::kSharedKernel;
  c.score = 25;
  c.findings.push_back({"claim-not-met", Severity::kHigh, "boot id equals the host's", "fix it"});
  c.verified_at = parseRfc3339("2026-12-01T10:00:00Z");
  c.attempted_at = c.verified_at;
  c.probe_version = "0.8.0";
  return c;
}

TEST(IsolationTest, LevelsAreOrderedAndNamed) {
  EXPECT_LT(IsolationLevel::kUnverified, IsolationLevel::kSharedKernel);
  EXPECT_LT(IsolationLevel::kSharedKernel, IsolationLevel::kApplicationKernel);
  EXPECT_LT(IsolationLevel::kApplicationKernel, IsolationLevel::kHypervisor);
  EXPECT_EQ(parseIsolationLevel("application-kernel"), IsolationLevel::kApplicationKernel);
  EXPECT_EQ(parseIsolationClaim("unverified"), std::nullopt);
  const auto any = parseIsolationRequirement("any");
  ASSERT_TRUE(any.has_value());
  EXPECT_FALSE(any->has_value());
  EXPECT_EQ(parseIsolationRequirement("hypervisor"), IsolationRequirement{IsolationLevel::kHypervisor});
  EXPECT_EQ(parseIsolationRequirement("unverified"), std::nullopt);
  EXPECT_EQ(requirementName(std::nullopt), "any");
}

TEST(IsolationTest, QuarantineAndRequirements) {
  ClassIsolation c = sample();
  EXPECT_TRUE(c.quarantined());
  EXPECT_TRUE(c.satisfies(std::nullopt));
  EXPECT_FALSE(c.satisfies(IsolationLevel::kSharedKernel));  // quarantined satisfies only "any"

  c.claim.reset();
  EXPECT_FALSE(c.quarantined());
  EXPECT_TRUE(c.satisfies(IsolationLevel::kSharedKernel));
  EXPECT_FALSE(c.satisfies(IsolationLevel::kApplicationKernel));

  c.level = IsolationLevel::kUnverified;
  c.claim = IsolationLevel::kHypervisor;
  EXPECT_FALSE(c.quarantined());  // not verified yet: not quarantined, but satisfies nothing
  EXPECT_FALSE(c.satisfies(IsolationLevel::kSharedKernel));
  EXPECT_TRUE(c.satisfies(std::nullopt));
}

TEST(IsolationTest, JsonRoundTrips) {
  const ClassIsolation c = sample();
  const json j = toJson(c);
  EXPECT_EQ(j["quarantined"], true);
  EXPECT_EQ(j["level"], "shared-kernel");
  auto back = classIsolationFromJson(j);
  ASSERT_TRUE(back) << back.error().toString();
  EXPECT_EQ(*back, c);
}

TEST(IsolationTest, DecoderRefusesBadValues) {
  json j = toJson(sample());
  j["level"] = "vm";
  EXPECT_EQ(classIsolationFromJson(j).error().field, "isolation.level");
  j = toJson(sample());
  j["score"] = 101;
  EXPECT_FALSE(classIsolationFromJson(j));
  j = toJson(sample());
  j["findings"][0]["id"] = "Bad Id";
  EXPECT_FALSE(classIsolationFromJson(j));
  j = toJson(sample());
  j["findings"][0]["evidence"] = std::string(kMaxFindingTextLength + 1, 'x');
  EXPECT_FALSE(classIsolationFromJson(j));
  j = toJson(sample());
  j["findings"] = json::array();
  for (std::size_t i = 0; i <= kMaxFindings; ++i) j["findings"].push_back(toJson(sample().findings[0]));
  EXPECT_FALSE(classIsolationFromJson(j));
}

TEST(IsolationTest, NodeInfoCarriesIsolationOnlyWhenSet) {
  NodeInfo n;
  n.node_id = "n1";
  n.isolation_revision = 7;
  auto plain = nodeInfoFromJson(toJson(n));
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->isolation, std::nullopt);
  EXPECT_EQ(plain->isolation_revision, 7);
  n.isolation = std::vector<ClassIsolation>{sample()};
  auto full = nodeInfoFromJson(toJson(n));
  ASSERT_TRUE(full);
  EXPECT_EQ(*full, n);
}

}  // namespace
}  // namespace zp::api
