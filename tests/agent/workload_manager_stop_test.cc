// WorkloadManager's stop and removal when StopContainer itself fails: a
// container that exits while it is being killed (the runtime answers with an
// error of its own) counts as stopped; a runtime error on a container that
// still runs is retried a few times, then reported; other errors are reported
// at once. No timing thresholds: every wait is for a condition.

#include <gtest/gtest.h>

#include "manager_fixture.h"

namespace zp::agent {
namespace {

using namespace std::chrono_literals;
using WorkloadManagerTest = testing::WorkloadManagerTest;

Error runtimeError(std::string message) { return Error{Code::kInternal, std::move(message), {}}; }

TEST_F(WorkloadManagerTest, AContainerThatExitsWhileBeingStoppedIsRemoved) {
  const auto container = run("racing");
  // The process exits as the kill arrives; the runtime reports an error.
  runtime_.exitContainer(container, 3);
  runtime_.failNext("stopContainer", runtimeError("failed to kill container: ttrpc: closed"));
  auto removing = remove("racing");
  ASSERT_EQ(removing.wait_for(30s), std::future_status::ready);
  const Status removed = removing.get();
  ASSERT_TRUE(removed.has_value()) << removed.error().toString();
  EXPECT_TRUE(runtime_.sandboxes().empty());
  EXPECT_TRUE(runtime_.containers().empty());
}

TEST_F(WorkloadManagerTest, ARuntimeErrorOnARunningContainerIsRetried) {
  const auto container = run("flaky");
  runtime_.failNext("stopContainer", runtimeError("transient"), 2);
  auto stopping = stop("flaky", 0s);
  ASSERT_EQ(stopping.wait_for(30s), std::future_status::ready);
  auto stopped = stopping.get();
  ASSERT_TRUE(stopped.has_value()) << stopped.error().toString();
  EXPECT_EQ(stopped->reason, "Stopped");
  EXPECT_EQ(stopped->exit_code, 137);
  EXPECT_EQ(runtime_.containers().at(container).state, ObjectState::kExited);
}

TEST_F(WorkloadManagerTest, APersistentRuntimeErrorIsReportedAndTheWorkloadKeepsRunning) {
  const auto container = run("stuck");
  runtime_.failNext("stopContainer", runtimeError("kill refused"), 100);
  auto removing = remove("stuck");
  ASSERT_EQ(removing.wait_for(30s), std::future_status::ready);
  const Status removed = removing.get();
  ASSERT_FALSE(removed.has_value());
  EXPECT_NE(removed.error().message.find("kill refused"), std::string::npos);
  EXPECT_EQ(runtime_.containers().at(container).state, ObjectState::kRunning);
  EXPECT_EQ(runtime_.sandboxes().size(), 1u);
  EXPECT_EQ(statusOf("stuck").state, api::WorkloadState::kRunning);
}

TEST_F(WorkloadManagerTest, AnErrorThatIsNotTheRuntimesOwnIsReportedAtOnce) {
  const auto container = run("refused");
  runtime_.failNext("stopContainer", Error{Code::kInvalidArgument, "bad grace", {}}, 2);
  auto stopping = stop("refused", 0s);
  ASSERT_EQ(stopping.wait_for(30s), std::future_status::ready);
  auto stopped = stopping.get();
  ASSERT_FALSE(stopped.has_value());
  EXPECT_EQ(stopped.error().code, Code::kInvalidArgument);
  EXPECT_EQ(runtime_.containers().at(container).state, ObjectState::kRunning);
  // One attempt was made: the second failure is left for the next stop.
  auto again = stop("refused", 0s);
  ASSERT_EQ(again.wait_for(30s), std::future_status::ready);
  EXPECT_FALSE(again.get().has_value());
  auto last = stop("refused", 0s);
  ASSERT_EQ(last.wait_for(30s), std::future_status::ready);
  auto stopped_now = last.get();
  ASSERT_TRUE(stopped_now.has_value()) << stopped_now.error().toString();
  EXPECT_EQ(stopped_now->reason, "Stopped");
}

}  // namespace
}  // namespace zp::agent
