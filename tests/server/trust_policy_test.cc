#include "server/trust_policy.h"

#include <gtest/gtest.h>

#include "server/config.h"

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

TEST(TrustPolicyConfigTest, MinIsolationTakesAnyOrAVerifiedLevel) {
  const auto parsed = [](const std::string& value) {
    return parseConfigToml("[trust.untrusted]\nmin_isolation = \"" + value + "\"\n", "s.toml");
  };
  for (auto [name, requirement] :
       std::initializer_list<std::pair<const char*, api::IsolationRequirement>>{
           {"any", std::nullopt},
           {"shared-kernel", api::IsolationLevel::kSharedKernel},
           {"application-kernel", api::IsolationLevel::kApplicationKernel},
           {"hypervisor", api::IsolationLevel::kHypervisor}}) {
    auto config = parsed(name);
    ASSERT_TRUE(config) << name << ": " << config.error().toString();
    EXPECT_EQ(config->trust.rule(api::TrustLevel::kUntrusted).min_isolation, requirement) << name;
    EXPECT_TRUE(validateConfig(*config));
  }
  // The defaults: own kernels for untrusted and multi_tenant, anything for internal.
  auto defaults = parseConfigToml("", "s.toml");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->trust.rule(api::TrustLevel::kUntrusted).min_isolation,
            api::IsolationLevel::kApplicationKernel);
  EXPECT_EQ(defaults->trust.rule(api::TrustLevel::kMultiTenant).min_isolation,
            api::IsolationLevel::kApplicationKernel);
  EXPECT_EQ(defaults->trust.rule(api::TrustLevel::kInternal).min_isolation, std::nullopt);
  // "unverified" is no requirement; names are exact.
  for (const char* bad : {"unverified", "Hypervisor", "vm", ""}) {
    auto config = parsed(bad);
    ASSERT_FALSE(config) << bad;
    EXPECT_EQ(config.error().field, "trust.untrusted.min_isolation") << bad;
    EXPECT_NE(config.error().message.find("\"any\", \"shared-kernel\""), std::string::npos)
        << config.error().message;
  }
  auto wrong_type = parseConfigToml("[trust.internal]\nmin_isolation = 3\n", "s.toml");
  ASSERT_FALSE(wrong_type);
  EXPECT_EQ(wrong_type.error().field, "trust.internal.min_isolation");
}

}  // namespace
}  // namespace zp::server
