#include "agent/cri_configs.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "api/validate.h"

namespace zp::agent {
namespace {

WorkloadIdentity identity() {
  WorkloadIdentity id;
  id.spec.id = "wl-1";
  id.spec.image = "127.0.0.1:5000/app:1";
  id.spec.runtime_class = "native";
  id.spec.memory_mb = 512;
  id.spec.cpu_millicores = 500;
  id.spec.command = {"sh", "-c"};
  id.spec.args = {"exit 3"};
  id.spec.env = {{"A", "1"}};
  id.uid = "0123abcd";
  id.attempt = 2;
  id.run_as_user = 1'000'000'007;
  id.run_as_group = 1'000'000'007;
  return id;
}

WorkloadIdentity baseline() {
  auto id = identity();
  id.spec.security.profile = api::Profile::kBaseline;
  id.run_as_user = 0;
  id.run_as_group.reset();
  return id;
}

const PodPlacement kV1{"/zoneplane/node-7/pod0123abcd", false};
const PodPlacement kV2{"/zoneplane/node-7/pod0123abcd", true};

cri::v1::LinuxContainerSecurityContext containerSecurity(const WorkloadIdentity& id,
                                                         const PodPlacement& placement = kV1) {
  return containerConfig(id, "node-7", placement).linux().security_context();
}

std::vector<std::string> added(const cri::v1::LinuxContainerSecurityContext& s) {
  const auto& list = s.capabilities().add_capabilities();
  return {list.begin(), list.end()};
}

// ---- identity, labels, resources

TEST(CriConfigsTest, SandboxCarriesIdentityLabelsAndSpec) {
  const auto c = sandboxConfig(identity(), "node-7", "/data/logs/wl-1_0123abcd", kV1);
  EXPECT_EQ(c.metadata().name(), "wl-1");
  EXPECT_EQ(c.metadata().namespace_(), "zoneplane");
  EXPECT_EQ(c.metadata().uid(), "0123abcd");
  EXPECT_EQ(c.metadata().attempt(), 2u);
  EXPECT_EQ(c.log_directory(), "/data/logs/wl-1_0123abcd");
  EXPECT_EQ(c.hostname(), "wl-1");  // own UTS namespace
  EXPECT_EQ(c.labels().at("zoneplane.io/workload-id"), "wl-1");
  EXPECT_EQ(c.labels().at("zoneplane.io/node-id"), "node-7");
  EXPECT_EQ(c.labels().at("zoneplane.io/managed"), "true");
  EXPECT_EQ(c.labels().at("zoneplane.io/run-as-user"), "1000000007");
  EXPECT_EQ(c.labels().at("zoneplane.io/run-as-group"), "1000000007");
  EXPECT_TRUE(c.annotations().contains("zoneplane.io/spec"));
}

TEST(CriConfigsTest, ContainerCarriesImageCommandEnvAndLimits) {
  const auto c = containerConfig(identity(), "node-7", kV1);
  EXPECT_EQ(c.image().image(), "127.0.0.1:5000/app:1");
  ASSERT_EQ(c.command_size(), 2);
  EXPECT_EQ(c.args(0), "exit 3");
  ASSERT_EQ(c.envs_size(), 1);
  EXPECT_EQ(c.envs(0).key(), "A");
  EXPECT_EQ(c.log_path(), "main.log");
  EXPECT_EQ(c.labels().at("zoneplane.io/run-as-user"), "1000000007");
  for (const auto& r : {c.linux().resources(),
                        sandboxConfig(identity(), "node-7", "/x", kV1).linux().resources()}) {
    EXPECT_EQ(r.memory_limit_in_bytes(), 512LL * 1024 * 1024);
    EXPECT_EQ(r.cpu_period(), 100000);
    EXPECT_EQ(r.cpu_quota(), 50000);
    EXPECT_EQ(r.cpu_shares(), 512);
  }
}

TEST(CriConfigsTest, CpuSharesHaveAFloor) {
  EXPECT_EQ(cpuShares(1), 2);
  EXPECT_EQ(cpuShares(1000), 1024);
}

// ---- the posture, one control per test

TEST(CriConfigsTest, NeverPrivileged) {
  for (const auto& id : {identity(), baseline()}) {
    EXPECT_FALSE(containerSecurity(id).privileged());
    EXPECT_FALSE(sandboxConfig(id, "n", "/x", kV1).linux().security_context().privileged());
  }
}

TEST(CriConfigsTest, OwnNetworkPidAndIpcNamespaces) {
  const auto c = containerSecurity(identity()).namespace_options();
  EXPECT_EQ(c.network(), cri::v1::POD);
  EXPECT_EQ(c.pid(), cri::v1::CONTAINER);
  EXPECT_EQ(c.ipc(), cri::v1::POD);
  const auto s =
      sandboxConfig(identity(), "n", "/x", kV1).linux().security_context().namespace_options();
  EXPECT_EQ(s.network(), cri::v1::POD);
  EXPECT_EQ(s.pid(), cri::v1::POD);
  EXPECT_EQ(s.ipc(), cri::v1::POD);
}

TEST(CriConfigsTest, SeccompRuntimeDefaultEverywhere) {
  const auto c = containerSecurity(identity());
  ASSERT_TRUE(c.has_seccomp());
  EXPECT_EQ(c.seccomp().profile_type(), cri::v1::SecurityProfile::RuntimeDefault);
  const auto s = sandboxConfig(identity(), "n", "/x", kV1).linux().security_context();
  ASSERT_TRUE(s.has_seccomp());
  EXPECT_EQ(s.seccomp().profile_type(), cri::v1::SecurityProfile::RuntimeDefault);
}

TEST(CriConfigsTest, NoNewPrivs) {
  EXPECT_TRUE(containerSecurity(identity()).no_new_privs());
  EXPECT_TRUE(containerSecurity(baseline()).no_new_privs());
}

TEST(CriConfigsTest, RestrictedDropsAllCapabilities) {
  const auto s = containerSecurity(identity());
  ASSERT_EQ(s.capabilities().drop_capabilities_size(), 1);
  EXPECT_EQ(s.capabilities().drop_capabilities(0), "ALL");
  EXPECT_TRUE(added(s).empty());
  EXPECT_EQ(s.capabilities().add_ambient_capabilities_size(), 0);
}

TEST(CriConfigsTest, RestrictedMayAddNetBindServiceWithTheUnprivilegedPortSysctl) {
  auto id = identity();
  EXPECT_FALSE(sandboxConfig(id, "n", "/x", kV1)
                   .linux()
                   .sysctls()
                   .contains(std::string(kUnprivilegedPortSysctl)));
  id.spec.security.capabilities_add = {"NET_BIND_SERVICE"};
  EXPECT_EQ(added(containerSecurity(id)), std::vector<std::string>{"NET_BIND_SERVICE"});
  EXPECT_EQ(containerSecurity(id).capabilities().drop_capabilities(0), "ALL");
  // A non-root user cannot use the capability without ambient capabilities:
  // the pod's own network namespace lets it bind low ports instead.
  EXPECT_EQ(
      sandboxConfig(id, "n", "/x", kV1).linux().sysctls().at(std::string(kUnprivilegedPortSysctl)),
      "0");
}

TEST(CriConfigsTest, BaselineIsExactlyTheBaselineSetWhateverTheRuntimeDefault) {
  const auto s = containerSecurity(baseline());
  ASSERT_EQ(s.capabilities().drop_capabilities_size(), 1);
  EXPECT_EQ(s.capabilities().drop_capabilities(0), "ALL");
  std::vector<std::string> want(std::begin(api::kBaselineCapabilities),
                                std::end(api::kBaselineCapabilities));
  std::sort(want.begin(), want.end());
  EXPECT_EQ(added(s), want);
  EXPECT_EQ(std::count(want.begin(), want.end(), "NET_RAW"), 0);
  // Adding one of the set changes nothing (no duplicates).
  auto id = baseline();
  id.spec.security.capabilities_add = {"CHOWN", "NET_BIND_SERVICE"};
  EXPECT_EQ(added(containerSecurity(id)), want);
  EXPECT_EQ(grantedCapabilities(id.spec.security), want);
}

TEST(CriConfigsTest, UserAndGroupComeFromTheIdentity) {
  const auto s = containerSecurity(identity());
  ASSERT_TRUE(s.has_run_as_user());
  EXPECT_EQ(s.run_as_user().value(), 1'000'000'007);
  ASSERT_TRUE(s.has_run_as_group());
  EXPECT_EQ(s.run_as_group().value(), 1'000'000'007);
  // baseline with the image's named user: nothing set, the runtime resolves it.
  auto id = baseline();
  id.run_as_user.reset();
  const auto unset = containerSecurity(id);
  EXPECT_FALSE(unset.has_run_as_user());
  EXPECT_FALSE(unset.has_run_as_group());
  EXPECT_TRUE(unset.run_as_username().empty());
}

TEST(CriConfigsTest, NoSupplementaryGroupsFromTheImage) {
  for (const auto& id : {identity(), baseline()}) {
    EXPECT_EQ(containerSecurity(id).supplemental_groups_policy(), cri::v1::Strict);
    EXPECT_TRUE(containerSecurity(id).supplemental_groups().empty());
    EXPECT_EQ(sandboxConfig(id, "n", "/x", kV1).linux().security_context().supplemental_groups_policy(),
              cri::v1::Strict);
  }
}

TEST(CriConfigsTest, SandboxRunsAsTheWorkloadsNonRootUserElseTheSandboxUser) {
  auto s = sandboxConfig(identity(), "n", "/x", kV1).linux().security_context();
  EXPECT_EQ(s.run_as_user().value(), 1'000'000'007);
  EXPECT_EQ(s.run_as_group().value(), 1'000'000'007);
  EXPECT_TRUE(s.readonly_rootfs());
  s = sandboxConfig(baseline(), "n", "/x", kV1).linux().security_context();
  EXPECT_EQ(s.run_as_user().value(), kSandboxUser);
  EXPECT_EQ(s.run_as_group().value(), kSandboxUser);
  EXPECT_TRUE(s.readonly_rootfs());
}

TEST(CriConfigsTest, ReadOnlyRootFsOnRequest) {
  auto id = identity();
  EXPECT_FALSE(containerSecurity(id).readonly_rootfs());
  id.spec.security.read_only_root_fs = true;
  EXPECT_TRUE(containerSecurity(id).readonly_rootfs());
}

TEST(CriConfigsTest, MaskedPathsAreTheKubeletDefaults) {
  const auto s = containerSecurity(identity());
  const std::vector<std::string> want{"/proc/asound",
                                      "/proc/acpi",
                                      "/proc/kcore",
                                      "/proc/keys",
                                      "/proc/latency_stats",
                                      "/proc/timer_list",
                                      "/proc/timer_stats",
                                      "/proc/sched_debug",
                                      "/proc/scsi",
                                      "/sys/firmware",
                                      "/sys/devices/virtual/powercap"};
  EXPECT_EQ(std::vector<std::string>(s.masked_paths().begin(), s.masked_paths().end()), want);
  EXPECT_EQ(containerSecurity(baseline()).masked_paths_size(), static_cast<int>(want.size()));
}

TEST(CriConfigsTest, ReadonlyPathsAreTheKubeletDefaults) {
  const auto s = containerSecurity(baseline());
  const std::vector<std::string> want{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                      "/proc/sysrq-trigger"};
  EXPECT_EQ(std::vector<std::string>(s.readonly_paths().begin(), s.readonly_paths().end()), want);
}

TEST(CriConfigsTest, PodCgroupIsTheSandboxsCgroupParent) {
  EXPECT_EQ(sandboxConfig(identity(), "n", "/x", kV1).linux().cgroup_parent(),
            "/zoneplane/node-7/pod0123abcd");
  EXPECT_EQ(sandboxConfig(identity(), "n", "/x", PodPlacement{}).linux().cgroup_parent(), "");
}

TEST(CriConfigsTest, PidsMaxGoesThroughUnifiedOnlyOnCgroupV2) {
  auto id = identity();
  id.spec.security.pids_limit = 300;
  EXPECT_TRUE(containerConfig(id, "n", kV1).linux().resources().unified().empty());
  EXPECT_EQ(containerConfig(id, "n", kV2).linux().resources().unified().at("pids.max"), "300");
}

// ---- back from a listing

cri::v1::PodSandbox listed(const WorkloadIdentity& id) {
  const auto config = sandboxConfig(id, "node-7", "/x", kV1);
  cri::v1::PodSandbox out;
  *out.mutable_metadata() = config.metadata();
  *out.mutable_labels() = config.labels();
  *out.mutable_annotations() = config.annotations();
  return out;
}

TEST(CriConfigsTest, IdentityRoundTripsThroughASandboxUserIncluded) {
  auto back = identityFromSandbox(listed(identity()));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->spec, identity().spec);
  EXPECT_EQ(back->uid, "0123abcd");
  EXPECT_EQ(back->attempt, 2u);
  EXPECT_EQ(back->run_as_user, 1'000'000'007);
  EXPECT_EQ(back->run_as_group, 1'000'000'007);

  auto id = baseline();
  id.run_as_user.reset();
  back = identityFromSandbox(listed(id));
  ASSERT_TRUE(back);
  EXPECT_FALSE(back->run_as_user);
  EXPECT_FALSE(back->run_as_group);
  EXPECT_EQ(back->spec.security.profile, api::Profile::kBaseline);
}

TEST(CriConfigsTest, UnreadableSandboxGivesNoIdentity) {
  cri::v1::PodSandbox sandbox;
  sandbox.mutable_metadata()->set_name("wl-1");
  EXPECT_FALSE(identityFromSandbox(sandbox));
  (*sandbox.mutable_annotations())["zoneplane.io/spec"] = "{not json";
  EXPECT_FALSE(identityFromSandbox(sandbox));
  (*sandbox.mutable_annotations())["zoneplane.io/spec"] =
      R"({"id":"other","image":"a","runtime_class":"n","memory_mb":64,"cpu_millicores":100})";
  EXPECT_FALSE(identityFromSandbox(sandbox));  // name and spec disagree

  for (const char* bad : {"", "-1", "12x", "2147483648", " 7"}) {
    auto s = listed(identity());
    (*s.mutable_labels())["zoneplane.io/run-as-user"] = bad;
    EXPECT_FALSE(identityFromSandbox(s)) << "\"" << bad << "\"";
  }
  // The submission uid names host paths: a listed one that could escape them is refused.
  const std::string too_long(65, 'a');
  for (const std::string& bad : {std::string(), std::string("../../etc"), std::string("a/b"),
                                 std::string("UPPER"), too_long}) {
    auto s = listed(identity());
    s.mutable_metadata()->set_uid(bad);
    EXPECT_FALSE(identityFromSandbox(s)) << "\"" << bad << "\"";
  }
}

}  // namespace
TEST(ContainerLogNameTest, TheAttemptIsReadBackFromTheName) {
  for (unsigned attempt : {0u, 1u, 12u}) {
    EXPECT_EQ(logAttempt("/var/log/w_u/" + containerLogName(attempt)), attempt);
  }
  EXPECT_EQ(logAttempt("main.log"), 0u);
  for (const char* other : {"/x/other.log", "/x/main.01.log", "/x/main..log", "/x/main.1x.log",
                            "/x/main.log.1", "", "/x/main.99999999999.log"}) {
    EXPECT_EQ(logAttempt(other), std::nullopt) << other;
  }
}

}  // namespace zp::agent
