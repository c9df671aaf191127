#include "cli/wait.h"

#include <gtest/gtest.h>

#include "cli/beast_http_client.h"
#include "test_http_server.h"
#include "test_workloads.h"

namespace zp::cli {
namespace {

using namespace std::chrono_literals;
using api::WorkloadState;
using testing::CannedResponse;
using testing::TestHttpServer;
using testing::workloadJson;

CannedResponse reply(const nlohmann::json& workload) { return {200, workload.dump()}; }

class WaitTest : public ::testing::Test {
 protected:
  Result<WaitResult> wait(TestHttpServer& server, WorkloadState target,
                          std::chrono::milliseconds timeout = 5s) {
    BeastHttpClient http(ServerUrl{"127.0.0.1", server.port(), ""}, 5s);
    ApiClient api(http, "");
    return waitForState(api, "wl-1", WaitOptions{target, timeout, 10ms});
  }
};

TEST_F(WaitTest, PollsUntilTheStateIsReached) {
  TestHttpServer server({reply(workloadJson("wl-1", "Pending", "Scheduled")),
                         reply(workloadJson("wl-1", "Pending", "Pulling")),
                         reply(workloadJson("wl-1", "Running", "Started"))});
  auto result = wait(server, WorkloadState::kRunning);
  ASSERT_TRUE(result.has_value()) << result.error().toString();
  EXPECT_EQ(result->outcome, WaitOutcome::kReached);
  EXPECT_EQ(result->workload["status"]["state"], "Running");
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  for (const auto& r : requests) {
    EXPECT_EQ(r.method, "GET");
    EXPECT_EQ(r.target, "/workloads/wl-1");
  }
}

TEST_F(WaitTest, AlreadyThereNeedsOnePoll) {
  TestHttpServer server({reply(workloadJson("wl-1", "Succeeded", "Completed", "", 0))});
  auto result = wait(server, WorkloadState::kSucceeded);
  ASSERT_TRUE(result.has_value()) << result.error().toString();
  EXPECT_EQ(result->outcome, WaitOutcome::kReached);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(WaitTest, AnotherTerminalStateEndsTheWaitWithTheReason) {
  TestHttpServer server({reply(workloadJson("wl-1", "Pending")),
                         reply(workloadJson("wl-1", "Failed", "OOMKilled",
                                            "container exceeded its memory limit", 137))});
  auto result = wait(server, WorkloadState::kRunning);
  ASSERT_TRUE(result.has_value()) << result.error().toString();
  EXPECT_EQ(result->outcome, WaitOutcome::kWrongTerminalState);
  EXPECT_EQ(result->message,
            "workload \"wl-1\" is Failed, not Running (reason: OOMKilled, exit code: 137): "
            "container exceeded its memory limit");
}

TEST_F(WaitTest, UnknownIsNotTerminalSoTheWaitTimesOut) {
  TestHttpServer server({reply(workloadJson("wl-1", "Unknown", "NodeUnreachable"))});
  auto start = std::chrono::steady_clock::now();
  auto result = wait(server, WorkloadState::kSucceeded, 150ms);
  ASSERT_TRUE(result.has_value()) << result.error().toString();
  EXPECT_EQ(result->outcome, WaitOutcome::kTimedOut);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms);
  EXPECT_GE(server.requests().size(), 2u);
  EXPECT_EQ(result->message,
            "timed out after 150ms waiting for workload \"wl-1\" to be Succeeded (it is Unknown, "
            "reason: NodeUnreachable)");
}

TEST_F(WaitTest, RequestErrorsEndTheWait) {
  TestHttpServer server({reply(workloadJson("wl-1", "Pending")),
                         {404, testing::errorBody("NotFound", "no workload \"wl-1\"")}});
  auto result = wait(server, WorkloadState::kRunning);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, Code::kNotFound);
  EXPECT_EQ(server.requests().size(), 2u);
}

}  // namespace
}  // namespace zp::cli
