// The whole CLI in-process (runCli) against the in-test HTTP server: what is
// sent, what is printed, which exit code.
#include "cli/app.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/exit_codes.h"
#include "cli_run.h"
#include "test_http_server.h"
#include "test_workloads.h"

namespace zp::cli {
namespace {

using nlohmann::json;
using testing::CannedResponse;
using testing::reply;
using testing::TestHttpServer;
using testing::workloadJson;

using testing::cli;
using testing::CliRun;
using testing::serverEnv;

TEST(Cli, RunPostsTheSpecAndPrintsIdAndState) {
  TestHttpServer server({reply(201, workloadJson("job-3", "Pending", "Scheduled"))});
  CliRun r = cli({"--server", server.url(), "run", "--image", "busybox:1.36", "--class", "native",
                  "--id", "job-3", "--", "sh", "-c", "exit 3"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, "ID      STATE\njob-3   Pending\n");
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/workloads");
  EXPECT_EQ(json::parse(requests[0].body),
            json::parse(R"({"image":"busybox:1.36","runtime_class":"native","id":"job-3",
                            "command":["sh","-c","exit 3"]})"));
}

TEST(Cli, ApplySendsTheFileAsIs) {
  const std::string spec =
      R"({"image":"busybox:1.36","runtime_class":"native","args":["-x"],"future_field":1})";
  TestHttpServer server({reply(201, workloadJson("wl-gen", "Pending"))});
  CliRun r = cli({"apply", "-f", "-"}, serverEnv(server.url()), spec);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(json::parse(server.requests().at(0).body), json::parse(spec));

  auto path = std::filesystem::temp_directory_path() /
              ("zp-cli-apply-" + std::to_string(server.port()) + ".json");
  std::ofstream(path) << spec;
  r = cli({"apply", "-f", path.string(), "-o", "json"}, serverEnv(server.url()));
  std::filesystem::remove(path);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(json::parse(r.out), workloadJson("wl-gen", "Pending"));
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(Cli, ApplyRejectsBadFilesWithoutSending) {
  TestHttpServer server({reply(201, workloadJson("x", "Pending"))});
  for (const char* text : {"", "{oops", "[1,2]", "\"spec\""}) {
    CliRun r = cli({"apply", "-f", "-"}, serverEnv(server.url()), text);
    EXPECT_EQ(r.code, kExitUsage) << text;
    EXPECT_TRUE(r.err.starts_with("error: stdin ")) << r.err;
  }
  CliRun r = cli({"apply", "-f", "/nonexistent/zp.json"}, serverEnv(server.url()));
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.err, "error: cannot open \"/nonexistent/zp.json\"\n");
  EXPECT_TRUE(server.requests().empty());
}

std::string event(const std::string& type, const json& workload) {
  return json{{"type", type}, {"workload", workload}}.dump();
}

TEST(Cli, GetWaitWatchesUntilRunning) {
  TestHttpServer server(
      {reply(200, workloadJson("wl-1", "Pending")),
       testing::streamed({event("ADDED", workloadJson("wl-1", "Pending", "Pulling")),
                          event("MODIFIED", workloadJson("wl-1", "Running", "Started"))},
                         testing::StreamEnd::kHoldOpen)});
  CliRun r = cli({"--server", server.url(), "get", "wl-1", "--wait", "Running"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_NE(r.out.find("STATE:          Running\n"), std::string::npos) << r.out;
  ASSERT_EQ(server.requests().size(), 2u);
  EXPECT_EQ(server.requests()[1].target, "/workloads?watch=true&id=wl-1");
}

TEST(Cli, GetWaitForRunningButFailedExits3WithTheReason) {
  TestHttpServer server({reply(200, workloadJson("job-3", "Failed", "Error", "", 3))});
  CliRun r = cli({"--server", server.url(), "get", "job-3", "--wait", "Running"});
  EXPECT_EQ(r.code, kExitWaitFailed);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "error: workload \"job-3\" is Failed, not Running (reason: Error, exit code: 3)\n");
}

TEST(Cli, GetWaitTimeoutExits3) {
  TestHttpServer server(
      {reply(200, workloadJson("wl-1", "Pending", "Pulling")),
       testing::streamed({event("ADDED", workloadJson("wl-1", "Pending", "Pulling"))},
                         testing::StreamEnd::kHoldOpen)});
  CliRun r =
      cli({"--server", server.url(), "get", "wl-1", "--wait", "Running", "--timeout", "0.4"});
  EXPECT_EQ(r.code, kExitWaitFailed);
  EXPECT_EQ(r.err,
            "error: timed out after 400ms waiting for workload \"wl-1\" to be Running (it is "
            "Pending, reason: Pulling)\n");
}

TEST(Cli, ServerErrorsExit1WithTheServersMessage) {
  TestHttpServer server(
      {{422,
        testing::errorBody("InvalidArgument", "unknown runtime class \"nope\"", "runtime_class")},
       {404, testing::errorBody("NotFound", "no workload \"gone\"")}});
  CliRun r = cli({"--server", server.url(), "run", "--image", "busybox", "--class", "nope"});
  EXPECT_EQ(r.code, kExitRequestError);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "error: unknown runtime class \"nope\" (field: runtime_class)\n");

  r = cli({"--server", server.url(), "delete", "gone"});
  EXPECT_EQ(r.code, kExitRequestError);
  EXPECT_EQ(r.err, "error: no workload \"gone\"\n");
  EXPECT_EQ(server.requests().at(1).method, "DELETE");
  EXPECT_EQ(server.requests().at(1).target, "/workloads/gone");
}

TEST(Cli, UnreachableServerExits1) {
  std::string url = "http://127.0.0.1:" + std::to_string(testing::unusedPort());
  CliRun r = cli({"--server", url, "nodes"});
  EXPECT_EQ(r.code, kExitRequestError);
  EXPECT_EQ(r.err, "error: cannot reach zoneplane server at " + url + ": Connection refused\n");
}

TEST(Cli, FlagWinsOverEnvironment) {
  TestHttpServer flag_server({reply(200, json{{"items", json::array()}})});
  TestHttpServer env_server({reply(200, json{{"items", json::array()}})});
  CliRun r = cli({"list", "--server", flag_server.url()}, serverEnv(env_server.url()));
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "No workloads found.\n");
  EXPECT_EQ(flag_server.requests().size(), 1u);
  EXPECT_EQ(env_server.requests().size(), 0u);

  r = cli({"list"}, serverEnv(env_server.url() + "/prefix/"));
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(env_server.requests().at(0).target, "/prefix/workloads");
}

TEST(Cli, BadServerUrlsAreUsageErrors) {
  CliRun r = cli({"--server", "ftp://127.0.0.1:7700", "nodes"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.err,
            "error: invalid server URL \"ftp://127.0.0.1:7700\": only https:// and http:// URLs "
            "are supported\n");
  r = cli({"nodes"}, serverEnv("127.0.0.1:7700"));
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("invalid server URL"), std::string::npos);
  EXPECT_NE(r.err.find("(from ZONEPLANE_SERVER)"), std::string::npos) << r.err;
}

TEST(Cli, ListEncodesFiltersAndNodesPrintsATable) {
  json nodes = json::parse(R"({"items":[{"id":"n1","address":"a:1","state":"Ready","reason":"",
      "schedulable":true,"last_heartbeat":null,
      "capacity":{"memory_mb":1024,"cpu_millicores":1000},
      "allocated":{"memory_mb":512,"cpu_millicores":250},
      "allocatable":{"memory_mb":512,"cpu_millicores":750},
      "runtime_classes":["native"],"workloads":2,"version":"0.2.0"}]})");
  TestHttpServer server(
      {reply(200, json{{"items", {workloadJson("wl-1", "Running")}}}), reply(200, nodes)});
  CliRun r = cli({"--server", server.url(), "list", "--state", "Running", "--node", "n 1",
                  "--class", "edera-zone"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_TRUE(
      r.out.starts_with("ID     STATE     REASON   RESTARTS   EXIT   NODE     CLASS    IMAGE"))
      << r.out;
  EXPECT_EQ(server.requests().at(0).target,
            "/workloads?state=Running&node=n%201&runtime_class=edera-zone");

  r = cli({"--server", server.url(), "nodes"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out,
            "NODE   STATE   SCHEDULABLE   CLASSES   MEMORY(alloc/cap)   CPU(alloc/cap)   "
            "WORKLOADS   HEARTBEAT\n"
            "n1     Ready   yes           native    512Mi/1024Mi        250m/1000m       "
            "2           -\n");
}

TEST(Cli, NodeActionsSendTheirRequests) {
  json node = json::parse(R"({"id":"n1","address":"10.0.0.1:7701","state":"NotReady",
      "reason":"Connecting","schedulable":false,"workloads":0})");
  TestHttpServer server({reply(201, node), reply(200, node), reply(200, node), reply(200, node),
                         reply(200, json::object()), reply(200, json::object())});
  CliRun r = cli({"--server", server.url(), "nodes", "add", "n1", "10.0.0.1:7701"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_NE(r.out.find("n1     NotReady (Connecting)   no (cordoned)"), std::string::npos) << r.out;
  for (const char* action : {"cordon", "uncordon", "drain"}) {
    r = cli({"--server", server.url(), "nodes", action, "n1"});
    EXPECT_EQ(r.code, kExitOk) << action << ": " << r.err;
  }
  r = cli({"--server", server.url(), "nodes", "remove", "n1"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "node \"n1\" removed\n");
  r = cli({"--server", server.url(), "nodes", "remove", "n1", "--force", "-o", "json"});
  EXPECT_EQ(r.out, "{}\n");

  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 6u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/nodes");
  EXPECT_EQ(json::parse(requests[0].body), json::parse(R"({"id":"n1","address":"10.0.0.1:7701"})"));
  EXPECT_EQ(requests[1].target, "/nodes/n1/cordon");
  EXPECT_EQ(requests[2].target, "/nodes/n1/uncordon");
  EXPECT_EQ(requests[3].method, "POST");
  EXPECT_EQ(requests[3].target, "/nodes/n1/drain");
  EXPECT_EQ(requests[4].method, "DELETE");
  EXPECT_EQ(requests[4].target, "/nodes/n1");
  EXPECT_EQ(requests[5].target, "/nodes/n1?force=true");
}

TEST(Cli, NodeRemovalRefusedWhileWorkloadsRunExits1) {
  TestHttpServer server({{409, testing::errorBody("FailedPrecondition",
                                                  "node \"n1\" has 2 workloads; drain it or use "
                                                  "force")}});
  CliRun r = cli({"--server", server.url(), "nodes", "remove", "n1"});
  EXPECT_EQ(r.code, kExitRequestError);
  EXPECT_EQ(r.err, "error: node \"n1\" has 2 workloads; drain it or use force\n");
}

TEST(Cli, LogsPrintsTheLinesAsTheyCome) {
  TestHttpServer server({testing::streamed({"hello", "2026-11-29T13:40:31Z world"},
                                           testing::StreamEnd::kComplete, "text/plain")});
  CliRun r = cli({"--server", server.url(), "logs", "-f", "--tail", "10", "--timestamps",
                  "--stream", "stdout", "wl-1"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "hello\n2026-11-29T13:40:31Z world\n");
  EXPECT_EQ(server.requests().at(0).target,
            "/workloads/wl-1/logs?tail=10&follow=true&timestamps=true&stream=stdout");
}

TEST(Cli, LogsErrorsExit1) {
  TestHttpServer server(
      {{409, testing::errorBody("FailedPrecondition", "workload \"wl-1\" is not placed")},
       testing::streamed({"partial"}, testing::StreamEnd::kAbort, "text/plain")});
  CliRun r = cli({"--server", server.url(), "logs", "wl-1"});
  EXPECT_EQ(r.code, kExitRequestError);
  EXPECT_EQ(r.err, "error: workload \"wl-1\" is not placed\n");
  r = cli({"--server", server.url(), "logs", "-f", "wl-1"});
  EXPECT_EQ(r.code, kExitRequestError);
  EXPECT_EQ(r.out, "partial\n");
  EXPECT_NE(r.err.find("broke off"), std::string::npos) << r.err;
}

TEST(Cli, GetWatchPrintsARowPerEvent) {
  TestHttpServer server(
      {testing::streamed({event("ADDED", workloadJson("wl-1", "Pending", "Scheduled")),
                          event("MODIFIED", workloadJson("wl-1", "Running", "Started")),
                          event("DELETED", workloadJson("wl-1", "Running", "Started"))})});
  CliRun r =
      cli({"--server", server.url(), "get", "-w", "--state", "Running", "--class", "native"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(server.requests().at(0).target,
            "/workloads?watch=true&state=Running&runtime_class=native");
  std::istringstream lines(r.out);
  std::vector<std::string> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(line);
  ASSERT_EQ(rows.size(), 4u) << r.out;
  EXPECT_TRUE(rows[0].starts_with("EVENT      ID                     STATE       REASON")) << r.out;
  EXPECT_TRUE(rows[1].starts_with("ADDED      wl-1                   Pending     Scheduled"))
      << r.out;
  EXPECT_TRUE(rows[2].starts_with("MODIFIED   wl-1                   Running     Started"))
      << r.out;
  EXPECT_TRUE(rows[3].starts_with("DELETED    wl-1                   Running")) << r.out;
}

TEST(Cli, GetWatchJsonPrintsOneEventPerLineAndReportsAWatchError) {
  TestHttpServer server({testing::streamed(
      {event("ADDED", workloadJson("wl-1", "Pending")),
       R"({"type":"ERROR","error":{"code":"ResourceExhausted","message":"watch fell behind; list again"}})"})});
  CliRun r = cli({"--server", server.url(), "-o", "json", "get", "--watch", "wl-1"});
  EXPECT_EQ(r.code, kExitRequestError);
  EXPECT_EQ(r.out, event("ADDED", workloadJson("wl-1", "Pending")) + "\n");
  EXPECT_EQ(r.err, "error: the server ended the watch: watch fell behind; list again\n");
  EXPECT_EQ(server.requests().at(0).target, "/workloads?watch=true&id=wl-1");
}

TEST(Cli, TrustLevelsPrintsThePolicy) {
  json levels = json::parse(R"({"default_trust":"untrusted","items":[
      {"name":"untrusted","default":true,"runtime_classes":["edera-zone"],
       "min_profile":"restricted","min_isolation":"application-kernel",
       "available":["edera-zone"]}]})");
  TestHttpServer server({reply(200, levels)});
  CliRun r = cli({"--server", server.url(), "trust-levels"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(server.requests().at(0).target, "/trust-levels");
  EXPECT_EQ(r.out,
            "TRUST       DEFAULT   MIN PROFILE   MIN ISOLATION        CLASSES      AVAILABLE\n"
            "untrusted   yes       restricted    application-kernel   edera-zone   edera-zone\n");
}

TEST(Cli, JsonOutputIsTheServersReplyPretty) {
  json body = workloadJson("wl-1", "Running");
  body["status"]["future"] = {{"nested", true}};
  TestHttpServer server({reply(200, body)});
  CliRun r = cli({"--server", server.url(), "-o", "json", "get", "wl-1"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, body.dump(2) + "\n");
}

TEST(Cli, MalformedSuccessRepliesExit1) {
  TestHttpServer server({reply(200, json{{"unexpected", true}})});
  CliRun r = cli({"--server", server.url(), "get", "wl-1"});
  EXPECT_EQ(r.code, kExitRequestError);
  EXPECT_TRUE(r.err.starts_with("error: unexpected reply from the server")) << r.err;
}

}  // namespace
}  // namespace zp::cli
