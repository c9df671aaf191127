// Verified isolation in the CLI (docs/architecture.md §10.3): the CLASSES
// column of `nodes`, the ISOLATION line of `get`, and `zoneplane isolation
// NODE [--probe] [--class NAME]` from rendering to the requests it sends.

#include <gtest/gtest.h>

#include "cli/app.h"
#include "cli/args.h"
#include "cli/exit_codes.h"
#include "cli/render.h"
#include "cli/render_isolation.h"
#include "cli/requests.h"
#include "cli_run.h"
#include "test_http_server.h"
#include "test_inputs.h"
#include "test_workloads.h"

namespace zp::cli {
namespace {

using nlohmann::json;
using testing::at;
using testing::cli;
using testing::CliRun;
using testing::TestHttpServer;
using testing::workloadJson;

// GET /nodes/node-2/isolation as the server answers it.
const json kIsolation = json::parse(R"({"node":"node-2","classes":[
  {"runtime_class":"edera-zone","claim":"hypervisor","level":"shared-kernel","score":15,
   "quarantined":true,"verified_at":"2026-11-29T13:43:31Z","age_seconds":120,
   "probe_version":"0.1.0","findings":[
     {"id":"host-kernel-shared","severity":"info","evidence":"boot id 1f2e equal to the host's",
      "remedy":"none needed for a shared-kernel class"},
     {"id":"claim-not-met","severity":"high","evidence":"verified shared-kernel, claimed hypervisor",
      "remedy":"run edera-zone with the Edera runtime handler"}]},
  {"runtime_class":"gvisor","level":"unverified","score":0,"quarantined":false,"findings":[],
   "attempted_at":"2026-11-29T13:45:00Z","error":"pull of zoneplane/probe:0.1.0 failed",
   "future":1}]})");

TEST(RenderIsolation, EachClassThenItsFindingsMostSevereFirst) {
  auto text = renderNodeIsolation(kIsolation, std::nullopt);
  ASSERT_TRUE(text) << text.error().toString();
  EXPECT_EQ(*text,
            "CLASS:       edera-zone\n"
            "CLAIM:       hypervisor\n"
            "LEVEL:       shared-kernel\n"
            "SCORE:       15\n"
            "QUARANTINED: yes (verified below its claim)\n"
            "VERIFIED:    2m ago\n"
            "PROBE:       0.1.0\n"
            "LAST ERROR:  -\n"
            "FINDINGS:    2\n"
            "  [high] claim-not-met\n"
            "    evidence: verified shared-kernel, claimed hypervisor\n"
            "    remedy:   run edera-zone with the Edera runtime handler\n"
            "  [info] host-kernel-shared\n"
            "    evidence: boot id 1f2e equal to the host's\n"
            "    remedy:   none needed for a shared-kernel class\n"
            "\n"
            "CLASS:       gvisor\n"
            "CLAIM:       -\n"
            "LEVEL:       unverified\n"
            "SCORE:       0\n"
            "QUARANTINED: no\n"
            "VERIFIED:    - (never verified)\n"
            "PROBE:       -\n"
            "LAST ERROR:  pull of zoneplane/probe:0.1.0 failed (at 2026-11-29T13:45:00.000Z)\n"
            "FINDINGS:    none\n");
}

