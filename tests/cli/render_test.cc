#include "cli/render.h"

#include <gtest/gtest.h>

#include "cli/table.h"
#include "test_inputs.h"
#include "test_workloads.h"

namespace zp::cli {
namespace {

using nlohmann::json;
using testing::at;
using testing::workloadJson;

TEST(RenderTable, AlignsColumnsWithoutTrailingSpaces) {
  EXPECT_EQ(renderTable({"ID", "STATE", "X"}, {{"wl-long-name", "Running", ""}, {"a", "Failed"}}),
            "ID             STATE     X\n"
            "wl-long-name   Running\n"
            "a              Failed\n");
}

TEST(RenderTable, CountsUtf8CodePointsAndSanitisesCells) {
  EXPECT_EQ(renderTable({"N", "V"}, {{"\xc3\xa9t\xc3\xa9", "x"}, {"a\nb\x1b[2J", "y"}}),
            "N         V\n"
            "\xc3\xa9t\xc3\xa9       x\n"
            "a b?[2J   y\n");
  EXPECT_EQ(sanitize("ok\tx\x7f\xc2\x9b!"),
            "ok x?"
            "?!");
  EXPECT_EQ(displayWidth("\xc3\xa9t\xc3\xa9"), 3u);
}

TEST(RenderKeyValues, AlignsValues) {
  EXPECT_EQ(renderKeyValues({{"ID", "a"}, {"EXIT CODE", "3"}, {"NODE", ""}}),
            "ID:        a\n"
            "EXIT CODE: 3\n"
            "NODE:\n");
}

TEST(FormatAge, PicksAUnit) {
  using namespace std::chrono;
  EXPECT_EQ(formatAge(seconds(-5)), "0s");
  EXPECT_EQ(formatAge(seconds(42)), "42s");
  EXPECT_EQ(formatAge(seconds(119)), "119s");
  EXPECT_EQ(formatAge(minutes(17)), "17m");
  EXPECT_EQ(formatAge(hours(30)), "30h");
  EXPECT_EQ(formatAge(hours(24 * 12 + 5)), "12d");
}

TEST(RenderWorkload, ShowsAKeyValueBlock) {
  json w = workloadJson("job-3", "Failed", "Error", "exited with code 3", 3);
  w["status"]["started_at"] = "2026-11-29T13:40:32Z";
  w["status"]["finished_at"] = "2026-11-29T13:40:33.5Z";
  w["status"]["sandbox_id"] = "abc";        // shown nowhere, tolerated
  w["status"]["some_future_field"] = true;  // unknown fields are tolerated
  w["spec"]["restart_policy"] = "OnFailure";
  w["status"]["restart_count"] = 2;
  w["spec"]["trust"] = "internal";
  w["status"]["profile"] = "restricted";
  w["status"]["run_as_user"] = 65534;
  w["status"]["run_as_group"] = 65534;
  auto text = renderWorkload(w, at("2026-11-29T13:45:31.123Z"));
  ASSERT_TRUE(text.has_value()) << text.error().toString();
  EXPECT_EQ(*text,
            "ID:             job-3\n"
            "STATE:          Failed\n"
            "REASON:         Error\n"
            "MESSAGE:        exited with code 3\n"
            "EXIT CODE:      3\n"
            "RESTARTS:       2\n"
            "NODE:           node-1\n"
            "IMAGE:          busybox:1.36\n"
            "CLASS:          native\n"
            "ISOLATION:      -\n"
            "TRUST:          internal\n"
            "PROFILE:        restricted\n"
            "USER:           65534:65534\n"
            "MEMORY:         128Mi\n"
            "CPU:            250m\n"
            "RESTART POLICY: OnFailure\n"
            "CREATED:        2026-11-29T13:40:31.123Z (5m ago)\n"
            "STARTED:        2026-11-29T13:40:32.000Z (4m ago)\n"
            "FINISHED:       2026-11-29T13:40:33.500Z (4m ago)\n");
}

TEST(RenderWorkload, UnsetValuesShowADash) {
  json w = workloadJson("wl-1", "Pending");
  w["status"].erase("created_at");
  w["status"]["node"] = "";
  auto text = renderWorkload(w, at("2026-11-29T13:40:31Z"));
  ASSERT_TRUE(text.has_value()) << text.error().toString();
  for (const char* line :
       {"REASON:         -\n", "EXIT CODE:      -\n", "RESTARTS:       0\n", "NODE:           -\n",
        "RESTART POLICY: Never\n", "CREATED:        -\n", "FINISHED:       -\n"}) {
    EXPECT_NE(text->find(line), std::string::npos) << line << "in\n" << *text;
  }
}

// Before the node reports the effective posture, the spec's request is shown.
TEST(RenderWorkload, ProfileAndUserFallBackToTheSpec) {
  json w = workloadJson("wl-1", "Pending");
  auto text = renderWorkload(w, at("2026-11-29T13:40:31Z"));
  ASSERT_TRUE(text.has_value()) << text.error().toString();
  for (const char* line :
       {"TRUST:          -\n", "PROFILE:        restricted\n", "USER:           -\n"}) {
    EXPECT_NE(text->find(line), std::string::npos) << line << "in\n" << *text;
  }
  w["spec"]["security"] = {{"profile", "baseline"}, {"run_as_user", 1000}};
  text = renderWorkload(w, at("2026-11-29T13:40:31Z"));
  ASSERT_TRUE(text.has_value());
  EXPECT_NE(text->find("PROFILE:        baseline\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("USER:           1000\n"), std::string::npos) << *text;
}

TEST(RenderTrustLevels, ShowsOneRowPerLevel) {
  auto reply = json::parse(R"({"default_trust":"internal","items":[
    {"name":"untrusted","default":false,"runtime_classes":["edera-zone","gvisor","kata"],
     "min_profile":"restricted","min_isolation":"application-kernel","available":[]},
    {"name":"internal","default":true,"runtime_classes":["edera-zone","*"],
     "min_profile":"baseline","available":["native"],"future":1}]})");
  auto text = renderTrustLevels(reply);
  ASSERT_TRUE(text.has_value()) << text.error().toString();
  // A server without min_isolation: "-".
  EXPECT_EQ(*text,
            "TRUST       DEFAULT   MIN PROFILE   MIN ISOLATION        CLASSES                  "
            "AVAILABLE\n"
            "untrusted             restricted    application-kernel   edera-zone,gvisor,kata   -\n"
            "internal    yes       baseline      -                    edera-zone,*             "
            "native\n");
  EXPECT_FALSE(renderTrustLevels(json::array()));
  EXPECT_FALSE(renderTrustLevels(json::parse(R"({"items":[{"name":"x"}]})")));
}

TEST(RenderWorkload, MalformedRepliesAreErrors) {
  for (const json& bad :
       {json::array(), json{{"spec", json::object()}},
        json{{"status", workloadJson("a", "Running")["status"]}},
        json{{"spec", {{"image", 5}}}, {"status", {{"id", "a"}, {"state", "Running"}}}},
        json{{"spec", json::object()}, {"status", {{"id", "a"}, {"state", "Zombie"}}}}}) {
    auto text = renderWorkload(bad, at("2026-11-29T13:40:31Z"));
    ASSERT_FALSE(text.has_value()) << bad.dump();
    EXPECT_NE(text.error().message.find("unexpected reply"), std::string::npos);
  }
}

TEST(RenderWorkloadList, ShowsColumnsAndAges) {
  json reply{{"items",
              {workloadJson("job-3", "Failed", "Error", "", 3),
               workloadJson("web", "Running", "Started")}}};
  reply["items"][1]["spec"]["image"] = "ghcr.io/example/secure-app:1.0";
  reply["items"][1]["spec"]["runtime_class"] = "edera-zone";
  reply["items"][1]["status"]["created_at"] = "2026-11-29T10:40:31Z";
  reply["items"][1]["status"]["restart_count"] = 4;
  auto text = renderWorkloadList(reply, at("2026-11-29T13:45:31Z"));
  ASSERT_TRUE(text.has_value()) << text.error().toString();
  EXPECT_EQ(*text,
            "ID      STATE     REASON    RESTARTS   EXIT   NODE     CLASS        "
            "IMAGE                            AGE\n"
            "job-3   Failed    Error     0          3      node-1   native       "
            "busybox:1.36                     4m\n"
            "web     Running   Started   4          -      node-1   edera-zone   "
            "ghcr.io/example/secure-app:1.0   3h\n");
}

TEST(RenderWorkloadList, EmptyAndMalformed) {
  EXPECT_EQ(*renderWorkloadList(json{{"items", json::array()}}, {}), "No workloads found.\n");
  EXPECT_FALSE(renderWorkloadList(json::object(), {}).has_value());
  EXPECT_FALSE(renderWorkloadList(json{{"items", {1}}}, {}).has_value());
}

TEST(RenderNodes, ShowsStateAllocationAndHeartbeatAge) {
  json reply = json::parse(R"({"items":[
    {"id":"node-1","address":"10.0.0.1:9000","state":"Ready","reason":"","schedulable":true,
     "last_heartbeat":"2026-11-29T13:45:29Z",
     "capacity":{"memory_mb":4096,"cpu_millicores":4000},
     "allocated":{"memory_mb":128,"cpu_millicores":250},
     "allocatable":{"memory_mb":3968,"cpu_millicores":3750},
     "runtime_classes":["edera-zone","native"],"workloads":1,"version":"0.1.0","future":1},
    {"id":"node-2","address":"10.0.0.2:9000","state":"NotReady","reason":"ConnectionRefused",
     "schedulable":false,"last_heartbeat":null,
     "capacity":{"memory_mb":0,"cpu_millicores":0},"allocated":{"memory_mb":0,"cpu_millicores":0},
     "allocatable":{"memory_mb":0,"cpu_millicores":0},
     "runtime_classes":[],"workloads":0,"version":""}]})");
  auto text = renderNodes(reply, at("2026-11-29T13:45:31Z"));
  ASSERT_TRUE(text.has_value()) << text.error().toString();
  EXPECT_EQ(*text,
            "NODE     STATE                          SCHEDULABLE     CLASSES             "
            "MEMORY(alloc/cap)   CPU(alloc/cap)   WORKLOADS   HEARTBEAT\n"
            "node-1   Ready                          yes             edera-zone,native   "
            "128Mi/4096Mi        250m/4000m       1           2s\n"
            "node-2   NotReady (ConnectionRefused)   no (cordoned)   -                   "
            "0Mi/0Mi             0m/0m            0           -\n");
  EXPECT_EQ(*renderNodes(json{{"items", json::array()}}, {}), "No nodes found.\n");
}

