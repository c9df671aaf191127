// The agent's CriRuntime against the stack's containerd, below the agent
// process: what a retried pipeline step finds after a lost reply
// (docs/architecture.md §4, "Faults").

#include <filesystem>

#include "agent/config.h"
#include "agent/cri_runtime.h"
#include "agent/pod_cgroups.h"
#include "agent_fixture.h"

namespace zp::agent_it {
namespace {

class CriRuntimeRetry : public AgentIntegrationTest {
 protected:
  std::unique_ptr<agent::CriRuntime> makeRuntime() {
    agent::AgentConfig config;
    config.node_id = node_id_;
    config.data_dir = data_dir_.string();
    config.runtime_classes["native"] = agent::RuntimeClassConfig{.endpoint = endpoint_, .handler = "runc"};
    auto runtime = agent::CriRuntime::create(config);
    EXPECT_TRUE(runtime.has_value()) << runtime.error().toString();
    return runtime ? std::move(*runtime) : nullptr;
  }

  agent::WorkloadIdentity identity(const std::string& id) const {
    agent::WorkloadIdentity identity;
    identity.spec.id = id;
    identity.spec.image = image_;
    identity.spec.runtime_class = "native";
    identity.spec.memory_mb = 64;
    identity.spec.cpu_millicores = 100;
    identity.spec.command = {"sleep", "300"};
    identity.uid = randomHex(32);
    identity.run_as_user = identity.run_as_group = agent::UidRange{}.start + 4343;
    return identity;
  }
};

// containerd restarted during RunPodSandbox keeps the sandbox it had begun,
// not ready (no pause task). The retry must not take it for the lost reply's
// sandbox (CreateContainer in it fails: "no running task found") and must be
// able to run the sandbox again under the same name. The not-ready sandbox
// is removed the way removeWorkload() removes one: its pod cgroup is
// released with it (and prepared again by the next RunPodSandbox).
TEST_F(CriRuntimeRetry, ASandboxLeftNotReadyIsRemovedAndRunAgain) {
  auto runtime = makeRuntime();
  ASSERT_NE(runtime, nullptr);
  auto cgroups = agent::CgroupfsPodCgroups::create(node_id_);
  ASSERT_TRUE(cgroups.has_value()) << cgroups.error().toString();
  const auto wanted = identity(workloadId("notready"));
  const auto pod_cgroup = (*cgroups)->podDirectory(wanted);
  auto first = runtime->runSandbox(wanted);
  ASSERT_TRUE(first.has_value()) << first.error().toString();
  EXPECT_TRUE(std::filesystem::is_directory(pod_cgroup)) << pod_cgroup;
  auto found = runtime->findSandbox(wanted);
  ASSERT_TRUE(found.has_value()) << found.error().toString();
  EXPECT_EQ(found->value_or(""), *first);  // a ready one is the lost reply's

  ASSERT_TRUE(cri_->stopPodSandbox(*first).has_value());
  found = runtime->findSandbox(wanted);
  ASSERT_TRUE(found.has_value()) << found.error().toString();
  EXPECT_FALSE(found->has_value()) << "a not-ready sandbox was taken: " << found->value_or("");
  EXPECT_TRUE(sandboxesOf(wanted.spec.id).empty());
  EXPECT_FALSE(std::filesystem::exists(pod_cgroup)) << "pod cgroup left behind: " << pod_cgroup;

  auto again = runtime->runSandbox(wanted);
  ASSERT_TRUE(again.has_value()) << again.error().toString();
  EXPECT_TRUE(std::filesystem::is_directory(pod_cgroup)) << pod_cgroup;
  auto listed = sandboxesOf(wanted.spec.id);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id(), *again);
  EXPECT_EQ(listed[0].state(), cri::v1::SANDBOX_READY);
  EXPECT_TRUE(runtime->removeWorkload(wanted, *again).has_value());
  EXPECT_FALSE(std::filesystem::exists(pod_cgroup));
}

}  // namespace
}  // namespace zp::agent_it
