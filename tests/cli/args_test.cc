#include "cli/args.h"

#include <gtest/gtest.h>

#include "cli/exit_codes.h"
#include "test_inputs.h"

namespace zp::cli {
namespace {

using nlohmann::json;
using testing::parseOk;

EarlyExit parseExit(const std::vector<std::string>& args) {
  auto parsed = parseArgs(args);
  if (auto* early = std::get_if<EarlyExit>(&parsed)) return *early;
  ADD_FAILURE() << "parse unexpectedly succeeded";
  return {};
}

TEST(ParseArgs, RunWithCommandAfterDoubleDashMapsToTheRequestBody) {
  Invocation inv =
      parseOk({"run", "--image", "busybox:1.36", "--class", "native", "--id", "job-3", "--memory",
               "64", "--cpu", "100", "--env", "A=1", "--env", "B=2", "--", "sh", "-c", "exit 3"});
  const auto* run = std::get_if<RunArgs>(&inv.command);
  ASSERT_NE(run, nullptr);
  auto body = buildRunBody(*run);
  ASSERT_TRUE(body.has_value()) << body.error().toString();
  EXPECT_EQ(*body, json::parse(R"({"image":"busybox:1.36","runtime_class":"native",
      "id":"job-3","memory_mb":64,"cpu_millicores":100,"command":["sh","-c","exit 3"],
      "env":{"A":"1","B":"2"}})"));
}

TEST(ParseArgs, DoubleDashProtectsFlagLookingArguments) {
  Invocation inv = parseOk({"run", "--image", "i", "--class", "c", "--", "ls", "--image", "-o"});
  EXPECT_EQ(std::get<RunArgs>(inv.command).command,
            (std::vector<std::string>{"ls", "--image", "-o"}));
  EXPECT_EQ(std::get<RunArgs>(inv.command).image, "i");
}

TEST(ParseArgs, RunLeavesUnsetOptionsUnset) {
  Invocation inv = parseOk({"run", "--image", "i", "--class", "c"});
  const auto& run = std::get<RunArgs>(inv.command);
  EXPECT_FALSE(run.id.has_value());
  EXPECT_FALSE(run.memory_mb.has_value());
  EXPECT_FALSE(run.cpu_millicores.has_value());
  EXPECT_TRUE(run.command.empty());
}

TEST(ParseArgs, RunWithoutAClassLeavesTheChoiceToTheServer) {
  Invocation inv = parseOk({"run", "--image", "busybox:1.36", "--trust", "untrusted"});
  const auto& run = std::get<RunArgs>(inv.command);
  EXPECT_FALSE(run.runtime_class.has_value());
  auto body = buildRunBody(run);
  ASSERT_TRUE(body.has_value()) << body.error().toString();
  EXPECT_EQ(*body, json::parse(R"({"image":"busybox:1.36","trust":"untrusted"})"));
}

TEST(ParseArgs, SecurityFlagsMapToTheSecurityObject) {
  Invocation inv =
      parseOk({"run", "--image", "i", "--class", "native", "--trust", "internal", "--profile",
               "baseline", "--user", "1000:100", "--read-only", "--pids-limit", "64"});
  auto body = buildRunBody(std::get<RunArgs>(inv.command));
  ASSERT_TRUE(body.has_value()) << body.error().toString();
  EXPECT_EQ(*body, json::parse(R"({"image":"i","runtime_class":"native","trust":"internal",
      "security":{"profile":"baseline","run_as_user":1000,"run_as_group":100,
                  "read_only_root_fs":true,"pids_limit":64}})"));
}

TEST(ParseArgs, TrustLevelsCommand) {
  Invocation inv = parseOk({"trust-levels", "-o", "json"});
  EXPECT_TRUE(std::holds_alternative<TrustLevelsArgs>(inv.command));
  EXPECT_EQ(inv.global.output, OutputFormat::kJson);
}

TEST(ParseArgs, GlobalOptionsBeforeOrAfterTheSubcommand) {
  Invocation inv = parseOk({"--server", "http://h:1", "-o", "json", "--timeout", "2.5", "nodes"});
  EXPECT_EQ(inv.global.server, "http://h:1");
  EXPECT_EQ(inv.global.output, OutputFormat::kJson);
  EXPECT_EQ(inv.global.http_timeout, std::chrono::milliseconds(2500));
  EXPECT_TRUE(std::holds_alternative<NodesArgs>(inv.command));

  inv = parseOk({"list", "-o", "json", "--server", "http://h:2"});
  EXPECT_EQ(inv.global.server, "http://h:2");
  EXPECT_EQ(inv.global.output, OutputFormat::kJson);

  inv = parseOk({"list"});
  EXPECT_FALSE(inv.global.server.has_value());
  EXPECT_EQ(inv.global.output, OutputFormat::kTable);
  EXPECT_EQ(inv.global.http_timeout, kDefaultHttpTimeout);
}

TEST(ParseArgs, GetWithWaitAndTimeout) {
  Invocation inv = parseOk({"get", "wl-1", "--wait", "Succeeded", "--timeout", "5"});
  const auto& get = std::get<GetArgs>(inv.command);
  EXPECT_EQ(get.id, "wl-1");
  EXPECT_EQ(get.wait, api::WorkloadState::kSucceeded);
  EXPECT_EQ(get.wait_timeout, std::chrono::milliseconds(5000));
  // A duration with a unit, as kubectl's --timeout takes it.
  inv = parseOk({"get", "wl-1", "--wait", "Succeeded", "--timeout", "2m"});
  EXPECT_EQ(std::get<GetArgs>(inv.command).wait_timeout, std::chrono::minutes(2));
  inv = parseOk({"--timeout", "250ms", "nodes"});
  EXPECT_EQ(inv.global.http_timeout, std::chrono::milliseconds(250));

  inv = parseOk({"get", "wl-1", "--wait", "Running"});
  EXPECT_EQ(std::get<GetArgs>(inv.command).wait_timeout, kDefaultWaitTimeout);
  EXPECT_FALSE(std::get<GetArgs>(parseOk({"get", "wl-1"}).command).wait.has_value());
}

TEST(ParseArgs, GetWatchWithFilters) {
  Invocation inv = parseOk({"get", "-w", "--state", "Running", "--node", "n1", "--class", "kata"});
  const auto& get = std::get<GetArgs>(inv.command);
  EXPECT_TRUE(get.watch);
  EXPECT_EQ(get.id, "");
  EXPECT_EQ(get.filters.state, "Running");
  EXPECT_EQ(get.filters.node, "n1");
  EXPECT_EQ(get.filters.runtime_class, "kata");
  const auto one = std::get<GetArgs>(parseOk({"get", "--watch", "wl-1"}).command);
  EXPECT_TRUE(one.watch);
  EXPECT_EQ(one.id, "wl-1");
  EXPECT_FALSE(one.filters.state.has_value());
}

TEST(ParseArgs, Logs) {
  Invocation inv =
      parseOk({"logs", "-f", "--tail", "20", "--timestamps", "--stream", "stderr", "wl-1"});
  const auto& logs = std::get<LogsArgs>(inv.command);
  EXPECT_EQ(logs.id, "wl-1");
  EXPECT_TRUE(logs.follow);
  EXPECT_EQ(logs.tail, 20);
  EXPECT_TRUE(logs.timestamps);
  EXPECT_EQ(logs.stream, "stderr");
  const auto plain = std::get<LogsArgs>(parseOk({"logs", "wl-1"}).command);
  EXPECT_FALSE(plain.follow);
  EXPECT_FALSE(plain.tail.has_value());
  EXPECT_FALSE(plain.timestamps);
  EXPECT_FALSE(plain.stream.has_value());
}

TEST(ParseArgs, NodesAndTheirActions) {
  using Action = NodesArgs::Action;
  EXPECT_EQ(std::get<NodesArgs>(parseOk({"nodes"}).command).action, Action::kList);
  const auto add = std::get<NodesArgs>(parseOk({"nodes", "add", "n1", "10.0.0.1:7701"}).command);
  EXPECT_EQ(add.action, Action::kAdd);
  EXPECT_EQ(add.id, "n1");
  EXPECT_EQ(add.address, "10.0.0.1:7701");
  const auto remove = std::get<NodesArgs>(parseOk({"nodes", "remove", "n1", "--force"}).command);
  EXPECT_EQ(remove.action, Action::kRemove);
  EXPECT_TRUE(remove.force);
  EXPECT_FALSE(std::get<NodesArgs>(parseOk({"nodes", "remove", "n1"}).command).force);
  for (auto [name, action] :
       {std::pair{"cordon", Action::kCordon}, std::pair{"uncordon", Action::kUncordon},
        std::pair{"drain", Action::kDrain}}) {
    const auto args = std::get<NodesArgs>(parseOk({"nodes", name, "n2"}).command);
    EXPECT_EQ(args.action, action) << name;
    EXPECT_EQ(args.id, "n2") << name;
  }
  // Global options still work after a nested subcommand.
  EXPECT_EQ(parseOk({"nodes", "cordon", "n2", "-o", "json"}).global.output, OutputFormat::kJson);
}

TEST(ParseArgs, RunRestartPolicy) {
  auto body = buildRunBody(
      std::get<RunArgs>(parseOk({"run", "--image", "i", "--restart", "OnFailure"}).command));
  ASSERT_TRUE(body.has_value());
  EXPECT_EQ((*body)["restart_policy"], "OnFailure");
  auto plain = buildRunBody(std::get<RunArgs>(parseOk({"run", "--image", "i"}).command));
  ASSERT_TRUE(plain.has_value());
  EXPECT_FALSE(plain->contains("restart_policy"));
}

TEST(ParseArgs, ListFilters) {
  Invocation inv = parseOk({"list", "--state", "Failed", "--node", "n1", "--class", "edera-zone"});
  const auto& filters = std::get<ListFilters>(inv.command);
  EXPECT_EQ(filters.state, "Failed");
  EXPECT_EQ(filters.node, "n1");
  EXPECT_EQ(filters.runtime_class, "edera-zone");
  EXPECT_FALSE(std::get<ListFilters>(parseOk({"list"}).command).state.has_value());
}

TEST(ParseArgs, ApplyAndDelete) {
  EXPECT_EQ(std::get<ApplyArgs>(parseOk({"apply", "-f", "-"}).command).file, "-");
  EXPECT_EQ(std::get<DeleteArgs>(parseOk({"delete", "wl-9"}).command).id, "wl-9");
}

TEST(ParseArgs, UsageErrorsExitWith2AndSayWhat) {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {{}, "a command is required"},
           {{"-o", "json"}, "a command is required"},
           {{"frobnicate"}, "frobnicate"},
           {{"run", "--class", "c"}, "--image is required"},
           {{"run", "--image", "i", "--class", "c", "--memory", "-5"}, "--memory"},
           {{"run", "--image", "i", "--class", "c", "--cpu", "lots"}, "--cpu"},
           {{"get"}, "get needs a workload ID (or --watch)"},
           {{"get", "wl-1", "--state", "Running"}, "--state requires --watch"},
           {{"get", "-w", "--wait", "Running"}, "excludes"},
           {{"get", "-w", "--state", "running"}, "running"},
           {{"run", "--image", "i", "--restart", "Sometimes"}, "Sometimes"},
           {{"logs"}, "id is required"},
           {{"logs", "wl-1", "--tail", "-1"}, "--tail"},
           {{"logs", "wl-1", "--stream", "both"}, "both"},
           {{"logs", "Bad_Id"}, "DNS-1123"},
           {{"nodes", "add", "n1"}, "address is required"},
           {{"nodes", "cordon"}, "id is required"},
           {{"nodes", "remove", "n1", "--hard"}, "--hard"},
           {{"get", "Bad_Id"}, "DNS-1123"},
           {{"delete", "../nodes"}, "DNS-1123"},
           {{"get", "wl-1", "--wait", "Done"}, "Done"},
           {{"get", "wl-1", "--timeout", "5"}, "--timeout requires --wait"},
           {{"get", "wl-1", "--wait", "Running", "--timeout", "0"}, "--timeout"},
           {{"list", "--state", "running"}, "running"},
           {{"-o", "yaml", "nodes"}, "yaml"},
           {{"--timeout", "-1", "nodes"}, "--timeout"},
           {{"--timeout", "5x", "nodes"}, "is not a duration"},
           {{"get", "wl-1", "--wait", "Running", "--timeout", "8d"}, "to 168h"},
           {{"nodes", "extra"}, "extra"},
           {{"apply"}, "--file is required"},
           {{"run", "--image", "i", "--trust", "trusted"}, "trusted"},
           {{"run", "--image", "i", "--profile", "privileged"}, "privileged"},
           {{"run", "--image", "i", "--pids-limit", "0"}, "--pids-limit"},
           {{"trust-levels", "extra"}, "extra"},
       }) {
    EarlyExit early = parseExit(c.args);
    EXPECT_EQ(early.code, kExitUsage) << c.says;
    EXPECT_TRUE(early.err.starts_with("error: ")) << early.err;
    EXPECT_NE(early.err.find(c.says), std::string::npos) << early.err;
    EXPECT_EQ(early.out, "");
  }
}

TEST(ParseArgs, HelpDocumentsExitCodesAndVersionPrints) {
  EarlyExit help = parseExit({"--help"});
  EXPECT_EQ(help.code, kExitOk);
  for (const char* text : {"Exit codes:", "0  success", "1  request failed", "2  usage error",
                           "3  get --wait", "ZONEPLANE_SERVER", "run", "apply", "nodes", "logs"}) {
    EXPECT_NE(help.out.find(text), std::string::npos) << text;
  }
  EarlyExit run_help = parseExit({"run", "--help"});
  EXPECT_EQ(run_help.code, kExitOk);
  EXPECT_NE(run_help.out.find("--image"), std::string::npos);

  EarlyExit version = parseExit({"--version"});
  EXPECT_EQ(version.code, kExitOk);
  EXPECT_TRUE(version.out.starts_with("zoneplane ")) << version.out;
}

}  // namespace
}  // namespace zp::cli
