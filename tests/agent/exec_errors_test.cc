// What a failed CRI ExecSync means (agent/exec_errors.h).

#include "agent/exec_errors.h"

#include <gtest/gtest.h>

namespace zp::agent {
namespace {

using namespace std::chrono_literals;

TEST(ExecErrors, DeadlineOfTheCallIsATimeout) {
  auto r = execFailure(Error{Code::kDeadlineExceeded, "ExecSync: Deadline Exceeded", ""}, 12s, 2s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kDeadlineExceeded);
  EXPECT_EQ(r.error().message, "the command did not finish within 2 s");
}

TEST(ExecErrors, RuntimeSayingTimeoutExceededIsATimeout) {
  auto r = execFailure(
      Error{Code::kInternal, "ExecSync: failed to exec in container: timeout 1s exceeded", ""},
      500ms, 1s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kDeadlineExceeded);
}

TEST(ExecErrors, AnyFailureAfterTheTimeoutIsATimeout) {
  auto r = execFailure(Error{Code::kInternal, "ExecSync: context canceled", ""}, 1500ms, 1s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kDeadlineExceeded);
}

TEST(ExecErrors, CommandNotFoundIsExitCode127) {
  auto r =
      execFailure(Error{Code::kInternal,
                        "ExecSync: OCI runtime exec failed: exec failed: unable to start "
                        "container process: exec: \"nope\": executable file not found in $PATH",
                        ""},
                  10ms, 1s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->exit_code, 127);
  EXPECT_NE(r->stderr_bytes.find("executable file not found"), std::string::npos);
  EXPECT_TRUE(r->stdout_bytes.empty());
}

// A runtime slow to report a missing command (a loaded node) has not timed
// the command out: the runtime was given whole seconds, and the command
// never started.
TEST(ExecErrors, CommandNotFoundAfterTheTimeoutIsStillExitCode127) {
  auto r =
      execFailure(Error{Code::kInternal,
                        "ExecSync: OCI runtime exec failed: exec failed: unable to start "
                        "container process: exec: \"nope\": executable file not found in $PATH",
                        ""},
                  1200ms, 1s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->exit_code, 127);
}

TEST(ExecErrors, AFailureWithinTheRoundedUpSecondsIsNoTimeout) {
  auto r = execFailure(Error{Code::kInternal, "ExecSync: context canceled", ""}, 700ms, 500ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kInternal);
}

TEST(ExecErrors, NotExecutableIsExitCode126) {
  auto r = execFailure(Error{Code::kInternal,
                             "ExecSync: OCI runtime exec failed: exec failed: unable to start "
                             "container process: exec: \"/etc/hosts\": permission denied",
                             ""},
                       10ms, 1s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->exit_code, 126);
}

TEST(ExecErrors, OtherErrorsStayAsTheyAre) {
  auto missing = execFailure(Error{Code::kNotFound, "ExecSync: container not found", ""}, 5s, 1s);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Code::kNotFound);
  auto down = execFailure(Error{Code::kUnavailable, "ExecSync: connection refused", ""}, 1ms, 1s);
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code, Code::kUnavailable);
  auto other = execFailure(Error{Code::kInternal, "ExecSync: something broke", ""}, 1ms, 1s);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, Code::kInternal);
}

}  // namespace
}  // namespace zp::agent
