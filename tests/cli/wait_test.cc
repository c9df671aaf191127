#include "cli/wait.h"

#include <gtest/gtest.h>

#include "cli/beast_http_client.h"
#include "test_http_server.h"
#include "test_workloads.h"

namespace zp::cli {
namespace {

using namespace std::chrono_literals;
using api::WorkloadState;
using nlohmann::json;
using testing::CannedResponse;
using testing::StreamEnd;
using testing::TestHttpServer;
using testing::workloadJson;

CannedResponse reply(const json& workload) { return {200, workload.dump()}; }

std::string event(const std::string& type, const json& workload) {
  return json{{"type", type}, {"workload", workload}}.dump();
}

CannedResponse watchRefused() {
  return {400, testing::errorBody("InvalidArgument", "unknown query parameter \"watch\"", "watch")};
}

class WaitTest : public ::testing::Test {
 protected:
  Result<WaitResult> wait(TestHttpServer& server, WorkloadState target,
                          std::chrono::milliseconds timeout = 5s) {
    BeastHttpClient http(ServerUrl{"127.0.0.1", server.port(), ""}, 5s);
    ApiClient api(http, "");
    return waitForState(api, "wl-1", WaitOptions{target, timeout, 10ms});
  }
};

TEST_F(WaitTest, WatchesUntilTheStateIsReached) {
  TestHttpServer server(
      {reply(workloadJson("wl-1", "Pending", "Scheduled")),
       testing::streamed({event("ADDED", workloadJson("wl-1", "Pending", "Scheduled")),
                          event("MODIFIED", workloadJson("wl-1", "Pending", "Pulling")),
                          event("MODIFIED", workloadJson("wl-1", "Running", "Started")),
                          event("MODIFIED", workloadJson("wl-1", "Failed", "Error"))},
                         StreamEnd::kHoldOpen)});
  auto result = wait(server, WorkloadState::kRunning);
  ASSERT_TRUE(result.has_value()) << result.error().toString();
  EXPECT_EQ(result->outcome, WaitOutcome::kReached);
  EXPECT_EQ(result->workload, workloadJson("wl-1", "Running", "Started"));
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].target, "/workloads/wl-1");
  EXPECT_EQ(requests[1].target, "/workloads?watch=true&id=wl-1");
}

TEST_F(WaitTest, AlreadyThereNeedsOneRequest) {
  TestHttpServer server({reply(workloadJson("wl-1", "Succeeded", "Completed", "", 0))});
  auto result = wait(server, WorkloadState::kSucceeded);
  ASSERT_TRUE(result.has_value()) << result.error().toString();
  EXPECT_EQ(result->outcome, WaitOutcome::kReached);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(WaitTest, AnotherTerminalStateEndsTheWaitWithTheReason) {
  TestHttpServer server(
      {reply(workloadJson("wl-1", "Pending")),
       testing::streamed({event("ADDED", workloadJson("wl-1", "Failed", "OOMKilled",
                                                      "container exceeded its memory limit", 137))},
                         StreamEnd::kHoldOpen)});
  auto result = wait(server, WorkloadState::kRunning);
  ASSERT_TRUE(result.has_value()) << result.error().toString();
  EXPECT_EQ(result->outcome, WaitOutcome::kWrongTerminalState);
  EXPECT_EQ(result->message,
            "workload \"wl-1\" is Failed, not Running (reason: OOMKilled, exit code: 137): "
            "container exceeded its memory limit");
}

TEST_F(WaitTest, TimesOutOnAQuietWatchWithTheLastStateSeen) {
  TestHttpServer server(
      {reply(workloadJson("wl-1", "Pending", "Scheduled")),
       testing::streamed({event("ADDED", workloadJson("wl-1", "Unknown", "NodeUnreachable"))},
                         StreamEnd::kHoldOpen)});
  auto result = wait(server, WorkloadState::kSucceeded, 150ms);
  ASSERT_TRUE(result.has_value()) << result.error().toString();
  EXPECT_EQ(result->outcome, WaitOutcome::kTimedOut);
  EXPECT_EQ(result->message,
            "timed out after 150ms waiting for workload \"wl-1\" to be Succeeded (it is Unknown, "
            "reason: NodeUnreachable)");
}

TEST_F(WaitTest, DeletionEndsTheWaitAsNotFound) {
  TestHttpServer server({reply(workloadJson("wl-1", "Pending")),
                         testing::streamed({event("ADDED", workloadJson("wl-1", "Pending")),
                                            event("DELETED", workloadJson("wl-1", "Pending"))},
                                           StreamEnd::kHoldOpen)});
  auto result = wait(server, WorkloadState::kRunning);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, Code::kNotFound);
  EXPECT_EQ(result.error().message, "workload \"wl-1\" was deleted while waiting for it");
}