TEST(RenderNodes, OneNodeAndMalformedViews) {
  auto text = renderNode(json::parse(R"({"id":"n","state":"Ready","schedulable":false})"), {});
  ASSERT_TRUE(text.has_value()) << text.error().toString();
  EXPECT_NE(text->find("\nn      Ready   no (cordoned)   -         0Mi/0Mi"), std::string::npos)
      << *text;
  for (const char* bad :
       {R"({"state":"Ready"})", R"({"id":"n","schedulable":"yes"})",
        R"({"id":"n","capacity":{"memory_mb":"1"}})", R"({"id":"n","last_heartbeat":"yesterday"})",
        R"({"id":"n","runtime_classes":[1]})"}) {
    auto result = renderNode(json::parse(bad), {});
    ASSERT_FALSE(result.has_value()) << bad;
    EXPECT_NE(result.error().message.find("unexpected reply"), std::string::npos);
  }
}

TEST(RenderWatch, FixedColumnsPerEvent) {
  auto event = decodeWatchEvent(
      json{{"type", "MODIFIED"}, {"workload", workloadJson("web-1", "Running", "Started")}}.dump());
  ASSERT_TRUE(event.has_value()) << event.error().toString();
  EXPECT_EQ(renderWatchHeader(),
            "EVENT      ID                     STATE       REASON               RESTARTS   EXIT   "
            "NODE           AGE\n");
  EXPECT_EQ(renderWatchRow(*event, at("2026-11-29T13:40:41.123Z")),
            "MODIFIED   web-1                  Running     Started              0          -      "
            "node-1         10s\n");
}

