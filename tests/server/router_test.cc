#include "server/http/router.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <stdexcept>

#include "open_access.h"

namespace zp::server {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;

HttpResponse dispatch(const Router& router, http::verb method, std::string target) {
  asio::io_context io;
  auto future = asio::co_spawn(io, router.dispatch(method, target, ""), asio::use_future);
  io.run();
  return future.get();
}

Handler answer(std::string text) {
  return [text](HttpRequest request) -> asio::awaitable<HttpResponse> {
    std::string body = text;
    for (const auto& [name, value] : request.params) body += " " + name + "=" + value;
    co_return HttpResponse{200, body, "text/plain", {}, {}, {}};
  };
}

TEST(RouterTest, ParsesTargets) {
  HttpRequest request;
  ASSERT_TRUE(parseTarget("/workloads?state=Running&node=node%2D1&x=a+b&flag", request));
  EXPECT_EQ(request.path, "/workloads");
  EXPECT_EQ(request.query["state"], "Running");
  EXPECT_EQ(request.query["node"], "node-1");
  EXPECT_EQ(request.query["x"], "a b");
  EXPECT_EQ(request.query["flag"], "");
  EXPECT_FALSE(parseTarget("http://host/workloads", request));
  EXPECT_FALSE(parseTarget("/w?a=%4", request));
  // A parameter given twice is ambiguous: refused, whichever comes first.
  auto twice = parseTarget("/workloads?state=Bogus&state=Running", request);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().field, "state");
  EXPECT_FALSE(parseTarget("/workloads?state=Running&state=Running", request));
}

TEST(RouterTest, MatchesLiteralsAndParameters) {
  Router router;
  router.setAccessControl(&testing::openAccess());
  router.add(http::verb::get, "/workloads", auth::Permission::kPublic, answer("list"));
  router.add(http::verb::get, "/workloads/{id}", auth::Permission::kPublic, answer("get"));
  EXPECT_EQ(dispatch(router, http::verb::get, "/workloads").body, "list");
  EXPECT_EQ(dispatch(router, http::verb::get, "/workloads/web-1?x=1").body, "get id=web-1");
  // Segments are decoded after splitting: an encoded '/' stays in the parameter.
  EXPECT_EQ(dispatch(router, http::verb::get, "/workloads/a%2Fb").body, "get id=a/b");
  EXPECT_EQ(dispatch(router, http::verb::get, "/workloads/").status, 404u);
  EXPECT_EQ(dispatch(router, http::verb::get, "/other").status, 404u);
  EXPECT_EQ(dispatch(router, http::verb::get, "/workloads/%zz").status, 400u);
}

TEST(RouterTest, MethodMismatchIs405ListingAllowedMethods) {
  Router router;
  router.setAccessControl(&testing::openAccess());
  router.add(http::verb::get, "/workloads/{id}", auth::Permission::kPublic, answer("get"));
  router.add(http::verb::delete_, "/workloads/{id}", auth::Permission::kPublic, answer("delete"));
  auto res = dispatch(router, http::verb::put, "/workloads/x");
  EXPECT_EQ(res.status, 405u);
  ASSERT_EQ(res.headers.size(), 1u);
  EXPECT_EQ(res.headers[0], (std::pair<std::string, std::string>{"Allow", "GET, HEAD, DELETE"}));
}

TEST(RouterTest, HeadRunsTheGetHandler) {
  Router router;
  router.setAccessControl(&testing::openAccess());
  router.add(http::verb::get, "/workloads/{id}", auth::Permission::kPublic, answer("get"));
  router.add(http::verb::post, "/workloads", auth::Permission::kPublic, answer("post"));
  EXPECT_EQ(dispatch(router, http::verb::head, "/workloads/x").body, "get id=x");
  auto post_only = dispatch(router, http::verb::head, "/workloads");
  EXPECT_EQ(post_only.status, 405u);
  EXPECT_EQ(dispatch(router, http::verb::head, "/nothing").status, 404u);
}

TEST(RouterTest, HandlerExceptionsBecome500) {
  Router router;
  router.add(http::verb::get, "/boom", auth::Permission::kPublic,
             [](HttpRequest) -> asio::awaitable<HttpResponse> {
               throw std::runtime_error("boom");
               co_return HttpResponse{};
             });
  auto res = dispatch(router, http::verb::get, "/boom");
  EXPECT_EQ(res.status, 500u);
  EXPECT_EQ(res.content_type, "application/json");
  EXPECT_NE(res.body.find("\"Internal\""), std::string::npos) << res.body;
}

// Records what the Router asks and refuses what `refuse` names.
class RecordingAccess final : public AccessControl {
 public:
  asio::awaitable<std::optional<HttpResponse>> authorize(HttpRequest& request,
                                                         auth::Permission permission) override {
    asked.push_back(std::string(auth::permissionName(permission)));
    if (permission == refuse) {
      co_return errorResponse(http_status::kForbidden,
                              Error{Code::kPermissionDenied, "refused", ""});
    }
    request.principal.name = "someone";
    co_return std::nullopt;
  }
  void completed(const HttpRequest& request, std::string_view action,
                 const HttpResponse& response) override {
    done.push_back(request.principal.name + " " + std::string(action) + " " +
                   std::to_string(response.status) + (request.body.empty() ? "" : " +body"));
  }
  auth::Permission refuse = auth::Permission::kPublic;
  std::vector<std::string> asked;
  std::vector<std::string> done;
};

