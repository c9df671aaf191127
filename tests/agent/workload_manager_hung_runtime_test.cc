// WorkloadManager's stop and removal against a runtime that hangs (say, a
// containerd stopped with SIGSTOP): a call that outlasts its deadline
// (kDeadlineExceeded) is no answer about the container, like an unreachable
// runtime (kUnavailable): the step is repeated once the runtime answers
// again, so the stop keeps its grace period and the removal completes.
// No timing thresholds: every wait is for a condition.

#include <gtest/gtest.h>

#include "manager_fixture.h"

namespace zp::agent {
namespace {

using namespace std::chrono_literals;
using WorkloadManagerTest = testing::WorkloadManagerTest;

Error deadline(std::string call) {
  return Error{Code::kDeadlineExceeded, call + ": Deadline Exceeded", {}};
}

TEST_F(WorkloadManagerTest, AStopContainerPastItsDeadlineIsRepeatedAndTheRemovalCompletes) {
  const auto container = run("hung-stop");
  runtime_.failNext("stopContainer", deadline("StopContainer"), 2);
  auto removing = remove("hung-stop");
  ASSERT_EQ(removing.wait_for(30s), std::future_status::ready);
  const Status removed = removing.get();
  ASSERT_TRUE(removed.has_value()) << removed.error().toString();
  EXPECT_TRUE(runtime_.sandboxes().empty());
  EXPECT_TRUE(runtime_.containers().empty());
}

TEST_F(WorkloadManagerTest, AStopSandboxPastItsDeadlineIsRepeated) {
  run("hung-sandbox");
  runtime_.failNext("stopSandbox", deadline("StopPodSandbox"));
  auto stopping = stop("hung-sandbox", 0s);
  ASSERT_EQ(stopping.wait_for(30s), std::future_status::ready);
  auto stopped = stopping.get();
  ASSERT_TRUE(stopped.has_value()) << stopped.error().toString();
  EXPECT_EQ(stopped->reason, "Stopped");
  for (const auto& [id, sandbox] : runtime_.sandboxes()) {
    EXPECT_EQ(sandbox.state, ObjectState::kNotReady) << id;
  }
}

TEST_F(WorkloadManagerTest, ARemovalPastItsDeadlineIsRepeated) {
  run("hung-remove");
  runtime_.failNext("removeWorkload", deadline("RemovePodSandbox"));
  auto removing = remove("hung-remove");
  ASSERT_EQ(removing.wait_for(30s), std::future_status::ready);
  const Status removed = removing.get();
  ASSERT_TRUE(removed.has_value()) << removed.error().toString();
  EXPECT_TRUE(runtime_.sandboxes().empty());
}

}  // namespace
}  // namespace zp::agent