TEST(DecodeWatchEvent, EventsErrorsAndGarbage) {
  auto deleted =
      decodeWatchEvent(json{{"type", "DELETED"}, {"workload", workloadJson("a", "Failed")}}.dump());
  ASSERT_TRUE(deleted.has_value());
  EXPECT_EQ(deleted->type, "DELETED");
  EXPECT_EQ(deleted->view.status.id, "a");
  EXPECT_EQ(deleted->workload, workloadJson("a", "Failed"));

  auto error = decodeWatchEvent(
      R"({"type":"ERROR","error":{"code":"ResourceExhausted","message":"watch fell behind; list again"}})");
  ASSERT_FALSE(error.has_value());
  EXPECT_EQ(error.error().code, Code::kResourceExhausted);
  EXPECT_EQ(error.error().message, "the server ended the watch: watch fell behind; list again");

  for (const char* bad :
       {"not json", "[]", R"({"type":"BOOKMARK","workload":{}})", R"({"workload":{}})",
        R"({"type":"ADDED"})", R"({"type":"ADDED","workload":{"spec":{}}})"}) {
    auto result = decodeWatchEvent(bad);
    ASSERT_FALSE(result.has_value()) << bad;
    EXPECT_EQ(result.error().code, Code::kInternal) << bad;
  }
}

TEST(RenderCreatedAndDeleted, ShowIdAndState) {
  EXPECT_EQ(*renderCreated(workloadJson("wl-1", "Pending")),
            "ID     STATE\n"
            "wl-1   Pending\n");
  EXPECT_EQ(*renderDeleted(workloadJson("wl-1", "Running")),
            "workload \"wl-1\" deleted (state: Running)\n");
}

TEST(RenderJson, PrettyPrintsTheReply) {
  EXPECT_EQ(renderJson(json{{"a", 1}}), "{\n  \"a\": 1\n}\n");
}

}  // namespace
}  // namespace zp::cli
