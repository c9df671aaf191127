#include "agent/spec_annotation.h"

#include <gtest/gtest.h>

#include "agent/cri_configs.h"
#include "api/validate.h"

namespace zp::agent {
namespace {

api::WorkloadSpec smallSpec() {
  api::WorkloadSpec s;
  s.id = "wl-1";
  s.image = "127.0.0.1:5000/app:1";
  s.runtime_class = "native";
  s.command = {"sh", "-c"};
  s.args = {"echo hi"};
  s.env = {{"A", "1"}};
  return s;
}

// A spec at the payload limit: 8 env values of 16 KiB minus their names.
api::WorkloadSpec bigSpec() {
  auto s = smallSpec();
  s.command.clear();
  s.args.clear();
  s.env.clear();
  for (int i = 0; i < 8; ++i) {
    const std::string name = "V" + std::to_string(i);
    s.env[name] = std::string(api::kMaxStringBytes - name.size(), '\x01');
  }
  EXPECT_EQ(api::payloadBytes(s), api::kMaxPayloadBytes);
  EXPECT_TRUE(api::validateWorkloadSpec(s));
  return s;
}

std::map<std::string, std::string> asMap(const api::WorkloadSpec& spec) {
  std::map<std::string, std::string> m;
  for (auto& [k, v] : specAnnotations(spec)) m[k] = v;
  return m;
}

TEST(SpecAnnotationTest, ASmallSpecIsStoredWholeWithItsDigest) {
  const auto spec = smallSpec();
  auto a = asMap(spec);
  ASSERT_TRUE(a.contains("zoneplane.io/spec"));
  ASSERT_TRUE(a.contains("zoneplane.io/spec-sha256"));
  EXPECT_EQ(a["zoneplane.io/spec-sha256"], specDigest(spec));
  EXPECT_EQ(a["zoneplane.io/spec-sha256"].size(), 64u);
  auto back = specFromAnnotations(a["zoneplane.io/spec"], a["zoneplane.io/spec-sha256"]);
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->complete);
  EXPECT_EQ(back->spec, spec);
}

TEST(SpecAnnotationTest, ABigSpecIsStoredWithoutItsPayloadButKeepsTheWholeDigest) {
  const auto spec = bigSpec();
  auto a = asMap(spec);
  EXPECT_LE(a["zoneplane.io/spec"].size(), kMaxSpecAnnotationBytes);
  auto back = specFromAnnotations(a["zoneplane.io/spec"], a["zoneplane.io/spec-sha256"]);
  ASSERT_TRUE(back);
  EXPECT_FALSE(back->complete);
  EXPECT_TRUE(back->spec.env.empty());
  EXPECT_EQ(back->spec.image, spec.image);
  EXPECT_EQ(back->spec.memory_mb, spec.memory_mb);
  EXPECT_EQ(back->digest, specDigest(spec));
}

TEST(SpecAnnotationTest, EverySandboxOfAValidSpecStaysSmall) {
  // The annotations of the biggest spec, and every label, fit in a few KiB:
  // the bound the CRI client's receive limit is sized from.
  WorkloadIdentity identity;
  identity.spec = bigSpec();
  identity.uid = std::string(32, 'u');
  const auto config = sandboxConfig(identity, std::string(63, 'n'), "/logs", PodPlacement{});
  std::size_t bytes = 0;
  for (const auto& [k, v] : config.annotations()) bytes += k.size() + v.size();
  for (const auto& [k, v] : config.labels()) bytes += k.size() + v.size();
  EXPECT_LT(bytes, kMaxSpecAnnotationBytes + 1024);
}

TEST(SpecAnnotationTest, SandboxesOfOlderAgentsWithoutADigestReadAsComplete) {
  const auto spec = smallSpec();
  auto back = specFromAnnotations(asMap(spec)["zoneplane.io/spec"], std::nullopt);
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->complete);
  EXPECT_EQ(back->digest, specDigest(spec));
}

TEST(SpecAnnotationTest, InconsistentAnnotationsAreUnreadable) {
  const auto spec = smallSpec();
  auto a = asMap(spec);
  EXPECT_FALSE(specFromAnnotations(a["zoneplane.io/spec"], "not-a-digest"));
  // A spec with a payload must match its digest.
  EXPECT_FALSE(specFromAnnotations(a["zoneplane.io/spec"], std::string(64, 'a')));
  EXPECT_FALSE(specFromAnnotations("{", a["zoneplane.io/spec-sha256"]));
}

TEST(SpecAnnotationTest, TheDigestCoversEveryField) {
  auto a = smallSpec();
  auto b = a;
  b.env["A"] = "2";
  EXPECT_NE(specDigest(a), specDigest(b));
  b = a;
  b.security.read_only_root_fs = true;
  EXPECT_NE(specDigest(a), specDigest(b));
  EXPECT_EQ(specDigest(a), specDigest(smallSpec()));
}

}  // namespace
}  // namespace zp::agent
