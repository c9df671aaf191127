// WorkloadManager against FakeRuntime and a fake clock: a container the
// runtime keeps reporting in an unknown state (containerd's CONTAINER_UNKNOWN
// after a restart). Once the runtime, answering, has reported it so for
// Options::unknown_grace, the agent stops it so its end becomes known, and the
// exit is handled as any other (restart_policy); an exit whose status the
// runtime lost is Failed/ExitStatusLost. A runtime that cannot be reached
// never makes the agent stop anything. Time moves only when a test advances
// the clock.

#include <gtest/gtest.h>

#include "agent/workload_manager.h"
#include "manager_fixture.h"

namespace zp::agent {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::spec;

constexpr auto kGrace = 10s;

class UnknownStateTest : public testing::WorkloadManagerTest {
 protected:
  void SetUp() override {
    runtime_.addImage(testing::kImage);
    auto o = options();
    o.unknown_grace = kGrace;
    o.unknown_stop_grace = 3s;
    o.restart_backoff_initial = 1s;
    makeManager(o);
  }
  // Sweeps until the workload shows `state` (the stop runs on the workers).
  bool sweepUntil(const std::string& id, api::WorkloadState state) {
    return eventually([&] {
      EXPECT_TRUE(manager_->sweep().has_value());
      return statusOf(id).state == state;
    });
  }
  // Runs `workload`, then makes the runtime lose track of its container, and
  // sweeps until the workload shows it Unknown/ContainerUnknown.
  std::string runThenLoseTrack(const api::WorkloadSpec& workload, int code_after_stop,
                               std::string reason_after_stop = {}) {
    const auto container = run(workload);
    runtime_.loseTrackOf(container, code_after_stop, std::move(reason_after_stop));
    EXPECT_TRUE(manager_->sweep().has_value());
    const auto st = statusOf(workload.id);
    EXPECT_EQ(st.state, api::WorkloadState::kUnknown);
    EXPECT_EQ(st.reason, "ContainerUnknown");
    return container;
  }
};

api::WorkloadSpec withPolicy(const std::string& id, api::RestartPolicy policy) {
  auto s = spec(id);
  s.restart_policy = policy;
  return s;
}

TEST_F(UnknownStateTest, IsStoppedAfterTheGraceAndItsRealExitIsFinal) {
  const auto container = runThenLoseTrack(spec("w"), 3);

  // Within the grace, sweeps leave it alone.
  clock_.advance(kGrace - 1ms);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(manager_->sweep().has_value());
  EXPECT_EQ(runtime_.stopCalls(container), 0);
  EXPECT_EQ(statusOf("w").reason, "ContainerUnknown");

  clock_.advance(1ms);
  ASSERT_TRUE(sweepUntil("w", api::WorkloadState::kFailed)) << statusOf("w").message;
  const auto st = statusOf("w");
  EXPECT_EQ(st.reason, "Error");
  EXPECT_EQ(st.exit_code, 3);
  EXPECT_NE(st.message.find("unknown for 10 s"), std::string::npos) << st.message;
  EXPECT_EQ(st.container_id, container);
  EXPECT_EQ(runtime_.stopCalls(container), 1);
  // Final: later sweeps stop nothing more, and nothing restarts (Never).
  clock_.advance(kGrace * 3);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(manager_->sweep().has_value());
  EXPECT_EQ(runtime_.stopCalls(container), 1);
  EXPECT_EQ(runtime_.createdContainers(), 1);
}

TEST_F(UnknownStateTest, AnExitStatusTheRuntimeLostIsReportedAsLost) {
  // containerd found no task: its placeholder 255 with the last record's reason.
  runThenLoseTrack(spec("w"), 255, "Error");
  clock_.advance(kGrace);
  ASSERT_TRUE(sweepUntil("w", api::WorkloadState::kFailed)) << statusOf("w").message;
  const auto st = statusOf("w");
  EXPECT_EQ(st.reason, "ExitStatusLost");
  EXPECT_FALSE(st.exit_code.has_value()) << *st.exit_code;
  EXPECT_NE(st.message.find("lost its exit status"), std::string::npos) << st.message;
}

TEST_F(UnknownStateTest, ACleanExitLearnedByTheStopSucceeds) {
  runThenLoseTrack(withPolicy("w", api::RestartPolicy::kOnFailure), 0, "Completed");
  clock_.advance(kGrace);
  ASSERT_TRUE(sweepUntil("w", api::WorkloadState::kSucceeded)) << statusOf("w").message;
  EXPECT_EQ(statusOf("w").exit_code, 0);
  EXPECT_EQ(runtime_.createdContainers(), 1);  // OnFailure: exit 0 is final
}

TEST_F(UnknownStateTest, OnFailureRestartsAContainerWhoseExitWasLost) {
  const auto first = runThenLoseTrack(withPolicy("w", api::RestartPolicy::kOnFailure), 255);
  clock_.advance(kGrace);
  ASSERT_TRUE(eventually([&] {
    EXPECT_TRUE(manager_->sweep().has_value());
    return statusOf("w").reason == "BackOff";
  })) << statusOf("w").message;
  auto st = statusOf("w");
  EXPECT_EQ(st.state, api::WorkloadState::kPending);
  EXPECT_FALSE(st.exit_code.has_value());
  EXPECT_NE(st.message.find("exit status lost"), std::string::npos) << st.message;

  clock_.advance(1s);
  ASSERT_TRUE(eventually([&] {
    EXPECT_TRUE(manager_->sweep().has_value());
    const auto now = statusOf("w");
    return now.state == api::WorkloadState::kRunning && now.restart_count == 1;
  })) << statusOf("w").message;
  EXPECT_NE(statusOf("w").container_id, first);
  EXPECT_EQ(runtime_.sandboxes().size(), 1u);  // the same sandbox
}

TEST_F(UnknownStateTest, AStartTheRuntimeNeverRecordedIsMadeAgain) {
  // containerd restarted during StartContainer: unknown, then exited (code 1)
  // with no start time once stopped. The start was cut short: replaced.
  const auto first = run("w");
  runtime_.loseTrackOf(first, 1, "Error", /*never_started=*/true);
  ASSERT_TRUE(manager_->sweep().has_value());
  clock_.advance(kGrace);
  ASSERT_TRUE(eventually([&] {
    EXPECT_TRUE(manager_->sweep().has_value());
    const auto st = statusOf("w");
    return st.state == api::WorkloadState::kRunning && st.container_id != first;
  })) << statusOf("w").message;
  const auto st = statusOf("w");
  EXPECT_EQ(st.restart_count, 0);  // the same attempt, not a restart
  EXPECT_EQ(runtime_.createdContainers(), 2);
  EXPECT_EQ(runtime_.containers().size(), 1u);  // the cut-short one removed
}

// The replacement removed the cut-short container but its create failed
// (the runtime restarting again): the pipeline makes and starts it, instead
// of the workload staying Unknown without a container.
TEST_F(UnknownStateTest, AReplacementWhoseCreateFailedIsMadeByThePipeline) {
  const auto first = run("w");
  runtime_.loseTrackOf(first, 1, "Error", /*never_started=*/true);
  ASSERT_TRUE(manager_->sweep().has_value());
  runtime_.failNext("createContainer", Error{Code::kUnavailable, "connection refused", ""});
  clock_.advance(kGrace);
  ASSERT_TRUE(eventually([&] {
    EXPECT_TRUE(manager_->sweep().has_value());
    const auto st = statusOf("w");
    return st.state == api::WorkloadState::kRunning && !st.container_id.empty() &&
           st.container_id != first;
  })) << statusOf("w").message;
  EXPECT_EQ(statusOf("w").restart_count, 0);
  EXPECT_EQ(runtime_.containers().size(), 1u);
}

// The cut-short container's removal fails (the runtime blinks again): the
// replacement is retried, and the exit is never taken for the workload's own.
TEST_F(UnknownStateTest, AReplacementWhoseRemovalFailedIsRetriedNotFailed) {
  const auto first = run("w");
  runtime_.loseTrackOf(first, 1, "Error", /*never_started=*/true);
  ASSERT_TRUE(manager_->sweep().has_value());
  runtime_.failNext("removeContainer", Error{Code::kUnavailable, "connection refused", ""}, 2);
  clock_.advance(kGrace);
  ASSERT_TRUE(eventually([&] {
    EXPECT_TRUE(manager_->sweep().has_value());
    const auto st = statusOf("w");
    EXPECT_NE(st.state, api::WorkloadState::kFailed) << st.reason << ": " << st.message;
    return st.state == api::WorkloadState::kRunning && st.container_id != first;
  })) << statusOf("w").message;
  EXPECT_EQ(statusOf("w").restart_count, 0);
  EXPECT_EQ(runtime_.createdContainers(), 2);
  EXPECT_EQ(runtime_.containers().size(), 1u);
}

// The runtime refuses outright to remove the cut-short container (not an
// outage: retrying will not help): its exit stands and is handled as any
// exit, so OnFailure restarts the workload instead of it failing for good.
TEST_F(UnknownStateTest, AReplacementTheRuntimeRefusesLeavesTheExitToTheRestartPolicy) {
  const auto first = run(withPolicy("w", api::RestartPolicy::kOnFailure));
  runtime_.loseTrackOf(first, 1, "Error", /*never_started=*/true);
  ASSERT_TRUE(manager_->sweep().has_value());
  runtime_.failNext("removeContainer",
                    Error{Code::kFailedPrecondition, "cannot delete running task", ""});
  clock_.advance(kGrace);
  ASSERT_TRUE(eventually([&] {
    EXPECT_TRUE(manager_->sweep().has_value());
    const auto st = statusOf("w");
    EXPECT_NE(st.reason, "RunContainerError") << st.message;
    return st.reason == "BackOff";
  })) << statusOf("w").message;
  clock_.advance(1s);
  ASSERT_TRUE(eventually([&] {
    EXPECT_TRUE(manager_->sweep().has_value());
    const auto st = statusOf("w");
    return st.state == api::WorkloadState::kRunning && st.restart_count == 1;
  })) << statusOf("w").message;
}

TEST_F(UnknownStateTest, AnUnreachableRuntimeNeverTriggersTheStop) {
  const auto container = runThenLoseTrack(spec("w"), 3);
  runtime_.setDown(true);
  for (int i = 0; i < 5; ++i) {
    clock_.advance(kGrace);
    EXPECT_FALSE(manager_->sweep().has_value());
  }
  EXPECT_EQ(runtime_.stopCalls(container), 0);
  EXPECT_EQ(statusOf("w").state, api::WorkloadState::kUnknown);
  EXPECT_EQ(statusOf("w").reason, "RuntimeUnavailable");

  // Back: the grace starts over from the first answer that says unknown.
  runtime_.setDown(false);
  ASSERT_TRUE(manager_->sweep().has_value());
  EXPECT_EQ(statusOf("w").reason, "ContainerUnknown");
  clock_.advance(kGrace - 1ms);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(manager_->sweep().has_value());
  EXPECT_EQ(runtime_.stopCalls(container), 0);
  clock_.advance(1ms);
  ASSERT_TRUE(sweepUntil("w", api::WorkloadState::kFailed)) << statusOf("w").message;
  EXPECT_EQ(runtime_.stopCalls(container), 1);
}

TEST_F(UnknownStateTest, ARunningContainerIsNeverStoppedWhileTheRuntimeIsDown) {
  const auto container = run("w");
  runtime_.setDown(true);
  for (int i = 0; i < 5; ++i) {
    clock_.advance(kGrace);
    EXPECT_FALSE(manager_->sweep().has_value());
  }
  runtime_.setDown(false);
  ASSERT_TRUE(sweepUntil("w", api::WorkloadState::kRunning));
  EXPECT_EQ(runtime_.stopCalls(container), 0);
}

TEST_F(UnknownStateTest, AFailedStopIsTriedAgainAfterAnotherGrace) {
  const auto container = runThenLoseTrack(spec("w"), 3);
  runtime_.failNext("stopContainer", Error{Code::kInternal, "shim gone", ""});
  clock_.advance(kGrace);
  ASSERT_TRUE(eventually([&] {
    EXPECT_TRUE(manager_->sweep().has_value());
    return runtime_.stopCalls(container) == 1 && manager_->operationsInFlight() == 0;
  }));
  EXPECT_EQ(statusOf("w").reason, "ContainerUnknown");
  clock_.advance(kGrace - 1ms);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(manager_->sweep().has_value());
  EXPECT_EQ(runtime_.stopCalls(container), 1);
  clock_.advance(1ms);
  ASSERT_TRUE(sweepUntil("w", api::WorkloadState::kFailed)) << statusOf("w").message;
  EXPECT_EQ(statusOf("w").exit_code, 3);
}

TEST_F(UnknownStateTest, AStopRequestedMeanwhileDecidesTheStatus) {
  const auto container = runThenLoseTrack(spec("w"), 3);
  runtime_.holdStops(container);
  clock_.advance(kGrace);
  ASSERT_TRUE(eventually([&] {
    EXPECT_TRUE(manager_->sweep().has_value());
    return runtime_.stopHeld(container);
  }));
  auto stopped = stop("w", 0s);
  ASSERT_TRUE(eventually([&] { return runtime_.stopCalls(container) == 2; }));
  runtime_.finishStop(container);
  auto result = stopped.get();
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_TRUE(eventually([&] { return manager_->operationsInFlight() == 0; }));
  const auto st = statusOf("w");
  EXPECT_EQ(st.state, api::WorkloadState::kFailed);
  EXPECT_EQ(st.reason, "Stopped");
  EXPECT_EQ(st.exit_code, 3);
}

TEST_F(UnknownStateTest, ARecoveredUnknownContainerIsSettledToo) {
  WorkloadIdentity identity;
  identity.spec = spec("w");
  identity.uid = "uid-w";
  identity.run_as_user = identity.run_as_group = 1000000000;
  runtime_.addSandbox(identity, ObjectState::kRunning);
  const auto container = runtime_.containerOf("w");
  runtime_.loseTrackOf(container, 0, "Completed");
  ASSERT_TRUE(manager_->recover().has_value());
  EXPECT_EQ(statusOf("w").reason, "ContainerUnknown");
  clock_.advance(kGrace);
  ASSERT_TRUE(sweepUntil("w", api::WorkloadState::kSucceeded)) << statusOf("w").message;
  EXPECT_EQ(runtime_.stopCalls(container), 1);
}

}  // namespace
}  // namespace zp::agent
