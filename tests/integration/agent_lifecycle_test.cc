// The real zoneplane-agent against the stack's containerd: a workload's life
// from StartWorkload to Succeeded/Failed, its logs and limits, and teardown
// with StopWorkload/RemoveWorkload. The ClassLifecycle tests run once per
// runtime class: "native" (runc) and "gvisor" (runsc, gVisor's own kernel).

#include <chrono>
#include <filesystem>
#include <thread>

#include "agent_fixture.h"

namespace zp::agent_it {
namespace {

class Lifecycle : public AgentIntegrationTest {
 protected:
  // After a removal: no sandbox or container of `id` in the runtime, and
  // the agent no longer knows it.
  void expectNothingLeft(const std::string& id) {
    EXPECT_TRUE(sandboxesOf(id).empty());
    EXPECT_TRUE(containersOf(id).empty());
    EXPECT_EQ(getStatus(id).value("code", ""), "NotFound");
  }
};
using ClassLifecycle = PerClassTest;

TEST_P(ClassLifecycle, RunsToCompletionSucceedsAndLogs) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  const auto id = workloadId("ok");
  const std::string marker = "zp-hello-" + randomHex(6);
  auto accepted = startWorkload(classWorkload(id, {"sh", "-c", "echo " + marker + "; sleep 3"}));
  ASSERT_EQ(accepted.value("type", ""), "Status") << accepted.dump();
  EXPECT_EQ(accepted.value("id", ""), id);
  EXPECT_EQ(accepted.value("state", ""), "Pending");
  EXPECT_EQ(accepted.value("node", ""), node_id_);

  Json st;
  ASSERT_TRUE(waitState(id, "Running", 60s, st)) << st.dump();
  EXPECT_FALSE(st.value("sandbox_id", "").empty()) << st.dump();
  EXPECT_FALSE(st.value("container_id", "").empty()) << st.dump();
  EXPECT_EQ(st.value("runtime_handler", ""), handler()) << st.dump();

  ASSERT_TRUE(waitTerminal(id, 60s, st)) << st.dump();
  EXPECT_EQ(st.value("state", ""), "Succeeded") << st.dump();
  EXPECT_EQ(st.value("exit_code", -1), 0) << st.dump();
  EXPECT_EQ(st.value("reason", ""), "Completed") << st.dump();
  EXPECT_TRUE(st.contains("started_at") && st.contains("finished_at")) << st.dump();

  const std::string log_path = st.value("log_path", "");
  ASSERT_FALSE(log_path.empty()) << st.dump();
  EXPECT_TRUE(log_path.starts_with(data_dir_.string() + "/")) << log_path;
  const auto log = waitLogContains(log_path, " stdout F " + marker);
  EXPECT_NE(log.find(" stdout F " + marker), std::string::npos) << "log " << log_path << ":\n" << log;
}

TEST_P(ClassLifecycle, NonZeroExitIsFailedWithTheExitCode) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  const auto id = workloadId("exit3");
  auto accepted = startWorkload(classWorkload(id, {"sh", "-c", "exit 3"}));
  ASSERT_EQ(accepted.value("type", ""), "Status") << accepted.dump();
  Json st;
  ASSERT_TRUE(waitTerminal(id, 60s, st)) << st.dump();
  EXPECT_EQ(st.value("state", ""), "Failed") << st.dump();
  EXPECT_EQ(st.value("exit_code", -1), 3) << st.dump();
  EXPECT_FALSE(st.value("reason", "").empty()) << st.dump();
}

// runc: the container's memory cgroup (v1 first, v2 as the fallback) holds
// the limit. gVisor: no host cgroup files inside (its /sys/fs/cgroup is
// empty); its kernel sizes the machine it shows to the limit instead.
TEST_P(ClassLifecycle, MemoryLimitIsVisibleInsideTheContainer) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  const auto id = workloadId("mem");
  const std::string probe =
      gvisor() ? "awk '/^MemTotal:/ { print \"total=\" $2 $3 }' /proc/meminfo"
               : "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || "
                 "cat /sys/fs/cgroup/memory.max";
  const std::string expected = gvisor() ? " stdout F total=65536kB" : " stdout F 67108864";
  auto accepted = startWorkload(classWorkload(id, {"sh", "-c", probe}, 64));
  ASSERT_EQ(accepted.value("type", ""), "Status") << accepted.dump();
  Json st;
  ASSERT_TRUE(waitTerminal(id, 60s, st)) << st.dump();
  EXPECT_EQ(st.value("state", ""), "Succeeded") << st.dump();
  const auto log = waitLogContains(st.value("log_path", ""), expected);
  EXPECT_NE(log.find(expected), std::string::npos) << "log:\n" << log;
}

