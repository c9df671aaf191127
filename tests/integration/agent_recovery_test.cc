// The agent has no database: after a restart it rebuilds its registry from the
// sandboxes carrying its labels (docs/architecture.md §1, §4). These tests kill the real
// process, change things behind its back through CRI, and check what the
// restarted agent reports and that it never duplicates a sandbox.

#include <filesystem>
#include <map>

#include "agent/cri_configs.h"
#include "agent/pod_cgroups.h"
#include "agent/user_resolution.h"
#include "api/json.h"
#include "api/validate.h"
#include "agent_fixture.h"

namespace zp::agent_it {
namespace {

using Recovery = AgentIntegrationTest;
using ClassRecovery = PerClassTest;

std::map<std::string, Json> byId(const Json& list) {
  std::map<std::string, Json> out;
  if (list.contains("items")) {
    for (const auto& item : list["items"]) out[item.value("id", "")] = item;
  }
  return out;
}

// Once per runtime class; under "native" the killed workload runs in the
// "alt" class, so a second handler is recovered too.
TEST_P(ClassRecovery, KillNineAndRestartReportsTheSameWorkloads) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  const auto keep = workloadId("keep");      // keeps running throughout
  const auto killed = workloadId("killed");  // SIGKILLed while the agent is down
  const auto done = workloadId("done");      // exits 0 on SIGTERM while the agent is down
  const std::string killed_class = gvisor() ? runtimeClass() : "alt";
  const std::string killed_handler = gvisor() ? handler() : alt_handler_;
  const std::map<std::string, Json> specs = {
      {keep, classWorkload(keep, {"sleep", "300"})},
      {killed, workload(killed, {"sleep", "300"}, killed_class)},
      {done, classWorkload(done, {"sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"})},
  };
  for (const auto& [id, spec] : specs) {
    auto accepted = startWorkload(spec);
    ASSERT_EQ(accepted.value("type", ""), "Status") << accepted.dump();
  }
  std::map<std::string, Json> before;
  for (const auto& [id, spec] : specs) {
    ASSERT_TRUE(waitState(id, "Running", 60s, before[id])) << before[id].dump();
  }

  agent_.kill9();
  // Behind the agent's back: one container killed, one ends cleanly.
  auto stopped = cri_->stopContainer(before[killed].value("container_id", ""), 0s);
  ASSERT_TRUE(stopped.has_value()) << stopped.error().toString();
  auto ended = cri_->stopContainer(before[done].value("container_id", ""), 30s);
  ASSERT_TRUE(ended.has_value()) << ended.error().toString();

