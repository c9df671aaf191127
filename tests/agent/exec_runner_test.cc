// ExecSync on the agent: RequestHandler -> ExecRunner -> Runtime, with the
// FakeRuntime.

#include "agent/exec_runner.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <string>

#include "agent/request_handler.h"
#include "manager_fixture.h"

namespace zp::agent::testing {
namespace {

namespace asio = boost::asio;

// A stream no request here writes to.
class NoStream final : public ReplyStream {
 public:
  asio::awaitable<bool> write(protocol::Reply) override { co_return false; }
  bool closed() const override { return false; }
};

class ExecRunnerTest : public WorkloadManagerTest {
 protected:
  void TearDown() override {
    exec_->shutdown();
    WorkloadManagerTest::TearDown();
  }

  void makeRunner(std::size_t max_running) {
    exec_ = std::make_unique<ExecRunner>(*manager_, runtime_, max_running);
    handler_ = std::make_unique<RequestHandler>(*manager_, control_.get_executor(), LogOptions{},
                                                nullptr, exec_.get());
  }

  std::future<protocol::Reply> send(protocol::ExecSync request) {
    return asio::co_spawn(control_, handler_->handle({"r1", std::move(request)}, stream_),
                          asio::use_future);
  }
  protocol::ReplyBody exec(protocol::ExecSync request) {
    auto reply = send(std::move(request)).get();
    EXPECT_EQ(reply.req, "r1");
    return reply.body;
  }
  static protocol::ExecSync request(const std::string& id, std::vector<std::string> command,
                                    const std::string& uid = {}) {
    protocol::ExecSync r;
    r.workload_id = id;
    r.uid = uid;
    r.command = std::move(command);
    r.timeout_ms = 2'000;
    return r;
  }
  static Code errorCode(const protocol::ReplyBody& body) {
    auto* e = std::get_if<protocol::ErrorReply>(&body);
    EXPECT_NE(e, nullptr) << protocol::typeName(body);
    return e ? e->error.code : Code::kInternal;
  }