// The OOM rule: a container in which the kernel OOM-killed a process is
// Failed/OOMKilled, even when its main process exits 0 afterwards (here a
// shell whose child grows past the limit). runc: the host kernel kills the
// child, the shell goes on and exits 0. gVisor: the limit bounds the whole
// sandbox (its kernel, the gofer and the workload's memory), so the host
// kills the sandbox: the container ends 137 and the shell never goes on.
TEST_P(ClassLifecycle, AnOomKillFailsTheWorkload) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  const auto id = workloadId("oom");
  // gVisor's own kernel needs a few MiB of the limit before the workload runs.
  const std::int64_t limit_mb = gvisor() ? 32 : 16;
  auto accepted = startWorkload(classWorkload(
      id, {"sh", "-c", "sh -c 'x=0123456789abcdef; while :; do x=$x$x; done'; echo survived; exit 0"},
      limit_mb));
  ASSERT_EQ(accepted.value("type", ""), "Status") << accepted.dump();
  Json st;
  ASSERT_TRUE(waitTerminal(id, 60s, st)) << st.dump();
  EXPECT_EQ(st.value("state", ""), "Failed") << st.dump();
  EXPECT_EQ(st.value("reason", ""), "OOMKilled") << st.dump();
  EXPECT_NE(st.value("message", "").find("memory limit"), std::string::npos) << st.dump();
  if (gvisor()) {
    EXPECT_EQ(st.value("exit_code", -1), 137) << st.dump();
    EXPECT_EQ(readFile(st.value("log_path", "")).find("survived"), std::string::npos);
  } else {
    EXPECT_EQ(st.value("exit_code", -1), 0) << st.dump();
    const auto log = waitLogContains(st.value("log_path", ""), "survived");
    EXPECT_NE(log.find("survived"), std::string::npos) << log;
  }
}

TEST_P(ClassLifecycle, StopThenRemoveLeavesNothingBehind) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  const auto id = workloadId("stop");
  auto accepted = startWorkload(classWorkload(id, {"sleep", "300"}));
  ASSERT_EQ(accepted.value("type", ""), "Status") << accepted.dump();
  Json st;
  ASSERT_TRUE(waitState(id, "Running", 60s, st)) << st.dump();
  const std::string log_path = st.value("log_path", "");
  ASSERT_FALSE(log_path.empty());
  const auto log_dir = std::filesystem::path(log_path).parent_path();
  EXPECT_TRUE(std::filesystem::is_directory(log_dir)) << log_dir;
  ASSERT_EQ(sandboxesOf(id).size(), 1u);
  ASSERT_EQ(containersOf(id).size(), 1u);

  auto stopped = stopWorkload(id, 1);
  ASSERT_EQ(stopped.value("type", ""), "Status") << stopped.dump();
  EXPECT_TRUE(stopped.value("state", "") == "Failed" || stopped.value("state", "") == "Succeeded")
      << stopped.dump();
  EXPECT_TRUE(stopped.contains("exit_code")) << stopped.dump();
  // The record stays, in its final state.
  st = getStatus(id);
  EXPECT_EQ(st.value("state", ""), stopped.value("state", "")) << st.dump();
  // A second stop is harmless.
  auto again = stopWorkload(id, 1);
  EXPECT_EQ(again.value("type", ""), "Status") << again.dump();

  auto removed = removeWorkload(id, 1);
  ASSERT_EQ(removed.value("type", ""), "Removed") << removed.dump();
  EXPECT_EQ(removed.value("id", ""), id);
  EXPECT_TRUE(sandboxesOf(id).empty());
  EXPECT_TRUE(containersOf(id).empty());
  EXPECT_FALSE(std::filesystem::exists(log_dir)) << log_dir;

  auto gone = getStatus(id);
  EXPECT_EQ(gone.value("type", ""), "Error") << gone.dump();
  EXPECT_EQ(gone.value("code", ""), "NotFound") << gone.dump();
  auto gone_again = removeWorkload(id, 1);
  EXPECT_EQ(gone_again.value("code", ""), "NotFound") << gone_again.dump();
  auto list = listWorkloads();
  ASSERT_EQ(list.value("type", ""), "WorkloadList") << list.dump();
  EXPECT_TRUE(list["items"].empty()) << list.dump();
}

