#include "agent/status_mapping.h"

#include <gtest/gtest.h>

namespace zp::agent {
namespace {

using api::WorkloadState;

TEST(StatusMappingTest, RunningAndCreated) {
  api::WorkloadStatus s;
  applyContainerDetail({ObjectState::kRunning, {}, "", "", TimePoint{}, {}}, s);
  EXPECT_EQ(s.state, WorkloadState::kRunning);
  EXPECT_FALSE(s.exit_code);
  applyContainerDetail({ObjectState::kCreated, {}, "", "", {}, {}}, s);
  EXPECT_EQ(s.state, WorkloadState::kPending);
  EXPECT_EQ(s.reason, "ContainerCreating");
}

TEST(StatusMappingTest, ExitCodesDecideSuccess) {
  api::WorkloadStatus s;
  applyContainerDetail({ObjectState::kExited, 0, "Completed", "", {}, TimePoint{}}, s);
  EXPECT_EQ(s.state, WorkloadState::kSucceeded);
  EXPECT_EQ(s.exit_code, 0);
  EXPECT_EQ(s.reason, "Completed");
  EXPECT_TRUE(s.finished_at);
  applyContainerDetail({ObjectState::kExited, 3, "", "", {}, {}}, s);
  EXPECT_EQ(s.state, WorkloadState::kFailed);
  EXPECT_EQ(s.exit_code, 3);
  EXPECT_EQ(s.reason, "Error");
  EXPECT_EQ(s.message, "container exited with code 3");
}

TEST(StatusMappingTest, AnExitStatusTheRuntimeLostIsNotReportedAsAnExit) {
  // containerd's placeholder: exit code 255, reason "Unknown".
  api::WorkloadStatus s;
  const ContainerDetail lost{ObjectState::kExited, 255, "Unknown", "", {}, TimePoint{}};
  EXPECT_TRUE(exitStatusLost(lost));
  applyContainerDetail(lost, s);
  EXPECT_EQ(s.state, WorkloadState::kFailed);
  EXPECT_EQ(s.reason, "ExitStatusLost");
  EXPECT_FALSE(s.exit_code);
  EXPECT_TRUE(s.finished_at);
  EXPECT_NE(s.message.find("255"), std::string::npos) << s.message;
  EXPECT_FALSE(exitStatusLost({ObjectState::kExited, 255, "Error", "", {}, {}}));
  EXPECT_FALSE(exitStatusLost({ObjectState::kUnknown, {}, "Unknown", "", {}, {}}));
}

TEST(StatusMappingTest, Exit255AfterAStopOfAnUnknownContainerCountsAsLost) {
  ContainerDetail ended{ObjectState::kExited, 255, "Error", "", {}, {}};
  markLostAfterUnknownStop(ended);
  EXPECT_TRUE(exitStatusLost(ended));
  ContainerDetail real{ObjectState::kExited, 3, "Error", "", {}, {}};
  markLostAfterUnknownStop(real);
  EXPECT_FALSE(exitStatusLost(real));
  EXPECT_EQ(real.reason, "Error");
  ContainerDetail oom{ObjectState::kExited, 255, "OOMKilled", "", {}, {}};
  markLostAfterUnknownStop(oom);
  EXPECT_EQ(oom.reason, "OOMKilled");
}

TEST(StatusMappingTest, RuntimeReasonPassesThrough) {
  api::WorkloadStatus s;
  applyContainerDetail({ObjectState::kExited, 137, "OOMKilled", "", {}, {}}, s);
  EXPECT_EQ(s.state, WorkloadState::kFailed);
  EXPECT_EQ(s.reason, "OOMKilled");
}

TEST(StatusMappingTest, AnOomKillIsFailedWhateverTheExitCode) {
  for (const int code : {0, 1, 137}) {
    SCOPED_TRACE(code);
    api::WorkloadStatus s;
    applyContainerDetail({ObjectState::kExited, code, "OOMKilled", "", {}, TimePoint{}}, s);
    EXPECT_EQ(s.state, WorkloadState::kFailed);
    EXPECT_EQ(s.reason, "OOMKilled");
    EXPECT_EQ(s.exit_code, code);
    EXPECT_NE(s.message.find("memory limit"), std::string::npos) << s.message;
    EXPECT_NE(s.message.find("code " + std::to_string(code)), std::string::npos) << s.message;
  }
}

TEST(StatusMappingTest, OtherRuntimeReasonsOfAZeroExitStaySucceeded) {
  api::WorkloadStatus s;
  applyContainerDetail({ObjectState::kExited, 0, "Completed", "", {}, {}}, s);
  EXPECT_EQ(s.state, WorkloadState::kSucceeded);
}

TEST(StatusMappingTest, OnlyContainerdsWordingOfACancelledStartIsCutShort) {
  const auto exited = [](std::string reason, std::string message) {
    return ContainerDetail{ObjectState::kExited, 128, std::move(reason), std::move(message), {}, {}};
  };
  EXPECT_TRUE(startCutShort(exited(
      "StartError", "failed to start containerd task \"abc\": context canceled: unknown")));
  EXPECT_TRUE(startCutShort(exited(
      "StartError",
      "failed to create containerd task: failed to create shim task: context canceled: unknown")));
  EXPECT_TRUE(startCutShort(exited("StartError",
                                   "failed to create containerd task: failed to start shim: start "
                                   "failed: : signal: killed: unknown")));
  // Seen when containerd was killed while it started the shim.
  EXPECT_TRUE(startCutShort(
      exited("StartError",
             "failed to create containerd task: failed to start shim: start failed: : "
             "context canceled")));
  // The workload's own start failures stay failures.
  EXPECT_FALSE(startCutShort(exited(
      "StartError", "failed to create containerd task: OCI runtime create failed: hook: context "
                    "canceled: unknown")));
  EXPECT_FALSE(startCutShort(exited("StartError", "exec: \"nope\": executable file not found")));
  EXPECT_FALSE(startCutShort(exited("OOMKilled", "signal: killed")));
  EXPECT_FALSE(startCutShort(exited(
      "Error", "failed to start containerd task \"abc\": context canceled: unknown")));
}

// containerd 1.6 reloading a stopped task it never marked started: exit code
// of the task, no reason (or the one derived from the code), no start time.
// Its own start errors, lost exits and OOM kills carry a reason; an exit of a
// started process has a start time.
TEST(StatusMappingTest, OnlyAnExitWithoutStartOrReasonIsExitedWithoutStart) {
  const auto exited = [](int code, std::string reason, std::optional<TimePoint> started) {
    return ContainerDetail{ObjectState::kExited, code, std::move(reason), "", started, TimePoint{}};
  };
  EXPECT_TRUE(exitedWithoutStart(exited(1, "", std::nullopt)));
  // containerd's CRI fills a missing reason in from the exit code.
  EXPECT_TRUE(exitedWithoutStart(exited(1, "Error", std::nullopt)));
  EXPECT_TRUE(exitedWithoutStart(exited(0, "Completed", std::nullopt)));
  EXPECT_FALSE(exitedWithoutStart(exited(1, "", TimePoint{})));
  EXPECT_FALSE(exitedWithoutStart(exited(1, "Error", TimePoint{})));
  EXPECT_FALSE(exitedWithoutStart(exited(128, "StartError", std::nullopt)));
  EXPECT_FALSE(exitedWithoutStart(exited(255, "Unknown", std::nullopt)));
  EXPECT_FALSE(exitedWithoutStart(exited(137, "OOMKilled", std::nullopt)));
  EXPECT_FALSE(exitedWithoutStart({ObjectState::kCreated, {}, "", "", {}, {}}));
}

TEST(StatusMappingTest, AShimDirectoryLeftByAnInterruptedStartIsToldApart) {
  EXPECT_TRUE(startFoundShimLeftovers(
      Error{Code::kInternal,
            "StartContainer: failed to create containerd task: failed to start shim: mkdir "
            "/var/lib/containerd/state/io.containerd.runtime.v2.task/k8s.io/4459: file exists: "
            "unknown",
            ""}));
  EXPECT_FALSE(startFoundShimLeftovers(
      Error{Code::kInternal, "failed to start shim: exec: \"runc\": file exists", ""}));
  EXPECT_FALSE(
      startFoundShimLeftovers(Error{Code::kInternal, "exec: mkdir /data: file exists", ""}));
}

TEST(StatusMappingTest, UnknownStaysUnknown) {
  api::WorkloadStatus s;
  applyContainerDetail({ObjectState::kUnknown, {}, "", "", {}, {}}, s);
  EXPECT_EQ(s.state, WorkloadState::kUnknown);
}

TEST(StatusMappingTest, LongMessagesAreCutOnACharacterBoundary) {
  api::WorkloadStatus s;
  s.message = std::string(kMaxStatusMessageBytes, 'a');
  capMessage(s);
  EXPECT_EQ(s.message, std::string(kMaxStatusMessageBytes, 'a'));  // at the limit: kept
  // "é" is two bytes, starting at even offsets: a cut at 4093 would fall
  // inside one.
  s.message = "ab";
  while (s.message.size() < 10'000) s.message += "\u00e9";
  capMessage(s);
  EXPECT_LE(s.message.size(), kMaxStatusMessageBytes);
  EXPECT_EQ(s.message.size(), kMaxStatusMessageBytes - 1);
  EXPECT_TRUE(s.message.ends_with("\u00e9\u2026"));
  // The exit message of a container goes through the same cap where the
  // manager records it (every change of a status), so list pages stay small.
  applyContainerDetail({ObjectState::kExited, 1, "", std::string(5000, 'm'), {}, {}}, s);
  EXPECT_EQ(s.message.size(), 5000u);  // the mapping itself keeps it
  capMessage(s);
  EXPECT_EQ(s.message.size(), kMaxStatusMessageBytes);
}

}  // namespace
}  // namespace zp::agent
