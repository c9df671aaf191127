#include "server/trust_policy.h"

#include <gtest/gtest.h>

namespace zp::server {
namespace {

using api::Profile;
using api::TrustLevel;
using Classes = std::vector<std::string>;

TEST(TrustPolicyTest, DocumentedDefaults) {
  const auto config = TrustPolicyConfig::defaults();
  EXPECT_EQ(config.default_trust, TrustLevel::kUntrusted);
  EXPECT_EQ(config.rule(TrustLevel::kUntrusted),
            (TrustRule{{"edera-zone", "gvisor", "kata"},
                       Profile::kRestricted,
                       api::IsolationLevel::kApplicationKernel}));
  EXPECT_EQ(config.rule(TrustLevel::kMultiTenant),
            (TrustRule{{"edera-zone", "gvisor", "kata"},
                       Profile::kRestricted,
                       api::IsolationLevel::kApplicationKernel}));
  EXPECT_EQ(config.rule(TrustLevel::kInternal),
            (TrustRule{{"edera-zone", "gvisor", "kata", "*"}, Profile::kBaseline, std::nullopt}));
  EXPECT_TRUE(validateTrustPolicy(config));
}

TEST(TrustPolicyTest, DefaultsAllowOwnKernelClassesOnlyBelowInternal) {
  const NamedClassPolicy policy(TrustPolicyConfig::defaults());
  for (auto level : {TrustLevel::kUntrusted, TrustLevel::kMultiTenant}) {
    for (const char* cls : {"edera-zone", "gvisor", "kata"}) EXPECT_TRUE(policy.allows(level, cls));
    for (const char* cls : {"native", "runc", "isolated"}) EXPECT_FALSE(policy.allows(level, cls));
  }
  for (const char* cls : {"edera-zone", "native", "anything"}) {
    EXPECT_TRUE(policy.allows(TrustLevel::kInternal, cls));
  }
  EXPECT_EQ(policy.minimumProfile(TrustLevel::kUntrusted), Profile::kRestricted);
  EXPECT_EQ(policy.minimumProfile(TrustLevel::kInternal), Profile::kBaseline);
  EXPECT_EQ(policy.minimumIsolation(TrustLevel::kUntrusted),
            api::IsolationLevel::kApplicationKernel);
  EXPECT_EQ(policy.minimumIsolation(TrustLevel::kMultiTenant),
            api::IsolationLevel::kApplicationKernel);
  EXPECT_EQ(policy.minimumIsolation(TrustLevel::kInternal), std::nullopt);
}

TEST(TrustPolicyTest, MinimumIsolationIsTheConfiguredOne) {
  auto config = TrustPolicyConfig::defaults();
  config.rule(TrustLevel::kInternal).min_isolation = api::IsolationLevel::kSharedKernel;
  config.rule(TrustLevel::kUntrusted).min_isolation = api::IsolationLevel::kHypervisor;
  const NamedClassPolicy policy(config);
  EXPECT_EQ(policy.minimumIsolation(TrustLevel::kInternal), api::IsolationLevel::kSharedKernel);
  EXPECT_EQ(policy.minimumIsolation(TrustLevel::kUntrusted), api::IsolationLevel::kHypervisor);
}

TEST(TrustPolicyTest, CandidatesFollowTheOrderOfPreferenceNotTheOffer) {
  const NamedClassPolicy policy(TrustPolicyConfig::defaults());
  const Classes offered{"native", "kata", "isolated", "edera-zone"};
  EXPECT_EQ(policy.candidates(TrustLevel::kUntrusted, offered), (Classes{"edera-zone", "kata"}));
  // "*" adds every other offered class, in name order, after the named ones.
  EXPECT_EQ(policy.candidates(TrustLevel::kInternal, offered),
            (Classes{"edera-zone", "kata", "isolated", "native"}));
  EXPECT_TRUE(policy.candidates(TrustLevel::kUntrusted, {"native", "isolated"}).empty());
  EXPECT_TRUE(policy.candidates(TrustLevel::kInternal, {}).empty());
}

TEST(TrustPolicyTest, AnyInTheMiddleKeepsLaterNamesAfterIt) {
  auto config = TrustPolicyConfig::defaults();
  config.rule(TrustLevel::kInternal).runtime_classes = {"native", "*", "gvisor"};
  const NamedClassPolicy policy(config);
  EXPECT_EQ(policy.candidates(TrustLevel::kInternal, {"gvisor", "kata", "native", "alt"}),
            (Classes{"native", "alt", "kata", "gvisor"}));
}

TEST(TrustPolicyTest, ValidationNamesTheLevel) {
  auto empty = TrustPolicyConfig::defaults();
  empty.rule(TrustLevel::kMultiTenant).runtime_classes.clear();
  auto error = validateTrustPolicy(empty);
  ASSERT_FALSE(error);
  EXPECT_EQ(error.error().field, "trust.multi_tenant.runtime_classes");

  auto bad_name = TrustPolicyConfig::defaults();
  bad_name.rule(TrustLevel::kUntrusted).runtime_classes = {"Edera Zone"};
  error = validateTrustPolicy(bad_name);
  ASSERT_FALSE(error);
  EXPECT_EQ(error.error().field, "trust.untrusted.runtime_classes");
  EXPECT_NE(error.error().message.find("Edera Zone"), std::string::npos);

  auto twice = TrustPolicyConfig::defaults();
  twice.rule(TrustLevel::kInternal).runtime_classes = {"native", "*", "native"};
  error = validateTrustPolicy(twice);
  ASSERT_FALSE(error);
  EXPECT_NE(error.error().message.find("listed twice"), std::string::npos);
}

}  // namespace
}  // namespace zp::server
