// WorkloadService::exec with a FakeFleet: what is sent to the node, how long
// it is waited for, and what the refusals and the node's errors become.

#include <gtest/gtest.h>

#include "workload_service_fixture.h"

namespace zp::server::testing {
namespace {

using namespace std::chrono_literals;
using api::WorkloadState;

class WorkloadServiceExecTest : public WorkloadServiceTest {
 protected:
  store::WorkloadRecord runningWeb() {
    fleet_.addNode("n1", {"kata"}, {4096, 4000});
    auto r = accepted(spec("web", 256));
    apply("n1", pushed(r, WorkloadState::kRunning, "Started"));
    return r;
  }
  ExecAnswer exec(const std::string& id, std::vector<std::string> command,
                  std::chrono::seconds timeout = 5s) {
    return run(service_->exec(id, std::move(command), timeout));
  }
};

TEST_F(WorkloadServiceExecTest, SendsExecSyncToTheNodeAndWaitsLongerThanTheCommand) {
  auto r = runningWeb();
  std::optional<protocol::ExecSync> sent;
  fleet_.answer_exec = [&](const protocol::ExecSync& m) -> Result<protocol::ReplyBody> {
    sent = m;
    return protocol::ReplyBody{protocol::ExecResult{7, "o", "e", false, true}};
  };
  auto answer = exec("web", {"ls", "-l"}, 5s);
  EXPECT_EQ(answer.node, "n1");
  ASSERT_TRUE(answer.result) << answer.result.error().toString();
  EXPECT_EQ(answer.result->exit_code, 7);
  EXPECT_TRUE(answer.result->stderr_truncated);
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->workload_id, "web");
  EXPECT_EQ(sent->uid, r.status.uid);
  EXPECT_EQ(sent->command, (std::vector<std::string>{"ls", "-l"}));
  EXPECT_EQ(sent->timeout_ms, 5000);
  EXPECT_GT(fleet_.last_exec_timeout, 5s);
}

TEST_F(WorkloadServiceExecTest, OutputOverTheCapIsCutEvenIfTheNodeDidNot) {
  runningWeb();
  fleet_.answer_exec = [](const protocol::ExecSync&) -> Result<protocol::ReplyBody> {
    return protocol::ReplyBody{protocol::ExecResult{
        0, std::string(protocol::kMaxExecOutputBytes + 5, 'x'), "", false, false}};
  };
  auto answer = exec("web", {"cat"});
  ASSERT_TRUE(answer.result);
  EXPECT_EQ(answer.result->stdout_text.size(),
            static_cast<std::size_t>(protocol::kMaxExecOutputBytes));
  EXPECT_TRUE(answer.result->stdout_truncated);
}

TEST_F(WorkloadServiceExecTest, RefusalsAndTheNodesErrors) {
  EXPECT_EQ(exec("nope", {"true"}).result.error().code, Code::kNotFound);
  runningWeb();
  fleet_.answer_exec = [](const protocol::ExecSync& m) -> Result<protocol::ReplyBody> {
    if (m.command[0] == "gone") return fail(Code::kNotFound, "no workload \"web\" on node");
    if (m.command[0] == "late") return fail(Code::kDeadlineExceeded, "no answer within 15000 ms");
    return protocol::ReplyBody{protocol::Removed{"web"}};  // not an ExecResult
  };
  EXPECT_EQ(exec("web", {"gone"}).result.error().code, Code::kFailedPrecondition);
  auto late = exec("web", {"late"}, 5s);
  EXPECT_EQ(late.result.error().code, Code::kDeadlineExceeded);
  EXPECT_NE(late.result.error().message.find("did not finish within 5 s"), std::string::npos);
  EXPECT_EQ(exec("web", {"odd"}).result.error().code, Code::kInternal);

  fleet_.setState("n1", NodeState::kNotReady, "NoHeartbeat");
  fleet_.clearCalls();
  auto down = exec("web", {"true"});
  EXPECT_EQ(down.result.error().code, Code::kUnavailable);
  EXPECT_EQ(down.node, "n1");
  EXPECT_EQ(fleet_.count("ExecSync"), 0);
}

TEST_F(WorkloadServiceExecTest, AWorkloadNotRunningIsAConflict) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  accepted(spec("web", 256));  // Pending/Scheduled
  fleet_.clearCalls();
  auto answer = exec("web", {"true"});
  EXPECT_EQ(answer.result.error().code, Code::kFailedPrecondition);
  EXPECT_EQ(fleet_.count("ExecSync"), 0);
}

TEST_F(WorkloadServiceExecTest, ACommandTooLongForOneLineIsRefused) {
  runningWeb();
  // 64 arguments of 4096 control characters: each escapes to 6 bytes.
  std::vector<std::string> command(protocol::kMaxExecArgs,
                                   std::string(protocol::kMaxExecArgBytes, '\x01'));
  fleet_.clearCalls();
  auto answer = exec("web", command);
  EXPECT_EQ(answer.result.error().code, Code::kInvalidArgument);
  EXPECT_EQ(fleet_.count("ExecSync"), 0);
}

}  // namespace
}  // namespace zp::server::testing
