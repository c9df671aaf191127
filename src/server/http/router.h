#pragma once
// Maps (method, path) to a handler. Patterns are '/'-separated literal
// segments and "{name}" parameters ("/workloads/{id}"), matched against the
// percent-decoded path. HEAD matches the GET routes (HttpServer leaves the
// body out). A path that matches a pattern under another method gets 405
// with an Allow header; a path that matches nothing gets 404.
//
// Access (docs/architecture.md §9.3): every route states the permission it
// requires when it is added. Before a handler runs, the AccessControl
// decides (it sets the request's principal, or answers 401/403/429 itself);
// the 400/404/405 the Router answers itself need any valid token
// (Permission::kAuthenticated). The decision needs the method, the target
// and the RequestMeta only, so HttpServer asks for it (admit()) as soon as a
// request's header is read, before it answers "100 Continue" or reads the
// body, and hands it to dispatch(). After every request the AccessControl
// sees the answer (the audit log). Without an AccessControl only kPublic
// routes run: every other request is 401.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "server/auth/roles.h"
#include "server/http/http_message.h"

namespace zp::server {

using Handler = std::function<boost::asio::awaitable<HttpResponse>(HttpRequest)>;

// Splits a request target into a decoded path and query. kInvalidArgument on
// bad percent-encoding or a target that is not origin-form ("/...").
Status parseTarget(std::string_view target, HttpRequest& request);

// The Router's authorization step and audit hook. Runs on the server's
// executor.
class AccessControl {
 public:
  virtual ~AccessControl() = default;
  // Before the handler of a route that requires `permission` (never
  // kPublic): sets request.principal and returns nullopt to go on, or
  // returns the answer to send instead (401, 403 or 429).
  virtual boost::asio::awaitable<std::optional<HttpResponse>> authorize(
      HttpRequest& request, auth::Permission permission) = 0;
  // Once the answer to any request is known (before it is sent). `action` is
  // "METHOD /pattern" of the route ("METHOD /path" when none matched); the
  // request's body is gone by then. Must not block.
  virtual void completed(const HttpRequest& request, std::string_view action,
                         const HttpResponse& response) = 0;
};

// Sees every request the Router answers (refusals included), for the
// metrics (docs/architecture.md §7): its method, the pattern of the route
// it matched ("" when none did: the raw path is never passed on), the
// status, and the time from admit() to the answer being ready (reading the
// body and writing the answer not included). Runs on the server's executor;
// must not block.
class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  virtual void observe(boost::beast::http::verb method, std::string_view route, unsigned status,
                       std::chrono::steady_clock::duration elapsed) = 0;
};

// The access decision for one request (Router::admit), made before its body
// is read. Only the Router makes one; it is good for the request it was
// made for, once (a join token is spent by the decision).
class AccessDecision {
 public:
  // The request may not proceed: answer refusal() (401, 403 or 429, already
  // handed to AccessControl::completed) and close the connection.
  bool refused() const { return refusal_.has_value(); }
  const HttpResponse& refusal() const { return *refusal_; }
  // Who the request is from (anonymous on public routes and when refused).
  const auth::Principal& principal() const { return principal_; }

 private:
  friend class Router;
  AccessDecision() = default;
  std::optional<HttpResponse> refusal_;
  auth::Principal principal_;
  std::chrono::steady_clock::time_point started_;  // when admit() began
};

// One entry of the route table, as routes() lists it.
struct RouteInfo {
  boost::beast::http::verb method;
  std::string pattern;
  auth::Permission permission;
};

// Owns the route table. Filled once at startup, then only read: dispatch()
// runs on the server's executor and may be called by many connections.
class Router {
 public:
  void add(boost::beast::http::verb method, std::string_view pattern, auth::Permission permission,
           Handler handler);
  // Borrowed; must outlive every dispatch(). Set before the first request.
  void setAccessControl(AccessControl* access) { access_ = access; }
  // Borrowed, may be null; must outlive every dispatch(). Set before the first request.
  void setObserver(RequestObserver* observer) { observer_ = observer; }

  // The route table in the order routes were added.
  std::vector<RouteInfo> routes() const;

  // Decides whether a request may proceed, from what its header says: the
  // route `target` matches under `method` (or none: kAuthenticated) and the
  // AccessControl's decision on `meta`. A refusal is reported to
  // AccessControl::completed here.
  boost::asio::awaitable<AccessDecision> admit(boost::beast::http::verb method,
                                               std::string_view target, RequestMeta meta) const;

  // Parses `target`, runs the matching handler and returns its response;
  // `decision` is admit()'s decision for the same method, target and meta
  // (a refused one is answered with its refusal, nothing runs).
  // Never throws: a handler exception becomes a 500.
  boost::asio::awaitable<HttpResponse> dispatch(boost::beast::http::verb method,
                                                std::string_view target, std::string body,
                                                RequestMeta meta, AccessDecision decision) const;
  // admit() then dispatch(), for callers that have the whole request at once.
  boost::asio::awaitable<HttpResponse> dispatch(boost::beast::http::verb method,
                                                std::string_view target, std::string body,
                                                RequestMeta meta = {}) const;

 private:
  struct Route {
    boost::beast::http::verb method;
    std::string pattern;
    std::vector<std::string> segments;  // "{name}" marks a parameter
    auth::Permission permission;
    Handler handler;
  };
  // What a target names under a method: the route (and the request's path,
  // query and params set), or the Router's own answer (400, 404, 405), and
  // the action for the audit ("METHOD /pattern", else "METHOD /path").
  struct Resolution {
    const Route* route = nullptr;
    std::optional<HttpResponse> own;
    std::string action;
    auth::Permission permission() const {
      return route != nullptr ? route->permission : auth::Permission::kAuthenticated;
    }
  };
  Resolution resolve(HttpRequest& request, std::string_view target) const;
  // Runs the handler of `route` on `request` (its principal set).
  boost::asio::awaitable<HttpResponse> run(const Route& route, HttpRequest& request,
                                           const std::string& action) const;
  // The access step: nullopt to go on, or the refusal.
  boost::asio::awaitable<std::optional<HttpResponse>> authorize(HttpRequest& request,
                                                                auth::Permission permission) const;

  // Tells the observer (if any) about an answered request.
  void observed(const HttpRequest& request, const Resolution& resolution, unsigned status,
                std::chrono::steady_clock::time_point started) const;

  std::vector<Route> routes_;
  AccessControl* access_ = nullptr;
  RequestObserver* observer_ = nullptr;
};

}  // namespace zp::server