  std::unique_ptr<ExecRunner> exec_ = nullptr;
  std::unique_ptr<RequestHandler> handler_;
  NoStream stream_;
};

TEST_F(ExecRunnerTest, RunsTheCommandInTheWorkloadsContainer) {
  makeRunner(4);
  const std::string container = run("web");
  std::string seen_container;
  std::vector<std::string> seen_command;
  std::chrono::milliseconds seen_timeout{0};
  runtime_.setExecHook([&](const std::string& c, const std::vector<std::string>& command,
                           std::chrono::milliseconds timeout) -> Result<ExecOutput> {
    seen_container = c;
    seen_command = command;
    seen_timeout = timeout;
    return ExecOutput{3, "hi\n", "oops"};
  });
  auto body = exec(request("web", {"sh", "-c", "echo hi"}));
  auto* result = std::get_if<protocol::ExecResult>(&body);
  ASSERT_NE(result, nullptr) << protocol::typeName(body);
  EXPECT_EQ(result->exit_code, 3);
  EXPECT_EQ(result->stdout_text, "hi\n");
  EXPECT_EQ(result->stderr_text, "oops");
  EXPECT_FALSE(result->stdout_truncated);
  EXPECT_FALSE(result->stderr_truncated);
  EXPECT_EQ(seen_container, container);
  EXPECT_EQ(seen_command, (std::vector<std::string>{"sh", "-c", "echo hi"}));
  EXPECT_EQ(seen_timeout, 2s);
  EXPECT_EQ(exec_->running(), 0u);
}

TEST_F(ExecRunnerTest, UnknownWorkloadIsNotFound) {
  makeRunner(4);
  EXPECT_EQ(errorCode(exec(request("nope", {"true"}))), Code::kNotFound);
  EXPECT_EQ(runtime_.execCalls(), 0);
}

TEST_F(ExecRunnerTest, WorkloadNotRunningIsRefused) {
  makeRunner(4);
  runtime_.holdPulls("registry.test/slow:1");
  ASSERT_TRUE(manager_->start(spec("pending", "registry.test/slow:1")).has_value());
  // Its pipeline counts as in flight once it runs: run() below needs that.
  ASSERT_TRUE(eventually([&] { return runtime_.activePulls("registry.test/slow:1") == 1; }));
  auto body = exec(request("pending", {"true"}));
  EXPECT_EQ(errorCode(body), Code::kFailedPrecondition);
  EXPECT_NE(std::get<protocol::ErrorReply>(body).error.message.find("not Running"),
            std::string::npos);

  const std::string container = run("ended");
  runtime_.exitContainer(container, 0, "Completed");
  ASSERT_TRUE(manager_->sweep().has_value());
  ASSERT_TRUE(eventually([&] { return statusOf("ended").state != api::WorkloadState::kRunning; }));
  EXPECT_EQ(errorCode(exec(request("ended", {"true"}))), Code::kFailedPrecondition);
  EXPECT_EQ(runtime_.execCalls(), 0);
  runtime_.completePull("registry.test/slow:1", fail(Code::kCancelled, "test ends"));
}

TEST_F(ExecRunnerTest, AnotherSubmissionsCopyIsRefused) {
  makeRunner(4);
  run(spec("web"), "uid-a");
  auto body = exec(request("web", {"true"}, "uid-b"));
  EXPECT_EQ(errorCode(body), Code::kFailedPrecondition);
  EXPECT_EQ(std::get<protocol::ErrorReply>(body).error.field, "uid");
  EXPECT_EQ(runtime_.execCalls(), 0);
  EXPECT_TRUE(
      std::holds_alternative<protocol::ExecResult>(exec(request("web", {"true"}, "uid-a"))));
}

TEST_F(ExecRunnerTest, TimeoutIsItsOwnError) {
  makeRunner(4);
  run("web");
  runtime_.setExecHook([](auto&&...) -> Result<ExecOutput> {
    return fail(Code::kDeadlineExceeded, "the command did not finish within 2 s");
  });
  auto body = exec(request("web", {"sleep", "5"}));
  EXPECT_EQ(errorCode(body), Code::kDeadlineExceeded);
  EXPECT_EQ(std::get<protocol::ErrorReply>(body).id, "web");
}

TEST_F(ExecRunnerTest, OutputIsCutAtTheLimitAndFlagged) {
  makeRunner(4);
  run("web");
  runtime_.setExecHook([](auto&&...) -> Result<ExecOutput> {
    return ExecOutput{0, std::string(100 * 1024, 'a'), std::string(10, 'e')};
  });
  auto r = request("web", {"cat", "big"});
  r.max_output_bytes = protocol::kMaxExecOutputBytes;
  auto body = exec(r);
  auto* result = std::get_if<protocol::ExecResult>(&body);
  ASSERT_NE(result, nullptr);
  EXPECT_EQ(result->stdout_text.size(), static_cast<std::size_t>(protocol::kMaxExecOutputBytes));
  EXPECT_TRUE(result->stdout_truncated);
  EXPECT_EQ(result->stderr_text, std::string(10, 'e'));
  EXPECT_FALSE(result->stderr_truncated);
  // The reply fits one protocol line.
  EXPECT_LT(protocol::encodeReply({"r1", body}).size(), protocol::kMaxLineBytes);
}

TEST_F(ExecRunnerTest, InvalidUtf8IsReplaced) {
  makeRunner(4);
  run("web");
  runtime_.setExecHook([](auto&&...) -> Result<ExecOutput> {
    return ExecOutput{0,
                      "a\xff"
                      "b\xc3",
                      "\xed\xa0\x80"};
  });
  auto body = exec(request("web", {"cat", "bin"}));
  auto* result = std::get_if<protocol::ExecResult>(&body);
  ASSERT_NE(result, nullptr);
  EXPECT_EQ(result->stdout_text,
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD");
  EXPECT_EQ(result->stderr_text, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_F(ExecRunnerTest, ConcurrentExecsAreBoundedAndDoNotBlockOtherRequests) {
  makeRunner(2);
  run("web");
  runtime_.holdExecs(true);
  auto first = send(request("web", {"sleep", "1"}));
  auto second = send(request("web", {"sleep", "1"}));
  ASSERT_TRUE(eventually([&] { return runtime_.heldExecs() == 2; }));
  // A third is refused at once; other requests are answered meanwhile.
  EXPECT_EQ(errorCode(exec(request("web", {"true"}))), Code::kResourceExhausted);
  auto status =
      asio::co_spawn(control_, handler_->handle({"s", protocol::GetStatus{"web"}}, stream_),
                     asio::use_future)
          .get();
  EXPECT_TRUE(std::holds_alternative<api::WorkloadStatus>(status.body));
  EXPECT_EQ(exec_->running(), 2u);
  runtime_.finishExecs();
  EXPECT_TRUE(std::holds_alternative<protocol::ExecResult>(first.get().body));
  EXPECT_TRUE(std::holds_alternative<protocol::ExecResult>(second.get().body));
  EXPECT_EQ(exec_->running(), 0u);
  runtime_.holdExecs(false);
  EXPECT_TRUE(std::holds_alternative<protocol::ExecResult>(exec(request("web", {"true"}))));
}

TEST_F(ExecRunnerTest, ShutdownCancelsExecsUnderWay) {
  makeRunner(2);
  run("web");
  runtime_.holdExecs(true);
  auto pending = send(request("web", {"sleep", "100"}));
  ASSERT_TRUE(eventually([&] { return runtime_.heldExecs() == 1; }));
  exec_->shutdown();
  EXPECT_EQ(errorCode(pending.get().body), Code::kCancelled);
  EXPECT_EQ(errorCode(exec(request("web", {"true"}))), Code::kCancelled);
}

TEST_F(ExecRunnerTest, WithoutARunnerExecIsUnimplemented) {
  makeRunner(1);
  handler_ = std::make_unique<RequestHandler>(*manager_, control_.get_executor());
  EXPECT_EQ(errorCode(exec(request("web", {"true"}))), Code::kUnimplemented);
}

}  // namespace
}  // namespace zp::agent::testing
