#include "server/http/router.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <stdexcept>

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
  router.add(http::verb::get, "/workloads/{id}", auth::Permission::kPublic, answer("get"));
  router.add(http::verb::delete_, "/workloads/{id}", auth::Permission::kPublic, answer("delete"));
  auto res = dispatch(router, http::verb::put, "/workloads/x");
  EXPECT_EQ(res.status, 405u);
  ASSERT_EQ(res.headers.size(), 1u);
  EXPECT_EQ(res.headers[0], (std::pair<std::string, std::string>{"Allow", "GET, HEAD, DELETE"}));
}

TEST(RouterTest, HeadRunsTheGetHandler) {
  Router router;
  router.add(http::verb::get, "/workloads/{id}", auth::Permission::kPublic, answer("get"));
  router.add(http::verb::post, "/workloads", auth::Permission::kPublic, answer("post"));
  EXPECT_EQ(dispatch(router, http::verb::head, "/workloads/x").body, "get id=x");
  auto post_only = dispatch(router, http::verb::head, "/workloads");
  EXPECT_EQ(post_only.status, 405u);
  EXPECT_EQ(dispatch(router, http::verb::head, "/nothing").status, 404u);
}

TEST(RouterTest, HandlerExceptionsBecome500) {
  Router router;
  router.add(http::verb::get, "/boom", auth::Permission::kPublic, [](HttpRequest) -> asio::awaitable<HttpResponse> {
    throw std::runtime_error("boom");
    co_return HttpResponse{};
  });
  auto res = dispatch(router, http::verb::get, "/boom");
  EXPECT_EQ(res.status, 500u);
  EXPECT_EQ(res.content_type, "application/json");
  EXPECT_NE(res.body.find("\"Internal\""), std::string::npos) << res.body;
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
  EXPECT_EQ(httpStatusFor(Code::kCancelled), 500u);
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