TEST(RouterTest, EveryRouteStatesItsPermissionAndTheAccessControlDecides) {
  Router router;
  RecordingAccess access;
  router.setAccessControl(&access);
  router.add(http::verb::get, "/healthz", auth::Permission::kPublic, answer("ok"));
  router.add(http::verb::get, "/workloads/{id}", auth::Permission::kRead, answer("get"));
  router.add(http::verb::post, "/nodes", auth::Permission::kManageCluster,
             [](HttpRequest request) -> asio::awaitable<HttpResponse> {
               co_return HttpResponse{201, request.principal.name, "text/plain", {}, {}, {}};
             });
  auto routes = router.routes();
  ASSERT_EQ(routes.size(), 3u);
  EXPECT_EQ(routes[1].pattern, "/workloads/{id}");
  EXPECT_EQ(routes[1].permission, auth::Permission::kRead);

  EXPECT_EQ(dispatch(router, http::verb::get, "/healthz").status, 200u);  // nothing asked
  EXPECT_EQ(dispatch(router, http::verb::get, "/workloads/w-1").body, "get id=w-1");
  EXPECT_EQ(dispatch(router, http::verb::post, "/nodes").body, "someone");  // the principal
  EXPECT_EQ(dispatch(router, http::verb::get, "/nope").status, 404u);
  EXPECT_EQ(dispatch(router, http::verb::delete_, "/nodes").status, 405u);
  access.refuse = auth::Permission::kManageCluster;
  EXPECT_EQ(dispatch(router, http::verb::post, "/nodes").status, 403u);
  access.refuse = auth::Permission::kAuthenticated;
  EXPECT_EQ(dispatch(router, http::verb::get, "/nope").status, 403u);
  EXPECT_EQ(access.asked,
            (std::vector<std::string>{"read", "manage-cluster", "authenticated", "authenticated",
                                      "manage-cluster", "authenticated"}));
  EXPECT_EQ(access.done,
            (std::vector<std::string>{"anonymous GET /healthz 200",
                                      "someone GET /workloads/{id} 200", "someone POST /nodes 201",
                                      "someone GET /nope 404", "someone DELETE /nodes 405",
                                      "anonymous POST /nodes 403", "anonymous GET /nope 403"}));
}

// admit() decides from the method, the target and the meta before any body
// exists; dispatch() then runs with that decision and does not ask again.
TEST(RouterTest, AdmitDecidesOnceBeforeTheBody) {
  Router router;
  RecordingAccess access;
  router.setAccessControl(&access);
  router.add(http::verb::post, "/nodes", auth::Permission::kManageCluster,
             [](HttpRequest request) -> asio::awaitable<HttpResponse> {
               co_return HttpResponse{
                   201, request.principal.name + " " + request.body, "text/plain", {}, {}, {}};
             });
  auto run = [&](http::verb method, std::string target) {
    asio::io_context io;
    auto task = [&]() -> asio::awaitable<HttpResponse> {
      auto admitting = router.admit(method, target, {});
      AccessDecision decision = co_await std::move(admitting);
      auto dispatching = router.dispatch(method, target, "the body", {}, std::move(decision));
      co_return co_await std::move(dispatching);
    };
    auto future = asio::co_spawn(io, task(), asio::use_future);
    io.run();
    return future.get();
  };
  EXPECT_EQ(run(http::verb::post, "/nodes").body, "someone the body");
  EXPECT_EQ(run(http::verb::get, "/nope").status, 404u);
  access.refuse = auth::Permission::kManageCluster;
  EXPECT_EQ(run(http::verb::post, "/nodes").status, 403u);
  EXPECT_EQ(access.asked,
            (std::vector<std::string>{"manage-cluster", "authenticated", "manage-cluster"}));
  // Each request is reported once: a refusal by admit(), the others by dispatch().
  EXPECT_EQ(access.done,
            (std::vector<std::string>{"someone POST /nodes 201", "someone GET /nope 404",
                                      "anonymous POST /nodes 403"}));
}

TEST(RouterTest, WithoutAccessControlOnlyPublicRoutesRun) {
  Router router;
  router.add(http::verb::get, "/healthz", auth::Permission::kPublic, answer("ok"));
  router.add(http::verb::get, "/workloads", auth::Permission::kRead, answer("list"));
  EXPECT_EQ(dispatch(router, http::verb::get, "/healthz").status, 200u);
  auto refused = dispatch(router, http::verb::get, "/workloads");
  EXPECT_EQ(refused.status, 401u);
  EXPECT_EQ(dispatch(router, http::verb::get, "/nope").status, 401u);
}

TEST(HttpMessageTest, ErrorStatusMapping) {
  EXPECT_EQ(httpStatusFor(Code::kInvalidArgument), 422u);
  EXPECT_EQ(httpStatusFor(Code::kNotFound), 404u);
  EXPECT_EQ(httpStatusFor(Code::kAlreadyExists), 409u);
  EXPECT_EQ(httpStatusFor(Code::kFailedPrecondition), 409u);
  EXPECT_EQ(httpStatusFor(Code::kResourceExhausted), 503u);
  EXPECT_EQ(httpStatusFor(Code::kUnavailable), 503u);
  EXPECT_EQ(httpStatusFor(Code::kDeadlineExceeded), 504u);
  EXPECT_EQ(httpStatusFor(Code::kInternal), 500u);
  EXPECT_EQ(httpStatusFor(Code::kCancelled), 503u);
  EXPECT_EQ(httpStatusFor(Code::kUnimplemented), 501u);
  auto res = errorResponse(Error{Code::kNotFound, "no \"x\"", "id"}, "Why");
  EXPECT_EQ(res.status, 404u);
  auto body = nlohmann::json::parse(res.body);
  EXPECT_EQ(
      body,
      nlohmann::json::parse(
          R"({"error":{"code":"NotFound","message":"no \"x\"","field":"id","reason":"Why"}})"));
}

}  // namespace
}  // namespace zp::server
