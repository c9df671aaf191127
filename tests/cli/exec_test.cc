// `zoneplane exec` in-process against the in-test HTTP server: the request it
// sends, its streams and exit codes, truncation notes, errors, arguments.
#include <gtest/gtest.h>

#include "cli/args.h"
#include "cli/exec_command.h"
#include "cli/exit_codes.h"
#include "cli_run.h"
#include "test_http_server.h"

namespace zp::cli {
namespace {

using nlohmann::json;
using testing::CannedResponse;
using testing::cli;
using testing::CliRun;
using testing::reply;
using testing::serverEnv;
using testing::TestHttpServer;

json result(int code, std::string out, std::string err, bool out_cut = false,
            bool err_cut = false) {
  return json{{"exit_code", code},
              {"stdout", std::move(out)},
              {"stderr", std::move(err)},
              {"stdout_truncated", out_cut},
              {"stderr_truncated", err_cut}};
}

TEST(CliExec, SendsTheCommandAndPassesStreamsAndExitCodeThrough) {
  TestHttpServer server({reply(200, result(3, "hi\n", "warn\n"))});
  CliRun r = cli({"exec", "--timeout", "20s", "web", "--", "sh", "-c", "echo hi; exit 3"},
                 serverEnv(server.url()));
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_EQ(r.out, "hi\n");
  EXPECT_EQ(r.err, "warn\n");
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/workloads/web/exec");
  EXPECT_EQ(json::parse(requests[0].body),
            (json{{"command", {"sh", "-c", "echo hi; exit 3"}}, {"timeout_seconds", 20}}));
}

TEST(CliExec, DefaultTimeoutAndZeroExit) {
  TestHttpServer server({reply(200, result(0, "", ""))});
  CliRun r = cli({"exec", "web", "--", "true"}, serverEnv(server.url()));
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(json::parse(server.requests().at(0).body)["timeout_seconds"], 10);
}

TEST(CliExec, NotesCutStreamsOnStderr) {
  TestHttpServer server({reply(200, result(0, "aaaa", "partial", true, true))});
  CliRun r = cli({"exec", "web", "--", "cat", "big"}, serverEnv(server.url()));
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, "aaaa");
  EXPECT_EQ(r.err,
            "partial\nzoneplane exec: stdout was cut at 64 KiB\n"
            "zoneplane exec: stderr was cut at 64 KiB\n");
}

TEST(CliExec, ApiErrorsHaveTheirOwnExitCodes) {
  TestHttpServer server(
      {reply(409, json{{"error",
                        {{"code", "FailedPrecondition"},
                         {"message", "workload \"web\" is Pending, not Running"}}}}),
       reply(504, json{{"error",
                        {{"code", "DeadlineExceeded"},
                         {"message", "the command did not finish within 1 s"}}}}),
       reply(200, json{{"exit_code", "zero"}})});
  CliRun refused = cli({"exec", "web", "--", "true"}, serverEnv(server.url()));
  EXPECT_EQ(refused.code, kExitExecFailed);
  EXPECT_TRUE(refused.out.empty());
  EXPECT_NE(refused.err.find("not Running"), std::string::npos) << refused.err;
  CliRun late = cli({"exec", "--timeout", "1", "web", "--", "sleep", "5"}, serverEnv(server.url()));
  EXPECT_EQ(late.code, kExitExecTimeout);
  EXPECT_NE(late.err.find("did not finish within 1 s"), std::string::npos) << late.err;
  CliRun odd = cli({"exec", "web", "--", "true"}, serverEnv(server.url()));
  EXPECT_EQ(odd.code, kExitExecFailed);
}

TEST(CliExec, JsonOutputPrintsTheReply) {
  TestHttpServer server({reply(200, result(1, "x", "y"))});
  CliRun r = cli({"-o", "json", "exec", "web", "--", "false"}, serverEnv(server.url()));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(json::parse(r.out), result(1, "x", "y"));
}

TEST(CliExec, ArgumentErrorsAreUsageErrors) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"exec", "web"},
                                               {"exec", "--", "true"},
                                               {"exec", "Bad_Id", "--", "true"},
                                               {"exec", "--timeout", "0s", "web", "--", "true"},
                                               {"exec", "--timeout", "301", "web", "--", "true"},
                                               {"exec", "--timeout", "ten", "web", "--", "true"}}) {
    CliRun r = cli(args, serverEnv("http://127.0.0.1:1"));
    EXPECT_EQ(r.code, kExitUsage) << ::testing::PrintToString(args) << r.err;
  }
}

TEST(CliExec, TimeoutParsing) {
  EXPECT_EQ(*parseExecTimeout("10"), std::chrono::seconds(10));
  EXPECT_EQ(*parseExecTimeout("10s"), std::chrono::seconds(10));
  EXPECT_EQ(*parseExecTimeout("5m"), std::chrono::seconds(300));
  EXPECT_FALSE(parseExecTimeout("6m"));
  EXPECT_FALSE(parseExecTimeout("s"));
  EXPECT_FALSE(parseExecTimeout("-1"));
  EXPECT_FALSE(parseExecTimeout("1h"));
  EXPECT_EQ(*parseExecTimeout("2000ms"), std::chrono::seconds(2));
  auto fraction = parseExecTimeout("1.5");  // the API takes whole seconds
  ASSERT_FALSE(fraction);
  EXPECT_EQ(fraction.error().message, "\"1.5\" is not whole seconds");
  auto over = parseExecTimeout("301");
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().message,
            "\"301\" is not a duration from 1s to 300s (e.g. 30s, 2m, 1.5 for seconds)");
}

TEST(CliExec, TheHttpTimeoutOutlastsTheCommand) {
  auto parsed = parseArgs({"exec", "--timeout", "120s", "web", "--", "true"});
  ASSERT_TRUE(std::holds_alternative<Invocation>(parsed));
  EXPECT_GT(requestTimeout(std::get<Invocation>(parsed)), std::chrono::seconds(120));
}

}  // namespace
}  // namespace zp::cli
