#include "cli/requests.h"

#include <gtest/gtest.h>

#include "cli/url_encode.h"

namespace zp::cli {
namespace {

using nlohmann::json;

RunArgs runArgs(std::string image, std::string runtime_class) {
  RunArgs args;
  args.image = std::move(image);
  args.runtime_class = std::move(runtime_class);
  return args;
}

TEST(PercentEncode, KeepsUnreservedAndEncodesTheRest) {
  EXPECT_EQ(percentEncode("aZ09-._~"), "aZ09-._~");
  EXPECT_EQ(percentEncode("a b/c?d&e=f%"), "a%20b%2Fc%3Fd%26e%3Df%25");
  EXPECT_EQ(percentEncode("\xc3\xa9"), "%C3%A9");
}

TEST(BuildQuery, EncodesKeysAndValuesInOrder) {
  EXPECT_EQ(buildQuery({}), "");
  EXPECT_EQ(buildQuery({{"state", "Running"}, {"node", "n 1&x=y"}}),
            "?state=Running&node=n%201%26x%3Dy");
}

TEST(BuildRunBody, MinimalRunSendsOnlyImageAndClass) {
  auto body = buildRunBody(runArgs("busybox:1.36", "native"));
  ASSERT_TRUE(body.has_value()) << body.error().toString();
  EXPECT_EQ(*body, (json{{"image", "busybox:1.36"}, {"runtime_class", "native"}}));
}

TEST(BuildRunBody, UserIsUidOrUidColonGid) {
  RunArgs args = runArgs("i", "native");
  args.user = "0";
  auto root = buildRunBody(args);  // the server decides whether 0 is allowed
  ASSERT_TRUE(root.has_value());
  EXPECT_EQ((*root)["security"], json::parse(R"({"run_as_user":0})"));
  for (const char* bad : {"", ":", "abc", "1000:", ":100", "-1", "1000:-1", "1:2:3", "2147483648",
                          "1000:2147483648", " 1000", "1e3"}) {
    args.user = bad;
    auto body = buildRunBody(args);
    ASSERT_FALSE(body.has_value()) << bad;
    EXPECT_EQ(body.error().field, "user") << bad;
  }
  auto ids = parseUserIds("2147483647:7");
  ASSERT_TRUE(ids);
  EXPECT_EQ(ids->uid, 2147483647);
  EXPECT_EQ(ids->gid, 7);
}

TEST(BuildRunBody, MapsEveryFlag) {
  RunArgs args = runArgs("busybox:1.36", "edera-zone");
  args.id = "job-1";
  args.memory_mb = 256;
  args.cpu_millicores = 500;
  args.env = {"A=1", "B=x=y", "EMPTY="};
  args.command = {"sh", "-c", "exit 3"};
  auto body = buildRunBody(args);
  ASSERT_TRUE(body.has_value()) << body.error().toString();
  EXPECT_EQ(*body, json::parse(R"({"image":"busybox:1.36","runtime_class":"edera-zone",
      "id":"job-1","memory_mb":256,"cpu_millicores":500,"command":["sh","-c","exit 3"],
      "env":{"A":"1","B":"x=y","EMPTY":""}})"));
}

TEST(BuildRunBody, RejectsMalformedOrDuplicateEnv) {
  for (const char* bad : {"NOVALUE", "=value", ""}) {
    RunArgs args = runArgs("i", "c");
    args.env = {bad};
    auto body = buildRunBody(args);
    ASSERT_FALSE(body.has_value()) << bad;
    EXPECT_EQ(body.error().field, "env");
  }
  RunArgs args = runArgs("i", "c");
  args.env = {"A=1", "A=2"};
  auto body = buildRunBody(args);
  ASSERT_FALSE(body.has_value());
  EXPECT_NE(body.error().message.find("more than once"), std::string::npos);
}

TEST(BuildRunBody, RejectsInvalidUtf8) {
  RunArgs args = runArgs("i", "c");
  args.command = {"\xff"};
  auto body = buildRunBody(args);
  ASSERT_FALSE(body.has_value());
  EXPECT_EQ(body.error().code, Code::kInvalidArgument);
}

TEST(Requests, TargetsMethodsAndBodies) {
  EXPECT_EQ(createWorkloadRequest("", json{{"image", "x"}}),
            (HttpRequest{HttpMethod::kPost, "/workloads", R"({"image":"x"})"}));
  EXPECT_EQ(getWorkloadRequest("/api", "wl-1"),
            (HttpRequest{HttpMethod::kGet, "/api/workloads/wl-1", ""}));
  EXPECT_EQ(deleteWorkloadRequest("", "wl-1"),
            (HttpRequest{HttpMethod::kDelete, "/workloads/wl-1", ""}));
  EXPECT_EQ(deleteWorkloadRequest("", "wl-1", 0),
            (HttpRequest{HttpMethod::kDelete, "/workloads/wl-1?grace_seconds=0", ""}));
  EXPECT_EQ(listNodesRequest("/p"), (HttpRequest{HttpMethod::kGet, "/p/nodes", ""}));
  EXPECT_EQ(listTrustLevelsRequest("/p"), (HttpRequest{HttpMethod::kGet, "/p/trust-levels", ""}));
  // Whatever the id, it stays one path segment.
  EXPECT_EQ(getWorkloadRequest("", "a/b?c").target, "/workloads/a%2Fb%3Fc");
}

TEST(Requests, ListFiltersBecomeAnEncodedQuery) {
  EXPECT_EQ(listWorkloadsRequest("", {}).target, "/workloads");
  ListFilters filters;
  filters.state = "Failed";
  filters.node = "node 1";
  filters.runtime_class = "edera-zone";
  EXPECT_EQ(listWorkloadsRequest("", filters).target,
            "/workloads?state=Failed&node=node%201&runtime_class=edera-zone");
  ListFilters by_class;
  by_class.runtime_class = "a&b";
  EXPECT_EQ(listWorkloadsRequest("", by_class).target, "/workloads?runtime_class=a%26b");
}

TEST(Requests, WatchLogsAndNodes) {
  ListFilters filters;
  filters.state = "Running";
  filters.node = "n 1";
  EXPECT_EQ(
      watchWorkloadsRequest("/p", filters),
      (HttpRequest{HttpMethod::kGet, "/p/workloads?watch=true&state=Running&node=n%201", ""}));
  EXPECT_EQ(watchWorkloadsRequest("", {}, "wl-1").target, "/workloads?watch=true&id=wl-1");

  LogsArgs logs;
  logs.id = "wl-1";
  EXPECT_EQ(logsRequest("", logs), (HttpRequest{HttpMethod::kGet, "/workloads/wl-1/logs", ""}));
  logs.follow = true;
  logs.tail = 0;
  logs.timestamps = true;
  logs.stream = "stderr";
  EXPECT_EQ(logsRequest("/p", logs).target,
            "/p/workloads/wl-1/logs?tail=0&follow=true&timestamps=true&stream=stderr");

  EXPECT_EQ(addNodeRequest("", "n1", "10.0.0.1:7701"),
            (HttpRequest{HttpMethod::kPost, "/nodes", R"({"address":"10.0.0.1:7701","id":"n1"})"}));
  EXPECT_EQ(removeNodeRequest("", "n/1", false),
            (HttpRequest{HttpMethod::kDelete, "/nodes/n%2F1", ""}));
  EXPECT_EQ(removeNodeRequest("", "n1", true).target, "/nodes/n1?force=true");
  EXPECT_EQ(nodeActionRequest("/p", "n1", "drain"),
            (HttpRequest{HttpMethod::kPost, "/p/nodes/n1/drain", ""}));
}

}  // namespace
}  // namespace zp::cli