TEST_F(WaitTest, AServerWithoutWatchIsPolled) {
  TestHttpServer server({reply(workloadJson("wl-1", "Pending", "Scheduled")), watchRefused(),
                         reply(workloadJson("wl-1", "Pending", "Pulling")),
                         reply(workloadJson("wl-1", "Running", "Started"))});
  auto result = wait(server, WorkloadState::kRunning);
  ASSERT_TRUE(result.has_value()) << result.error().toString();
  EXPECT_EQ(result->outcome, WaitOutcome::kReached);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[1].target, "/workloads?watch=true&id=wl-1");
  EXPECT_EQ(requests[2].target, "/workloads/wl-1");
  EXPECT_EQ(requests[3].target, "/workloads/wl-1");
}

TEST_F(WaitTest, AWatchThatEndsEarlyFallsBackToPolling) {
  TestHttpServer server({reply(workloadJson("wl-1", "Pending")),
                         testing::streamed({event("ADDED", workloadJson("wl-1", "Pending"))}),
                         reply(workloadJson("wl-1", "Running", "Started"))});
  auto result = wait(server, WorkloadState::kRunning);
  ASSERT_TRUE(result.has_value()) << result.error().toString();
  EXPECT_EQ(result->outcome, WaitOutcome::kReached);
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST_F(WaitTest, AWatchErrorEndsTheWait) {
  TestHttpServer server(
      {reply(workloadJson("wl-1", "Pending")),
       testing::streamed({R"({"type":"ERROR","error":{"code":"ResourceExhausted",)"
                          R"("message":"watch fell behind; list again"}})"})});
  auto result = wait(server, WorkloadState::kRunning);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, Code::kResourceExhausted);
}

TEST(PollForState, PollsUntilTheStateIsReached) {
  TestHttpServer server({reply(workloadJson("wl-1", "Pending", "Scheduled")),
                         reply(workloadJson("wl-1", "Pending", "Pulling")),
                         reply(workloadJson("wl-1", "Running", "Started"))});
  BeastHttpClient http(ServerUrl{"127.0.0.1", server.port(), ""}, 5s);
  ApiClient api(http, "");
  auto result = pollForState(api, "wl-1", WaitOptions{WorkloadState::kRunning, 5s, 10ms},
                             std::chrono::steady_clock::now() + 5s);
  ASSERT_TRUE(result.has_value()) << result.error().toString();
  EXPECT_EQ(result->outcome, WaitOutcome::kReached);
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST(PollForState, UnknownIsNotTerminalSoThePollTimesOut) {
  TestHttpServer server({reply(workloadJson("wl-1", "Unknown", "NodeUnreachable"))});
  BeastHttpClient http(ServerUrl{"127.0.0.1", server.port(), ""}, 5s);
  ApiClient api(http, "");
  const WaitOptions options{WorkloadState::kSucceeded, 150ms, 10ms};
  auto result = pollForState(api, "wl-1", options, std::chrono::steady_clock::now() + 150ms);
  ASSERT_TRUE(result.has_value()) << result.error().toString();
  EXPECT_EQ(result->outcome, WaitOutcome::kTimedOut);
  EXPECT_GE(server.requests().size(), 2u);
}

TEST(PollForState, RequestErrorsEndThePoll) {
  TestHttpServer server({reply(workloadJson("wl-1", "Pending")),
                         {404, testing::errorBody("NotFound", "no workload \"wl-1\"")}});
  BeastHttpClient http(ServerUrl{"127.0.0.1", server.port(), ""}, 5s);
  ApiClient api(http, "");
  auto result = pollForState(api, "wl-1", WaitOptions{WorkloadState::kRunning, 5s, 10ms},
                             std::chrono::steady_clock::now() + 5s);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, Code::kNotFound);
  EXPECT_EQ(server.requests().size(), 2u);
}

}  // namespace
}  // namespace zp::cli
