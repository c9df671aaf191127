#include <gtest/gtest.h>

#include "cli/api_client.h"
#include "cli/beast_http_client.h"
#include "test_http_server.h"
#include "test_workloads.h"

namespace zp::cli {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::CannedResponse;
using testing::TestHttpServer;

ServerUrl urlOf(const TestHttpServer& server, std::string prefix = "") {
  return ServerUrl{"127.0.0.1", server.port(), std::move(prefix)};
}

TEST(BeastHttpClient, SendsTheRequestAndReturnsTheResponse) {
  TestHttpServer server({{201, R"({"ok":true})"}});
  BeastHttpClient client(urlOf(server), 5s);
  auto res = client.send({HttpMethod::kPost, "/workloads", R"({"image":"x"})"});
  ASSERT_TRUE(res.has_value()) << res.error().toString();
  EXPECT_EQ(res->status, 201);
  EXPECT_EQ(res->reason, "Created");
  EXPECT_EQ(res->body, R"({"ok":true})");
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/workloads");
  EXPECT_EQ(requests[0].body, R"({"image":"x"})");
  EXPECT_EQ(requests[0].content_type, "application/json");
  EXPECT_EQ(requests[0].host, "127.0.0.1:" + std::to_string(server.port()));
}

TEST(BeastHttpClient, ErrorStatusesAreResponsesNotErrors) {
  TestHttpServer server({{404, testing::errorBody("NotFound", "no workload \"x\"")}});
  BeastHttpClient client(urlOf(server), 5s);
  auto res = client.send({HttpMethod::kDelete, "/workloads/x", ""});
  ASSERT_TRUE(res.has_value()) << res.error().toString();
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(server.requests().at(0).method, "DELETE");
}

TEST(BeastHttpClient, ConnectionRefusedSaysTheServerCannotBeReached) {
  std::uint16_t port = testing::unusedPort();
  BeastHttpClient client(ServerUrl{"127.0.0.1", port, ""}, 5s);
  auto res = client.send({HttpMethod::kGet, "/nodes", ""});
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code, Code::kUnavailable);
  EXPECT_EQ(res.error().message, "cannot reach zoneplane server at http://127.0.0.1:" +
                                     std::to_string(port) + ": Connection refused");
}

TEST(BeastHttpClient, TimesOutOnASilentServer) {
  TestHttpServer server({{200, "{}", 10s}});
  BeastHttpClient client(urlOf(server), 200ms);
  auto start = std::chrono::steady_clock::now();
  auto res = client.send({HttpMethod::kGet, "/nodes", ""});
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code, Code::kDeadlineExceeded);
  EXPECT_NE(res.error().message.find("timed out after 200ms"), std::string::npos)
      << res.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(BeastHttpClient, UnresolvableHostIsUnavailable) {
  BeastHttpClient client(ServerUrl{"no-such-host.invalid", 7700, ""}, 5s);
  auto res = client.send({HttpMethod::kGet, "/nodes", ""});
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code, Code::kUnavailable);
  EXPECT_TRUE(res.error().message.starts_with(
      "cannot reach zoneplane server at http://no-such-host.invalid:7700: cannot resolve host"))
      << res.error().message;
}

TEST(ApiClient, PrefixesPathsAndDecodesReplies) {
  TestHttpServer server({{200, R"({"items":[]})"}});
  BeastHttpClient http(urlOf(server, "/api"), 5s);
  ApiClient api(http, "/api");
  ListFilters filters;
  filters.state = "Running";
  auto reply = api.listWorkloads(filters);
  ASSERT_TRUE(reply.has_value()) << reply.error().toString();
  EXPECT_EQ(*reply, json::parse(R"({"items":[]})"));
  EXPECT_EQ(server.requests().at(0).target, "/api/workloads?state=Running");
}

TEST(ApiClient, ServerErrorsAndNonJsonBodiesAreErrors) {
  TestHttpServer server({{409, testing::errorBody("AlreadyExists", "workload \"a\" exists", "id")},
                         {200, "not json"}});
  BeastHttpClient http(urlOf(server), 5s);
  ApiClient api(http, "");
  auto conflict = api.createWorkload(json{{"id", "a"}});
  ASSERT_FALSE(conflict.has_value());
  EXPECT_EQ(conflict.error().code, Code::kAlreadyExists);
  EXPECT_EQ(conflict.error().field, "id");
  auto garbage = api.listNodes();
  ASSERT_FALSE(garbage.has_value());
  EXPECT_EQ(garbage.error().code, Code::kInternal);
}

}  // namespace
}  // namespace zp::cli
