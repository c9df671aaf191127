#pragma once
// Maps (method, path) to a handler. Patterns are '/'-separated literal
// segments and "{name}" parameters ("/workloads/{id}"), matched against the
// percent-decoded path. HEAD matches the GET routes (HttpServer leaves the
// body out). A path that matches a pattern under another method gets 405
// with an Allow header; a path that matches nothing gets 404.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "server/http/http_message.h"

namespace zp::server {

using Handler = std::function<boost::asio::awaitable<HttpResponse>(HttpRequest)>;

// Splits a request target into a decoded path and query. kInvalidArgument on
// bad percent-encoding or a target that is not origin-form ("/...").
Status parseTarget(std::string_view target, HttpRequest& request);

// Owns the route table. Filled once at startup, then only read: dispatch()
// runs on the server's executor and may be called by many connections.
class Router {
 public:
  void add(boost::beast::http::verb method, std::string_view pattern, Handler handler);

  // Parses `target`, runs the matching handler and returns its response.
  // Never throws: a handler exception becomes a 500.
  boost::asio::awaitable<HttpResponse> dispatch(boost::beast::http::verb method,
                                                std::string_view target, std::string body,
                                                RequestMeta meta = {}) const;

 private:
  struct Route {
    boost::beast::http::verb method;
    std::vector<std::string> segments;  // "{name}" marks a parameter
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace zp::server