TEST_F(Lifecycle, UnknownImageIsFailedWithErrImagePull) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  const auto id = workloadId("noimage");
  const std::string image = "127.0.0.1:5000/zoneplane/does-not-exist:1";
  auto accepted = startWorkload(workloadJson(id, image, {"sh", "-c", "exit 0"}));
  ASSERT_EQ(accepted.value("type", ""), "Status") << accepted.dump();
  Json st;
  ASSERT_TRUE(waitTerminal(id, 120s, st)) << st.dump();
  EXPECT_EQ(st.value("state", ""), "Failed") << st.dump();
  EXPECT_EQ(st.value("reason", ""), "ErrImagePull") << st.dump();
  // The image, its registry and the kind of failure (not the runtime's raw words).
  const std::string message = st.value("message", "");
  EXPECT_NE(message.find("\"" + image + "\""), std::string::npos) << message;
  EXPECT_NE(message.find("failed: not found"), std::string::npos) << message;
  EXPECT_NE(message.find("registry 127.0.0.1:5000"), std::string::npos) << message;
  EXPECT_FALSE(st.contains("exit_code")) << st.dump();
  EXPECT_TRUE(sandboxesOf(id).empty());
}

TEST_F(Lifecycle, RemoveOfARunningWorkloadStopsItFirst) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  const auto id = workloadId("rmrun");
  auto accepted = startWorkload(workload(id, {"sleep", "300"}, "alt"));
  ASSERT_EQ(accepted.value("type", ""), "Status") << accepted.dump();
  Json st;
  ASSERT_TRUE(waitState(id, "Running", 60s, st)) << st.dump();
  auto removed = removeWorkload(id, 1);
  ASSERT_EQ(removed.value("type", ""), "Removed") << removed.dump();
  expectNothingLeft(id);
}

// A removal with a shorter grace period while another still waits out a long
// one (the container, PID 1, ignores SIGTERM): the second kills it, and both
// answer Removed long before the first's 120 s are up. The server sends such
// a second removal for a DELETE asking for a shorter grace (§8.8).
TEST_F(Lifecycle, AShorterRemovalEndsALongerOneInProgress) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  const auto id = workloadId("rmtwice");
  auto accepted = startWorkload(workload(id, {"sleep", "300"}));
  ASSERT_EQ(accepted.value("type", ""), "Status") << accepted.dump();
  Json st;
  ASSERT_TRUE(waitState(id, "Running", 60s, st)) << st.dump();
  const auto started = std::chrono::steady_clock::now();
  LineClient slow = connect();
  Json first;
  std::thread waiting([&] {
    auto reply =
        slow.call({{"type", "RemoveWorkload"}, {"id", id}, {"timeout_seconds", 120}}, 180s);
    first = reply ? *reply : Json{{"type", "TransportError"}};
  });
  // Once the long stop is under way (SIGTERM sent and ignored):
  std::this_thread::sleep_for(1s);
  auto second = removeWorkload(id, 0);
  waiting.join();
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(second.value("type", ""), "Removed") << second.dump();
  // Removed, or NotFound had the second removal reached the agent first (a
  // loaded machine: the first was not under way after the second).
  EXPECT_TRUE(first.value("type", "") == "Removed" || first.value("code", "") == "NotFound")
      << first.dump();
  EXPECT_LT(took, 100s);  // not the 120 s grace period: the second removal ended it
  expectNothingLeft(id);
}

INSTANTIATE_TEST_SUITE_P(Runtime, ClassLifecycle, ::testing::ValuesIn(runtimeClassNames()),
                         classParamName);

}  // namespace
}  // namespace zp::agent_it
