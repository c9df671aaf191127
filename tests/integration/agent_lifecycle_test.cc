// The real zoneplane-agent against the stack's containerd: a workload's life
// from StartWorkload to Succeeded/Failed, its logs and limits, and teardown
// with StopWorkload/RemoveWorkload.

#include <filesystem>

#include "agent_fixture.h"

namespace zp::agent_it {
namespace {

using Lifecycle = AgentIntegrationTest;

TEST_F(Lifecycle, RunsToCompletionSucceedsAndLogs) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  const auto id = workloadId("ok");
  const std::string marker = "zp-hello-" + randomHex(6);
  auto accepted = startWorkload(workload(id, {"sh", "-c", "echo " + marker + "; sleep 5"}));
  ASSERT_EQ(accepted.value("type", ""), "Status") << accepted.dump();
  EXPECT_EQ(accepted.value("id", ""), id);
  EXPECT_EQ(accepted.value("state", ""), "Pending");
  EXPECT_EQ(accepted.value("node", ""), node_id_);

  Json st;
  ASSERT_TRUE(waitState(id, "Running", 60s, st)) << st.dump();
  EXPECT_FALSE(st.value("sandbox_id", "").empty()) << st.dump();
  EXPECT_FALSE(st.value("container_id", "").empty()) << st.dump();
  EXPECT_EQ(st.value("runtime_handler", ""), "runc") << st.dump();

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

TEST_F(Lifecycle, NonZeroExitIsFailedWithTheExitCode) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  const auto id = workloadId("exit3");
  auto accepted = startWorkload(workload(id, {"sh", "-c", "exit 3"}));
  ASSERT_EQ(accepted.value("type", ""), "Status") << accepted.dump();
  Json st;
  ASSERT_TRUE(waitTerminal(id, 60s, st)) << st.dump();
  EXPECT_EQ(st.value("state", ""), "Failed") << st.dump();
  EXPECT_EQ(st.value("exit_code", -1), 3) << st.dump();
  EXPECT_FALSE(st.value("reason", "").empty()) << st.dump();
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

TEST_F(Lifecycle, MemoryLimitIsVisibleInsideTheContainer) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  const auto id = workloadId("mem");
  // cgroup v1 first, v2 as the fallback.
  auto accepted = startWorkload(workload(
      id,
      {"sh", "-c",
       "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max"},
      "native", 64));
  ASSERT_EQ(accepted.value("type", ""), "Status") << accepted.dump();
  Json st;
  ASSERT_TRUE(waitTerminal(id, 60s, st)) << st.dump();
  EXPECT_EQ(st.value("state", ""), "Succeeded") << st.dump();
  const auto log = waitLogContains(st.value("log_path", ""), " stdout F 67108864");
  EXPECT_NE(log.find(" stdout F 67108864"), std::string::npos) << "log:\n" << log;
}

// The OOM rule: a container in which the kernel OOM-killed a process is
// Failed/OOMKilled, even when its main process exits 0 afterwards (here a
// shell whose child grew past the 16 MiB limit).
TEST_F(Lifecycle, AnOomKillFailsTheWorkloadEvenWhenItsShellExitsZero) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  const auto id = workloadId("oom");
  auto accepted = startWorkload(workload(
      id, {"sh", "-c", "sh -c 'x=0123456789abcdef; while :; do x=$x$x; done'; echo survived; exit 0"},
      "native", 16));
  ASSERT_EQ(accepted.value("type", ""), "Status") << accepted.dump();
  Json st;
  ASSERT_TRUE(waitTerminal(id, 60s, st)) << st.dump();
  EXPECT_EQ(st.value("state", ""), "Failed") << st.dump();
  EXPECT_EQ(st.value("reason", ""), "OOMKilled") << st.dump();
  EXPECT_EQ(st.value("exit_code", -1), 0) << st.dump();
  EXPECT_NE(st.value("message", "").find("memory limit"), std::string::npos) << st.dump();
  const auto log = waitLogContains(st.value("log_path", ""), "survived");
  EXPECT_NE(log.find("survived"), std::string::npos) << log;
}

TEST_F(Lifecycle, StopThenRemoveLeavesNothingBehind) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  const auto id = workloadId("stop");
  auto accepted = startWorkload(workload(id, {"sleep", "300"}));
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

TEST_F(Lifecycle, RemoveOfARunningWorkloadStopsItFirst) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  const auto id = workloadId("rmrun");
  auto accepted = startWorkload(workload(id, {"sleep", "300"}, "alt"));
  ASSERT_EQ(accepted.value("type", ""), "Status") << accepted.dump();
  Json st;
  ASSERT_TRUE(waitState(id, "Running", 60s, st)) << st.dump();
  auto removed = removeWorkload(id, 1);
  ASSERT_EQ(removed.value("type", ""), "Removed") << removed.dump();
  EXPECT_TRUE(sandboxesOf(id).empty());
  EXPECT_TRUE(containersOf(id).empty());
  EXPECT_EQ(getStatus(id).value("code", ""), "NotFound");
}

}  // namespace
}  // namespace zp::agent_it
