// WorkloadManager against FakeRuntime and a fake clock: the restart policy.
// An exit the policy restarts shows Pending/BackOff; the sweep starts the
// next attempt in the same sandbox once the back-off (doubling, capped,
// reset after a long run) is over; a restarted agent resumes it. Time moves
// only when a test advances the clock: nothing here sleeps for a back-off.

#include <gtest/gtest.h>

#include "agent/workload_manager.h"
#include "manager_fixture.h"

namespace zp::agent {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::spec;

api::WorkloadSpec restarting(const std::string& id, api::RestartPolicy policy) {
  auto s = spec(id);
  s.restart_policy = policy;
  return s;
}

class RestartTest : public testing::WorkloadManagerTest {
 protected:
  void SetUp() override {
    runtime_.addImage(testing::kImage);
    auto o = options();
    o.restart_backoff_initial = 1s;
    o.restart_backoff_max = 4s;
    o.restart_backoff_reset = 10min;
    makeManager(o);
  }
  // Sweeps until the workload shows `reason` (a sweep leaves it alone while
  // its pipeline still holds it).
  bool sweepUntil(const std::string& id, std::string_view wanted) {
    return eventually([&] {
      EXPECT_TRUE(manager_->sweep().has_value());
      return statusOf(id).reason == wanted;
    });
  }
  // Sweeps until attempt `attempt` runs (its predecessor removed).
  bool sweepUntilRunning(const std::string& id, int attempt) {
    return eventually([&] {
      EXPECT_TRUE(manager_->sweep().has_value());
      const auto st = statusOf(id);
      int containers = 0;
      for (const auto& [cid, c] : runtime_.containers()) containers += c.workload_id == id;
      return st.state == api::WorkloadState::kRunning && st.restart_count == attempt &&
             containers == 1;
    });
  }
  // Exits the current container with `code` and waits for BackOff.
  void exitAndBackOff(const std::string& id, int code) {
    runtime_.exitContainer(runtime_.containerOf(id), code);
    ASSERT_TRUE(sweepUntil(id, "BackOff")) << statusOf(id).message;
  }
};

TEST_F(RestartTest, OnFailureRestartsAFailedContainerAfterTheBackOff) {
  const auto first = run(restarting("w", api::RestartPolicy::kOnFailure));
  const auto sandboxes = runtime_.sandboxes();
  ASSERT_NO_FATAL_FAILURE(exitAndBackOff("w", 3));
  auto st = statusOf("w");
  EXPECT_EQ(st.state, api::WorkloadState::kPending);
  EXPECT_EQ(st.exit_code, 3);
  EXPECT_EQ(st.restart_count, 0);
  EXPECT_NE(st.message.find("back-off 1 s"), std::string::npos) << st.message;
  EXPECT_NE(st.message.find("code 3"), std::string::npos) << st.message;

  // Before the back-off is over, sweeps change nothing.
  clock_.advance(999ms);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(manager_->sweep().has_value());
  EXPECT_EQ(statusOf("w").reason, "BackOff");
  EXPECT_EQ(runtime_.createdContainers(), 1);

  clock_.advance(1ms);
  ASSERT_TRUE(sweepUntilRunning("w", 1)) << statusOf("w").message;
  st = statusOf("w");
  EXPECT_FALSE(st.exit_code.has_value());
  EXPECT_EQ(st.log_path, "/fake/logs/w_" + st.uid + "/main.1.log");
  // The same sandbox; the old container is gone, the new one is attempt 1.
  EXPECT_EQ(runtime_.sandboxes().size(), 1u);
  EXPECT_EQ(runtime_.sandboxes().begin()->first, sandboxes.begin()->first);
  const auto containers = runtime_.containers();
  ASSERT_EQ(containers.size(), 1u);
  EXPECT_NE(containers.begin()->first, first);
  EXPECT_EQ(containers.begin()->second.attempt, 1u);
  EXPECT_EQ(st.container_id, containers.begin()->first);
}

TEST_F(RestartTest, TheBackOffDoublesUpToItsCapAndResetsAfterALongRun) {
  run(restarting("w", api::RestartPolicy::kAlways));
  const std::vector<std::chrono::milliseconds> delays = {1s, 2s, 4s, 4s};
  for (std::size_t i = 0; i < delays.size(); ++i) {
    SCOPED_TRACE("restart " + std::to_string(i + 1));
    ASSERT_NO_FATAL_FAILURE(exitAndBackOff("w", 0));
    clock_.advance(delays[i] - 1ms);
    ASSERT_TRUE(manager_->sweep().has_value());
    EXPECT_EQ(statusOf("w").reason, "BackOff");
    clock_.advance(1ms);
    ASSERT_TRUE(sweepUntilRunning("w", static_cast<int>(i) + 1)) << statusOf("w").message;
  }
  // A container that ran for 10 minutes restarts after the initial delay.
  runtime_.exitContainer(runtime_.containerOf("w"), 1, {}, 10min);
  ASSERT_TRUE(sweepUntil("w", "BackOff"));
  EXPECT_NE(statusOf("w").message.find("back-off 1 s"), std::string::npos) << statusOf("w").message;
  clock_.advance(1s);
  ASSERT_TRUE(sweepUntilRunning("w", 5)) << statusOf("w").message;
}

TEST_F(RestartTest, ThePolicyDecidesWhichExitsAreFinal) {
  // OnFailure: exit 0 is final.
  run(restarting("ok", api::RestartPolicy::kOnFailure));
  runtime_.exitContainer(runtime_.containerOf("ok"), 0);
  ASSERT_TRUE(sweepUntil("ok", "Completed"));
  EXPECT_EQ(statusOf("ok").state, api::WorkloadState::kSucceeded);
  // OnFailure: an OOM kill restarts even with exit 0.
  run(restarting("oom", api::RestartPolicy::kOnFailure));
  runtime_.exitContainer(runtime_.containerOf("oom"), 0, "OOMKilled");
  ASSERT_TRUE(sweepUntil("oom", "BackOff"));
  EXPECT_NE(statusOf("oom").message.find("OOM"), std::string::npos);
  // Never: every exit is final, as before.
  run(restarting("never", api::RestartPolicy::kNever));
  runtime_.exitContainer(runtime_.containerOf("never"), 3);
  ASSERT_TRUE(sweepUntil("never", "Error"));
  EXPECT_EQ(statusOf("never").state, api::WorkloadState::kFailed);

  clock_.advance(1h);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(manager_->sweep().has_value());
  EXPECT_EQ(statusOf("ok").state, api::WorkloadState::kSucceeded);
  EXPECT_EQ(statusOf("never").state, api::WorkloadState::kFailed);
  EXPECT_EQ(statusOf("ok").restart_count, 0);
  EXPECT_EQ(statusOf("never").restart_count, 0);
  EXPECT_TRUE(sweepUntilRunning("oom", 1)) << statusOf("oom").message;
}

TEST_F(RestartTest, AStoppedWorkloadIsNotRestarted) {
  run(restarting("w", api::RestartPolicy::kAlways));
  ASSERT_NO_FATAL_FAILURE(exitAndBackOff("w", 1));
  auto stopped = stop("w", 0s);
  ASSERT_EQ(stopped.wait_for(30s), std::future_status::ready);
  auto result = stopped.get();
  ASSERT_TRUE(result.has_value()) << result.error().toString();
  EXPECT_EQ(result->state, api::WorkloadState::kFailed);
  EXPECT_EQ(result->reason, "Stopped");
  clock_.advance(1h);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(manager_->sweep().has_value());
  EXPECT_EQ(statusOf("w").reason, "Stopped");
  EXPECT_EQ(runtime_.createdContainers(), 1);
}

TEST_F(RestartTest, ARestartedAgentKeepsTheCountAndResumesAPendingRestart) {
  WorkloadIdentity identity;
  identity.spec = restarting("w", api::RestartPolicy::kOnFailure);
  identity.uid = "uid-w";
  identity.run_as_user = 1000000000;
  identity.run_as_group = 1000000000;
  // Attempt 2 exited with 7; attempt 1 is still there (a restart cut short).
  const auto sandbox = runtime_.addSandbox(identity, ObjectState::kExited, 1, 7);
  runtime_.addContainer(sandbox, ObjectState::kExited, 2, 7);
  ASSERT_TRUE(manager_->recover().has_value());
  auto st = statusOf("w");
  EXPECT_EQ(st.restart_count, 2);
  EXPECT_EQ(st.state, api::WorkloadState::kPending);
  EXPECT_EQ(st.reason, "BackOff");
  EXPECT_EQ(st.exit_code, 7);
  EXPECT_EQ(st.log_path, "/fake/logs/w_uid-w/main.2.log");
  ASSERT_EQ(runtime_.containers().size(), 1u);  // the older attempt removed
  EXPECT_EQ(runtime_.containers().begin()->second.attempt, 2u);

  clock_.advance(1s);
  ASSERT_TRUE(sweepUntilRunning("w", 3)) << statusOf("w").message;
  EXPECT_EQ(runtime_.containers().begin()->second.attempt, 3u);
  EXPECT_EQ(runtime_.sandboxes().size(), 1u);
}

TEST_F(RestartTest, ARestartedAgentStartsARestartThatWasCreatedButNotStarted) {
  WorkloadIdentity identity;
  identity.spec = restarting("w", api::RestartPolicy::kAlways);
  identity.uid = "uid-w";
  identity.run_as_user = 1000000000;
  identity.run_as_group = 1000000000;
  const auto sandbox = runtime_.addSandbox(identity, ObjectState::kExited, 0, 0);
  const auto next = runtime_.addContainer(sandbox, ObjectState::kCreated, 1);
  ASSERT_TRUE(manager_->recover().has_value());
  ASSERT_TRUE(reaches("w", api::WorkloadState::kRunning)) << statusOf("w").message;
  EXPECT_EQ(statusOf("w").restart_count, 1);
  EXPECT_EQ(statusOf("w").container_id, next);
  EXPECT_EQ(runtime_.containers().size(), 1u);
}

}  // namespace
}  // namespace zp::agent