  for (int restart = 0; restart < 2; ++restart) {
    SCOPED_TRACE("restart " + std::to_string(restart + 1));
    ASSERT_NO_FATAL_FAILURE(startAgent());
    auto list = listWorkloads();
    ASSERT_EQ(list.value("type", ""), "WorkloadList") << list.dump();
    auto after = byId(list);
    ASSERT_EQ(after.size(), specs.size()) << list.dump();
    for (const auto& [id, spec] : specs) {
      ASSERT_TRUE(after.contains(id)) << list.dump();
      EXPECT_EQ(after[id].value("sandbox_id", ""), before[id].value("sandbox_id", "")) << id;
      EXPECT_EQ(after[id].value("container_id", ""), before[id].value("container_id", "")) << id;
      EXPECT_EQ(after[id].value("node", ""), node_id_);
      EXPECT_EQ(after[id].value("log_path", ""), before[id].value("log_path", "")) << id;
      EXPECT_EQ(sandboxesOf(id).size(), 1u) << id;
      EXPECT_EQ(containersOf(id).size(), 1u) << id;
    }
    EXPECT_EQ(after[keep].value("state", ""), "Running") << after[keep].dump();
    EXPECT_EQ(after[killed].value("state", ""), "Failed") << after[killed].dump();
    EXPECT_EQ(after[killed].value("exit_code", 0), 137) << after[killed].dump();
    EXPECT_EQ(after[killed].value("runtime_handler", ""), killed_handler) << after[killed].dump();
    EXPECT_EQ(after[keep].value("runtime_handler", ""), handler()) << after[keep].dump();
    EXPECT_EQ(after[done].value("state", ""), "Succeeded") << after[done].dump();
    EXPECT_EQ(after[done].value("exit_code", -1), 0) << after[done].dump();

    // Submitting the same specs again (the server would, after a reconnect)
    // changes nothing and creates nothing.
    for (const auto& [id, spec] : specs) {
      auto again = startWorkload(spec);
      ASSERT_EQ(again.value("type", ""), "Status") << again.dump();
      EXPECT_EQ(again.value("sandbox_id", ""), before[id].value("sandbox_id", "")) << again.dump();
      EXPECT_EQ(again.value("state", ""), after[id].value("state", "")) << again.dump();
    }
    std::this_thread::sleep_for(1500ms);  // let a few status sweeps run
    for (const auto& [id, spec] : specs) {
      EXPECT_EQ(sandboxesOf(id).size(), 1u) << id;
      EXPECT_EQ(containersOf(id).size(), 1u) << id;
    }
    EXPECT_EQ(getStatus(keep).value("state", ""), "Running");
    agent_.kill9();
  }
}

class HalfCreated : public AgentIntegrationTest {
 protected:
  // Runs a sandbox for `identity` exactly as the agent's CriRuntime would
  // (image present, log directory created, pod cgroup prepared, sandboxConfig,
  // class handler), without a container.
  std::string runSandboxLikeTheAgent(const agent::WorkloadIdentity& identity) {
    cri::v1::ImageSpec image;
    image.set_image(identity.spec.image);
    auto pulled = cri_->pullImage(image);
    EXPECT_TRUE(pulled.has_value()) << pulled.error().toString();
    const auto log_dir = data_dir_ / "logs" / (identity.spec.id + "_" + identity.uid);
    std::filesystem::create_directories(log_dir);
    auto cgroups = agent::CgroupfsPodCgroups::create(node_id_);
    EXPECT_TRUE(cgroups.has_value()) << cgroups.error().toString();
    if (!cgroups) return {};
    auto prepared = (*cgroups)->prepare(identity);
    EXPECT_TRUE(prepared.has_value()) << prepared.error().toString();
    auto sandbox = cri_->runPodSandbox(
        agent::sandboxConfig(identity, node_id_, log_dir.string(), (*cgroups)->placement(identity)),
        "runc");
    EXPECT_TRUE(sandbox.has_value()) << sandbox.error().toString();
    return sandbox ? *sandbox : std::string{};
  }

  // The placement the agent gives `identity` on this host.
  static agent::PodPlacement placementOf(const agent::WorkloadIdentity& identity,
                                         const std::string& node_id) {
    auto cgroups = agent::CgroupfsPodCgroups::create(node_id);
    return cgroups ? (*cgroups)->placement(identity) : agent::PodPlacement{};
  }