TEST(RenderIsolation, OneClassNothingAndMalformedReplies) {
  auto gvisor = renderNodeIsolation(kIsolation, std::string("gvisor"));
  ASSERT_TRUE(gvisor);
  EXPECT_TRUE(gvisor->starts_with("CLASS:       gvisor\n")) << *gvisor;
  EXPECT_EQ(gvisor->find("edera-zone"), std::string::npos);
  auto missing = renderNodeIsolation(kIsolation, std::string("kata"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Code::kNotFound);
  EXPECT_EQ(missing.error().message, "node \"node-2\" reports no runtime class \"kata\"");
  EXPECT_EQ(*renderNodeIsolation(json{{"node", "node-1"}, {"classes", json::array()}}, {}),
            "Node \"node-1\" reports no isolation yet (its agent has not probed its classes, or "
            "does not probe).\n");
  for (
      const char* bad :
      {R"([])", R"({"classes":[]})", R"({"node":"n"})", R"({"node":"n","classes":{}})",
       R"({"node":"n","classes":[{"runtime_class":"x","level":"strong"}]})",
       R"({"node":"n","classes":[{"runtime_class":"x","level":"unverified","age_seconds":"1"}]})"}) {
    auto result = renderNodeIsolation(json::parse(bad), {});
    ASSERT_FALSE(result) << bad;
    EXPECT_EQ(result.error().code, Code::kInternal) << bad;
  }
  // Text from the server cannot reach the terminal raw.
  json hostile = kIsolation;
  hostile["classes"][0]["findings"][0]["evidence"] = "a\x1b[2Jb\nc";
  auto text = renderNodeIsolation(hostile, std::nullopt);
  ASSERT_TRUE(text);
  EXPECT_NE(text->find("evidence: a?[2Jb c\n"), std::string::npos) << *text;
}

TEST(RenderIsolation, NodesShowLevelAndScorePerClass) {
  json reply = json::parse(R"({"items":[
    {"id":"node-2","state":"Ready","schedulable":true,
     "runtime_classes":["edera-zone","gvisor","native"],"workloads":0,
     "isolation":[
       {"runtime_class":"edera-zone","claim":"hypervisor","level":"shared-kernel","score":15,
        "quarantined":true,"findings":[]},
       {"runtime_class":"gvisor","level":"application-kernel","score":70,"quarantined":false,
        "findings":[],"age_seconds":3}]},
    {"id":"node-3","state":"Ready","schedulable":true,"runtime_classes":["kata"],"workloads":0,
     "isolation":[{"runtime_class":"kata","level":"unverified","score":0,"findings":[]}]},
    {"id":"old","state":"Ready","schedulable":true,"runtime_classes":["native"],
     "workloads":0}]})");
  auto text = renderNodes(reply, at("2026-11-29T13:45:31Z"));
  ASSERT_TRUE(text) << text.error().toString();
  EXPECT_NE(
      text->find("\nnode-2   Ready   yes           "
                 "edera-zone:shared-kernel/15!,gvisor:application-kernel/70,native:unverified   "),
      std::string::npos)
      << *text;
  EXPECT_NE(text->find("\nnode-3   Ready   yes           kata:unverified "), std::string::npos)
      << *text;
  // A server that reports no isolation: the names alone.
  EXPECT_NE(text->find("\nold      Ready   yes           native "), std::string::npos) << *text;
}

TEST(RenderIsolation, GetShowsTheIsolationLine) {
  json w = workloadJson("web-1", "Running", "Started");
  const auto line = [](const json& workload) {
    auto text = renderWorkload(workload, at("2026-11-29T13:45:31Z"));
    EXPECT_TRUE(text) << text.error().toString();
    const auto from = text->find("ISOLATION:");
    return text->substr(from, text->find('\n', from) - from);
  };
  EXPECT_EQ(line(w), "ISOLATION:      -");
  w["status"]["isolation"] = {{"level", "application-kernel"},
                              {"score", 70},
                              {"verified_at", "2026-11-29T13:40:31Z"},
                              {"quarantined", false}};
  EXPECT_EQ(line(w), "ISOLATION:      application-kernel, score 70, verified 5m ago");
  w["status"]["isolation"] = {{"level", "shared-kernel"}, {"score", 15}, {"quarantined", true}};
  EXPECT_EQ(line(w), "ISOLATION:      shared-kernel, score 15, QUARANTINED (below its claim)");
  w["status"]["isolation"] = {{"level", "unverified"}, {"score", 0}, {"quarantined", false}};
  EXPECT_EQ(line(w), "ISOLATION:      unverified");
  w["status"]["isolation"] = {{"level", "armoured"}};
  EXPECT_FALSE(renderWorkload(w, {}));
}

