#include "server/admission.h"

#include <gtest/gtest.h>

namespace zp::server {
namespace {

using api::Profile;
using api::TrustLevel;
using Classes = std::vector<std::string>;

api::WorkloadSpec spec(std::string cls = "", std::optional<TrustLevel> trust = std::nullopt) {
  api::WorkloadSpec s;
  s.id = "wl-1";
  s.image = "registry.example.com/app:1";
  s.runtime_class = std::move(cls);
  s.trust = trust;
  return s;
}

class AdmissionTest : public ::testing::Test {
 protected:
  NamedClassPolicy isolation_{TrustPolicyConfig::defaults()};  // default trust: untrusted
  ImagePolicy images_;
  Admission admission_{isolation_, images_};
};

TEST_F(AdmissionTest, AbsentTrustBecomesTheDefault) {
  auto admitted = admission_.admit(spec());
  ASSERT_TRUE(admitted) << admitted.error().toString();
  EXPECT_EQ(admitted->trust, TrustLevel::kUntrusted);
  auto internal = admission_.admit(spec("", TrustLevel::kInternal));
  ASSERT_TRUE(internal);
  EXPECT_EQ(internal->trust, TrustLevel::kInternal);
}

TEST_F(AdmissionTest, AClassTheLevelDoesNotAllowIs422ListingTheAllowedOnes) {
  auto refused = admission_.admit(spec("native"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::kInvalidArgument);
  EXPECT_EQ(refused.error().field, "runtime_class");
  EXPECT_EQ(refused.error().message,
            "runtime_class \"native\" is not allowed for trust level \"untrusted\" (allowed: "
            "edera-zone, gvisor, kata)");
  EXPECT_FALSE(admission_.admit(spec("native", TrustLevel::kMultiTenant)));
  EXPECT_TRUE(admission_.admit(spec("gvisor", TrustLevel::kUntrusted)));
  EXPECT_TRUE(admission_.admit(spec("native", TrustLevel::kInternal)));
}

TEST_F(AdmissionTest, AProfileBelowTheMinimumIs422) {
  auto baseline = spec("", TrustLevel::kUntrusted);
  baseline.security.profile = Profile::kBaseline;
  auto refused = admission_.admit(baseline);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().field, "security.profile");
  EXPECT_EQ(refused.error().message,
            "security.profile \"baseline\" is below the minimum \"restricted\" for trust level "
            "\"untrusted\"");
  baseline.trust = TrustLevel::kMultiTenant;
  EXPECT_FALSE(admission_.admit(baseline));  // multi_tenant needs restricted too
  baseline.trust = TrustLevel::kInternal;
  EXPECT_TRUE(admission_.admit(baseline));
  // Restricted is above every minimum.
  EXPECT_TRUE(admission_.admit(spec("", TrustLevel::kUntrusted)));
}

TEST_F(AdmissionTest, ConfiguredMinimumProfileApplies) {
  auto config = TrustPolicyConfig::defaults();
  config.rule(TrustLevel::kInternal).min_profile = Profile::kRestricted;
  const NamedClassPolicy strict(config);
  const Admission admission(strict, images_);
  auto baseline = spec("native", TrustLevel::kInternal);
  baseline.security.profile = Profile::kBaseline;
  auto refused = admission.admit(baseline);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().field, "security.profile");
}

TEST_F(AdmissionTest, AnImageOutsideThePolicyIs422) {
  auto local = spec("", TrustLevel::kInternal);
  local.image = "127.0.0.1:9000/a/b:1";
  auto refused = admission_.admit(local);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().field, "image");
  EXPECT_NE(refused.error().message.find("127.0.0.1:9000"), std::string::npos);

  auto allowed = ImagePolicy::create({"127.0.0.1:5000"});
  ASSERT_TRUE(allowed);
  const Admission quickstart(isolation_, *allowed);
  local.image = "127.0.0.1:5000/zoneplane/busybox:1.0";
  EXPECT_TRUE(quickstart.admit(local));
  EXPECT_FALSE(admission_.admit(local));  // the default policy refuses it
}

TEST_F(AdmissionTest, CandidatesWithoutAClassFollowThePolicy) {
  auto untrusted = admission_.admit(spec());
  ASSERT_TRUE(untrusted);
  auto classes = admission_.candidateClasses(*untrusted, {"kata", "native", "edera-zone"});
  ASSERT_TRUE(classes) << classes.error().toString();
  EXPECT_EQ(*classes, (Classes{"edera-zone", "kata"}));

  auto internal = admission_.admit(spec("", TrustLevel::kInternal));
  ASSERT_TRUE(internal);
  classes = admission_.candidateClasses(*internal, {"native", "isolated"});
  ASSERT_TRUE(classes);
  EXPECT_EQ(*classes, (Classes{"isolated", "native"}));
}

TEST_F(AdmissionTest, NoAllowedClassOnOfferIs422SayingSo) {
  auto untrusted = admission_.admit(spec());
  ASSERT_TRUE(untrusted);
  auto none = admission_.candidateClasses(*untrusted, {"isolated", "native"});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Code::kInvalidArgument);
  EXPECT_EQ(none.error().field, "trust");
  EXPECT_EQ(none.error().message,
            "no node offers a runtime class allowed for trust level \"untrusted\" (allowed: "
            "edera-zone, gvisor, kata; classes on offer: isolated, native)");
  auto nothing = admission_.candidateClasses(*untrusted, {});
  ASSERT_FALSE(nothing);
  EXPECT_NE(nothing.error().message.find("no node offers any class yet"), std::string::npos);
}

TEST_F(AdmissionTest, AGivenClassMustBeOffered) {
  auto given = admission_.admit(spec("gvisor"));
  ASSERT_TRUE(given);
  auto classes = admission_.candidateClasses(*given, {"gvisor", "edera-zone"});
  ASSERT_TRUE(classes);
  EXPECT_EQ(*classes, (Classes{"gvisor"}));
  auto missing = admission_.candidateClasses(*given, {"edera-zone"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().field, "runtime_class");
  EXPECT_EQ(missing.error().message,
            "runtime_class \"gvisor\" is not offered by any node; classes on offer: edera-zone");
}

}  // namespace
}  // namespace zp::server
