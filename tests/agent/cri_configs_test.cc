#include "agent/cri_configs.h"

#include <gtest/gtest.h>

namespace zp::agent {
namespace {

WorkloadIdentity identity() {
  api::WorkloadSpec spec{"wl-1", "127.0.0.1:5000/app:1", "native", 512, 500,
                         {"sh", "-c"},  {"exit 3"},           {{"A", "1"}}};
  return WorkloadIdentity{spec, "0123abcd", 2};
}

TEST(CriConfigsTest, SandboxCarriesIdentityLabelsAndSpec) {
  const auto c = sandboxConfig(identity(), "node-7", "/data/logs/wl-1_0123abcd");
  EXPECT_EQ(c.metadata().name(), "wl-1");
  EXPECT_EQ(c.metadata().namespace_(), "zoneplane");
  EXPECT_EQ(c.metadata().uid(), "0123abcd");
  EXPECT_EQ(c.metadata().attempt(), 2u);
  EXPECT_EQ(c.log_directory(), "/data/logs/wl-1_0123abcd");
  EXPECT_EQ(c.labels().at("zoneplane.io/workload-id"), "wl-1");
  EXPECT_EQ(c.labels().at("zoneplane.io/node-id"), "node-7");
  EXPECT_EQ(c.labels().at("zoneplane.io/managed"), "true");
  EXPECT_TRUE(c.annotations().contains("zoneplane.io/spec"));
  EXPECT_FALSE(c.linux().security_context().privileged());
  EXPECT_EQ(c.linux().security_context().namespace_options().network(), cri::v1::POD);
}

TEST(CriConfigsTest, ContainerIsLeastPrivilegeWithLimits) {
  const auto c = containerConfig(identity(), "node-7");
  EXPECT_EQ(c.image().image(), "127.0.0.1:5000/app:1");
  ASSERT_EQ(c.command_size(), 2);
  EXPECT_EQ(c.args(0), "exit 3");
  ASSERT_EQ(c.envs_size(), 1);
  EXPECT_EQ(c.envs(0).key(), "A");
  EXPECT_EQ(c.log_path(), "main.log");
  const auto& r = c.linux().resources();
  EXPECT_EQ(r.memory_limit_in_bytes(), 512LL * 1024 * 1024);
  EXPECT_EQ(r.cpu_period(), 100000);
  EXPECT_EQ(r.cpu_quota(), 50000);
  EXPECT_EQ(r.cpu_shares(), 512);
  const auto& s = c.linux().security_context();
  EXPECT_TRUE(s.no_new_privs());
  EXPECT_FALSE(s.privileged());
  EXPECT_EQ(s.seccomp().profile_type(), cri::v1::SecurityProfile::RuntimeDefault);
  for (auto mode : {s.namespace_options().network(), s.namespace_options().pid(),
                    s.namespace_options().ipc()}) {
    EXPECT_NE(mode, cri::v1::NODE);
  }
}

TEST(CriConfigsTest, CpuSharesHaveAFloor) {
  EXPECT_EQ(cpuShares(1), 2);
  EXPECT_EQ(cpuShares(1000), 1024);
}

TEST(CriConfigsTest, IdentityRoundTripsThroughASandbox) {
  const auto config = sandboxConfig(identity(), "node-7", "/x");
  cri::v1::PodSandbox listed;
  *listed.mutable_metadata() = config.metadata();
  *listed.mutable_labels() = config.labels();
  *listed.mutable_annotations() = config.annotations();
  auto back = identityFromSandbox(listed);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->spec, identity().spec);
  EXPECT_EQ(back->uid, "0123abcd");
  EXPECT_EQ(back->attempt, 2u);
}

TEST(CriConfigsTest, UnreadableSandboxGivesNoIdentity) {
  cri::v1::PodSandbox listed;
  listed.mutable_metadata()->set_name("wl-1");
  EXPECT_FALSE(identityFromSandbox(listed));
  (*listed.mutable_annotations())["zoneplane.io/spec"] = "{not json";
  EXPECT_FALSE(identityFromSandbox(listed));
  (*listed.mutable_annotations())["zoneplane.io/spec"] = R"({"id":"other","image":"a","runtime_class":"n","memory_mb":64,"cpu_millicores":100})";
  EXPECT_FALSE(identityFromSandbox(listed));  // name and spec disagree
}

}  // namespace
}  // namespace zp::agent