TEST(IsolationRequests, GetAndProbe) {
  EXPECT_EQ(nodeIsolationRequest("/p", "n1"),
            (HttpRequest{HttpMethod::kGet, "/p/nodes/n1/isolation", ""}));
  EXPECT_EQ(probeNodeRequest("", "n1"), (HttpRequest{HttpMethod::kPost, "/nodes/n1/probe", ""}));
  EXPECT_EQ(probeNodeRequest("", "n/1", "edera-zone").target,
            "/nodes/n%2F1/probe?runtime_class=edera-zone");
}

TEST(IsolationArgsTest, NodeProbeAndClass) {
  auto parsed = parseArgs({"isolation", "node-2"});
  ASSERT_TRUE(std::holds_alternative<Invocation>(parsed));
  auto args = std::get<IsolationArgs>(std::get<Invocation>(parsed).command);
  EXPECT_EQ(args.node, "node-2");
  EXPECT_FALSE(args.probe);
  EXPECT_FALSE(args.runtime_class);
  parsed = parseArgs({"isolation", "node-2", "--probe", "--class", "gvisor"});
  ASSERT_TRUE(std::holds_alternative<Invocation>(parsed));
  args = std::get<IsolationArgs>(std::get<Invocation>(parsed).command);
  EXPECT_TRUE(args.probe);
  EXPECT_EQ(args.runtime_class, "gvisor");
  for (const std::vector<std::string>& bad : {std::vector<std::string>{"isolation"},
                                              {"isolation", "Node_2"},
                                              {"isolation", "n", "--class", "Not A Class"},
                                              {"isolation", "n", "m"}}) {
    auto refused = parseArgs(bad);
    ASSERT_TRUE(std::holds_alternative<EarlyExit>(refused)) << bad.size();
    EXPECT_EQ(std::get<EarlyExit>(refused).code, kExitUsage);
  }
}

TEST(IsolationArgsTest, AProbeWaitsForTheServersLongestProbeDeadline) {
  // The server answers by its probe_request_timeout_seconds (at most 3600 s).
  auto probe = std::get<Invocation>(parseArgs({"isolation", "node-2", "--probe"}));
  EXPECT_GT(requestTimeout(probe), std::chrono::seconds(3600));
  auto show = std::get<Invocation>(parseArgs({"isolation", "node-2"}));
  EXPECT_EQ(requestTimeout(show), show.global.http_timeout);
}

TEST(IsolationCommand, ShowsProbesAndFails) {
  TestHttpServer server({{200, kIsolation.dump()},
                         {200, kIsolation.dump()},
                         {404, R"({"error":{"code":"NotFound","message":"no node \"x\""}})"}});
  CliRun shown = cli({"--server", server.url(), "isolation", "node-2"});
  EXPECT_EQ(shown.code, kExitOk) << shown.err;
  EXPECT_TRUE(shown.out.starts_with("CLASS:       edera-zone\n")) << shown.out;
  CliRun probed =
      cli({"--server", server.url(), "isolation", "node-2", "--probe", "--class", "edera-zone"});
  EXPECT_EQ(probed.code, kExitOk) << probed.err;
  EXPECT_EQ(probed.out.find("gvisor"), std::string::npos) << probed.out;
  CliRun missing = cli({"--server", server.url(), "isolation", "x"});
  EXPECT_EQ(missing.code, kExitRequestError);
  EXPECT_NE(missing.err.find("no node \"x\""), std::string::npos) << missing.err;
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].target, "/nodes/node-2/isolation");
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(requests[1].target, "/nodes/node-2/probe?runtime_class=edera-zone");
  EXPECT_EQ(requests[2].target, "/nodes/x/isolation");
}

}  // namespace
}  // namespace zp::cli