  agent::WorkloadIdentity identityFor(const std::string& id, unsigned attempt = 0,
                                      std::string uid = randomHex(32)) const {
    api::WorkloadSpec spec;
    spec.id = id;
    spec.image = image_;
    spec.runtime_class = "native";
    spec.memory_mb = 64;
    spec.cpu_millicores = 100;
    spec.command = {"sleep", "300"};
    agent::WorkloadIdentity identity;
    identity.spec = std::move(spec);
    identity.uid = std::move(uid);
    identity.attempt = attempt;
    // As if allocated by the agent (restricted profile, root image).
    identity.run_as_user = identity.run_as_group = agent::UidRange{}.start + 4242;
    return identity;
  }
};

// Sandboxes nothing ran in: one ready (the agent killed before
// CreateContainer, or a stop that could not remove it), one not ready (the
// agent killed during RunPodSandbox: containerd keeps it without its pause
// task; made here with StopPodSandbox, which the runtime reports the same
// way), one an older agent made (no user labels, no pod cgroup). The
// restarted agent cannot tell a start cut short from a stopped workload:
// it removes them and lists none, and runs each when it is delivered again.
TEST_F(HalfCreated, SandboxesNothingRanInAreRemovedAndRunWhenDeliveredAgain) {
  const auto ready_id = workloadId("half");
  const auto ready = runSandboxLikeTheAgent(identityFor(ready_id));
  const auto cut_id = workloadId("cut");
  const auto cut = runSandboxLikeTheAgent(identityFor(cut_id));
  ASSERT_FALSE(ready.empty());
  ASSERT_FALSE(cut.empty());
  ASSERT_TRUE(cri_->stopPodSandbox(cut).has_value());
  ASSERT_EQ(sandboxesOf(cut_id).at(0).state(), cri::v1::SANDBOX_NOTREADY);
  const auto old_id = workloadId("old");
  auto old = identityFor(old_id);
  old.run_as_user.reset();
  old.run_as_group.reset();
  const auto old_logs = data_dir_ / "logs" / (old_id + "_" + old.uid);
  std::filesystem::create_directories(old_logs);
  ASSERT_TRUE(
      cri_->runPodSandbox(
              agent::sandboxConfig(old, node_id_, old_logs.string(), agent::PodPlacement{}), "runc")
          .has_value());

  ASSERT_NO_FATAL_FAILURE(startAgent());
  for (const auto& id : {ready_id, cut_id, old_id}) {
    EXPECT_EQ(getStatus(id).value("code", ""), "NotFound") << id;
    EXPECT_TRUE(sandboxesOf(id).empty()) << id;
    EXPECT_TRUE(containersOf(id).empty()) << id;
  }
  EXPECT_TRUE(listWorkloads()["items"].empty());

  for (const auto& id : {ready_id, cut_id, old_id}) {
    auto again = startWorkload(workload(id, {"sleep", "300"}));
    ASSERT_EQ(again.value("type", ""), "Status") << again.dump();
  }
  for (const auto& id : {ready_id, cut_id, old_id}) {
    Json st;
    ASSERT_TRUE(waitState(id, "Running", 60s, st)) << st.dump();
    auto sandboxes = sandboxesOf(id);
    ASSERT_EQ(sandboxes.size(), 1u) << id;
    EXPECT_EQ(sandboxes[0].id(), st.value("sandbox_id", "")) << st.dump();
    EXPECT_NE(sandboxes[0].id(), ready);
    EXPECT_NE(sandboxes[0].id(), cut);
    EXPECT_EQ(sandboxes[0].state(), cri::v1::SANDBOX_READY);
    EXPECT_EQ(containersOf(id).size(), 1u) << id;
    // Never the image's root under the restricted profile.
    EXPECT_TRUE(agent::UidRange{}.contains(st.value("run_as_user", std::int64_t{-1}))) << st.dump();
  }
}

TEST_F(HalfCreated, OneWhoseSandboxLacksTheFullSpecIsRemovedAndRunsWhenDeliveredAgain) {
  const auto id = workloadId("bighalf");
  auto identity = identityFor(id);
  identity.spec.env["BIG"] = std::string(api::kMaxStringBytes, 'x');  // too big for the annotation
  identity.spec.command = {"sh", "-c", "echo size=${#BIG}; sleep 300"};
  const auto sandbox_id = runSandboxLikeTheAgent(identity);
  ASSERT_FALSE(sandbox_id.empty());
  ASSERT_EQ(sandboxesOf(id).size(), 1u);

  // The restarted agent cannot make the container from the trimmed spec: it
  // removes the sandbox and does not list the workload...
  ASSERT_NO_FATAL_FAILURE(startAgent());
  EXPECT_EQ(getStatus(id).value("code", ""), "NotFound");
  EXPECT_TRUE(sandboxesOf(id).empty());
  // ...which the server then delivers again (it re-sends what its node does not list).
  auto again = startWorkload(api::toJson(identity.spec));
  ASSERT_EQ(again.value("type", ""), "Status") << again.dump().substr(0, 300);
  Json st;
  ASSERT_TRUE(waitState(id, "Running", 60s, st)) << st.dump();
  auto sandboxes = sandboxesOf(id);
  ASSERT_EQ(sandboxes.size(), 1u);
  EXPECT_NE(sandboxes[0].id(), sandbox_id);
  // Made from the full spec: the container has the whole environment.
  const auto log = waitLogContains(st.value("log_path", ""), "size=16384");
  EXPECT_NE(log.find("size=16384"), std::string::npos) << log.substr(0, 300);
}

// Of two sandboxes of one workload, the one its container ran in is kept,
// though the other is newer.
TEST_F(HalfCreated, DuplicateSandboxesOfOneWorkloadAreReducedToTheOneThatRan) {
  const auto id = workloadId("dup");
  const auto ran = identityFor(id);
  const auto older = runSandboxLikeTheAgent(ran);
  ASSERT_FALSE(older.empty());
  const auto log_dir = data_dir_ / "logs" / (id + "_" + ran.uid);
  const auto placement = placementOf(ran, node_id_);
  auto container =
      cri_->createContainer(older, agent::containerConfig(ran, node_id_, placement),
                            agent::sandboxConfig(ran, node_id_, log_dir.string(), placement));
  ASSERT_TRUE(container.has_value()) << container.error().toString();
  ASSERT_TRUE(cri_->startContainer(*container).has_value());
  const auto newer = runSandboxLikeTheAgent(identityFor(id));
  ASSERT_FALSE(newer.empty());
  ASSERT_EQ(sandboxesOf(id).size(), 2u);

  ASSERT_NO_FATAL_FAILURE(startAgent());
  // Recovery runs before the agent listens.
  auto sandboxes = sandboxesOf(id);
  ASSERT_EQ(sandboxes.size(), 1u);
  EXPECT_EQ(sandboxes[0].id(), older);
  Json st = getStatus(id);
  EXPECT_EQ(st.value("state", ""), "Running") << st.dump();
  EXPECT_EQ(st.value("sandbox_id", ""), older) << st.dump();
  EXPECT_EQ(st.value("container_id", ""), *container) << st.dump();
  EXPECT_EQ(containersOf(id).size(), 1u);
  auto list = listWorkloads();
  EXPECT_EQ(list["items"].size(), 1u) << list.dump();
}

TEST_F(HalfCreated, DuplicatesOfOneSubmissionKeepTheSurvivorsLog) {
  // Two attempts of one submission (same uid) share a log directory: the
  // survivor runs a container that has logged; removing the other attempt
  // must not delete that log.
  const auto id = workloadId("dupuid");
  const std::string uid = randomHex(32);
  const auto older = runSandboxLikeTheAgent(identityFor(id, 0, uid));
  auto survivor = identityFor(id, 1, uid);
  survivor.spec.command = {"sh", "-c", "echo survivor-log; sleep 300"};
  const auto newer = runSandboxLikeTheAgent(survivor);
  ASSERT_FALSE(older.empty());
  ASSERT_FALSE(newer.empty());
  const auto log_dir = data_dir_ / "logs" / (id + "_" + uid);
  const auto placement = placementOf(survivor, node_id_);
  auto container =
      cri_->createContainer(newer, agent::containerConfig(survivor, node_id_, placement),
                            agent::sandboxConfig(survivor, node_id_, log_dir.string(), placement));
  ASSERT_TRUE(container.has_value()) << container.error().toString();
  ASSERT_TRUE(cri_->startContainer(*container).has_value());
  const auto log_path = (log_dir / "main.log").string();
  ASSERT_NE(waitLogContains(log_path, " stdout F survivor-log").find("survivor-log"),
            std::string::npos);

  ASSERT_NO_FATAL_FAILURE(startAgent());
  ASSERT_EQ(sandboxesOf(id).size(), 1u);
  Json st = getStatus(id);
  EXPECT_EQ(st.value("state", ""), "Running") << st.dump();
  EXPECT_EQ(st.value("sandbox_id", ""), newer) << st.dump();
  EXPECT_EQ(st.value("container_id", ""), *container) << st.dump();
  EXPECT_EQ(st.value("log_path", ""), log_path);
  EXPECT_NE(readFile(log_path).find(" stdout F survivor-log"), std::string::npos)
      << "the running workload's log was deleted with its duplicate";
}

TEST_F(Recovery, SigtermExitsZeroAndLeavesWorkloadsRunning) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  const auto id = workloadId("term");
  ASSERT_EQ(startWorkload(workload(id, {"sleep", "300"})).value("type", ""), "Status");
  Json st;
  ASSERT_TRUE(waitState(id, "Running", 60s, st)) << st.dump();
  client_.reset();

  const auto code = agent_.terminate(60s);
  ASSERT_TRUE(code.has_value()) << "the agent did not exit within 60 s of SIGTERM";
  EXPECT_EQ(*code, 0);

  auto sandbox = cri_->podSandboxStatus(st.value("sandbox_id", ""));
  ASSERT_TRUE(sandbox.has_value()) << sandbox.error().toString();
  EXPECT_EQ(sandbox->status().state(), cri::v1::SANDBOX_READY);
  auto container = cri_->containerStatus(st.value("container_id", ""));
  ASSERT_TRUE(container.has_value()) << container.error().toString();
  EXPECT_EQ(container->status().state(), cri::v1::CONTAINER_RUNNING);
}

INSTANTIATE_TEST_SUITE_P(Runtime, ClassRecovery, ::testing::ValuesIn(runtimeClassNames()),
                         classParamName);

}  // namespace
}  // namespace zp::agent_it
