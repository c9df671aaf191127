#include "server/http/router.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/beast/http/verb.hpp>

namespace zp::server {

namespace http = boost::beast::http;

namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> percentDecode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      if (i + 2 >= in.size()) {
        return fail(Code::kInvalidArgument, "truncated percent-encoding in request target");
      }
      const int hi = hexValue(in[i + 1]);
      const int lo = hexValue(in[i + 2]);
      if (hi < 0 || lo < 0) {
        return fail(Code::kInvalidArgument, "bad percent-encoding in request target");
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (plus_is_space && in[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

std::vector<std::string_view> splitPath(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t start = 1;  // skip the leading '/'
  while (true) {
    const auto slash = path.find('/', start);
    out.push_back(path.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

bool isParam(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

Status parseTarget(std::string_view target, HttpRequest& request) {
  if (target.empty() || target.front() != '/') {
    return fail(Code::kInvalidArgument, "request target must start with '/'");
  }
  const auto question = target.find('?');
  // Kept as sent: the router splits it at '/' before decoding each segment, so
  // an encoded '/' stays inside its segment.
  request.path = std::string(target.substr(0, question));
  request.query.clear();
  if (question == std::string_view::npos) return ok();
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto key = percentDecode(pair.substr(0, eq), true);
    if (!key) return fail(key.error());
    auto value = percentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (!value) return fail(value.error());
    if (!request.query.emplace(*key, std::move(*value)).second) {
      return fail(Code::kInvalidArgument,
                  "query parameter \"" + key->substr(0, 80) + "\" is given more than once",
                  key->substr(0, 80));
    }
  }
  return ok();
}

void Router::add(http::verb method, std::string_view pattern, auth::Permission permission,
                 Handler handler) {
  Route route{method, std::string(pattern), {}, permission, std::move(handler)};
  for (auto segment : splitPath(pattern)) route.segments.emplace_back(segment);
  routes_.push_back(std::move(route));
}

std::vector<RouteInfo> Router::routes() const {
  std::vector<RouteInfo> out;
  out.reserve(routes_.size());
  for (const auto& route : routes_) out.push_back({route.method, route.pattern, route.permission});
  return out;
}

boost::asio::awaitable<AccessDecision> Router::admit(http::verb method, std::string_view target,
                                                     RequestMeta meta) const {
  AccessDecision decision;
  decision.started_ = std::chrono::steady_clock::now();
  HttpRequest request;
  request.method = method;
  request.meta = std::move(meta);
  Resolution resolution = resolve(request, target);
  auto authorizing = authorize(request, resolution.permission());
  if (auto refused = co_await std::move(authorizing)) {
    if (access_ != nullptr) access_->completed(request, resolution.action, *refused);
    observed(request, resolution, refused->status, decision.started_);
    decision.refusal_ = std::move(*refused);
  }
  decision.principal_ = std::move(request.principal);
  co_return decision;
}

boost::asio::awaitable<HttpResponse> Router::dispatch(http::verb method, std::string_view target,
                                                      std::string body, RequestMeta meta) const {
  auto admitting = admit(method, target, meta);
  AccessDecision decision = co_await std::move(admitting);
  auto dispatching =
      dispatch(method, target, std::move(body), std::move(meta), std::move(decision));
  co_return co_await std::move(dispatching);
}

boost::asio::awaitable<HttpResponse> Router::dispatch(http::verb method, std::string_view target,
                                                      std::string body, RequestMeta meta,
                                                      AccessDecision decision) const {
  // Audited by admit() already.
  if (decision.refused()) co_return decision.refusal();
  const auto started = decision.started_;
  HttpRequest request;
  request.method = method;
  request.meta = std::move(meta);
  request.principal = std::move(decision.principal_);
  Resolution resolution = resolve(request, target);
  HttpResponse response;
  if (resolution.own) {
    response = std::move(*resolution.own);
  } else {
    request.body = std::move(body);
    auto running = run(*resolution.route, request, resolution.action);
    response = co_await std::move(running);
  }
  if (access_ != nullptr) access_->completed(request, resolution.action, response);
  observed(request, resolution, response.status, started);
  co_return response;
}

void Router::observed(const HttpRequest& request, const Resolution& resolution, unsigned status,
                      std::chrono::steady_clock::time_point started) const {
  if (observer_ == nullptr) return;
  observer_->observe(request.method,
                     resolution.route != nullptr ? std::string_view(resolution.route->pattern)
                                                 : std::string_view{},
                     status, std::chrono::steady_clock::now() - started);
}

boost::asio::awaitable<std::optional<HttpResponse>> Router::authorize(
    HttpRequest& request, auth::Permission permission) const {
  if (permission == auth::Permission::kPublic) co_return std::nullopt;
  if (access_ == nullptr) {
    auto refused = errorResponse(
        http_status::kUnauthorized,
        Error{Code::kUnauthenticated, "no authentication is configured for this route", ""});
    refused.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"zoneplane\"");
    co_return refused;
  }
  co_return co_await access_->authorize(request, permission);
}

Router::Resolution Router::resolve(HttpRequest& request, std::string_view target) const {
  const std::string method_name(http::to_string(request.method));
  Resolution out;
  out.action = method_name + " " +
               std::string(target.substr(0, std::min<std::size_t>(target.find('?'), 200)));
  if (auto s = parseTarget(target, request); !s) {
    out.own = errorResponse(http_status::kBadRequest, s.error());
    return out;
  }
  std::vector<std::string> segments;
  for (auto raw : splitPath(request.path)) {
    auto decoded = percentDecode(raw, false);
    if (!decoded) {
      out.own = errorResponse(http_status::kBadRequest, decoded.error());
      return out;
    }
    segments.push_back(std::move(*decoded));
  }

  std::string allow;
  for (const auto& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    std::map<std::string, std::string> params;
    bool same = true;
    for (std::size_t i = 0; i < segments.size() && same; ++i) {
      if (isParam(route.segments[i])) {
        same = !segments[i].empty();
        params[route.segments[i].substr(1, route.segments[i].size() - 2)] = segments[i];
      } else {
        same = route.segments[i] == segments[i];
      }
    }
    if (!same) continue;
    // HEAD runs the GET handler; the HTTP layer sends its headers only.
    if (route.method == request.method ||
        (request.method == http::verb::head && route.method == http::verb::get)) {
      out.route = &route;
      out.action = method_name + " " + route.pattern;
      request.params = std::move(params);
      return out;
    }
    if (!allow.empty()) allow += ", ";
    allow += std::string(http::to_string(route.method));
    if (route.method == http::verb::get) allow += ", HEAD";
  }

  if (allow.empty()) {
    out.own =
        errorResponse(http_status::kNotFound,
                      Error{Code::kNotFound, "no such path: " + request.path.substr(0, 200), ""});
    return out;
  }
  out.own = errorResponse(http_status::kMethodNotAllowed,
                          Error{Code::kUnimplemented,
                                "method " + method_name + " is not allowed on " +
                                    request.path.substr(0, 200) + " (allowed: " + allow + ")",
                                ""});
  out.own->headers.emplace_back("Allow", allow);
  return out;
}

boost::asio::awaitable<HttpResponse> Router::run(const Route& route, HttpRequest& request,
                                                 const std::string& action) const {
  // The handler takes the request; the audit keeps what it needs (all but the body).
  std::string body = std::move(request.body);
  request.body.clear();
  HttpRequest handed = request;
  handed.body = std::move(body);
  try {
    auto handling = route.handler(std::move(handed));
    co_return co_await std::move(handling);
  } catch (const std::exception& e) {
    spdlog::error("handler for {} failed: {}", action, e.what());
  } catch (...) {
    spdlog::error("handler for {} failed with an unknown exception", action);
  }
  co_return errorResponse(http_status::kInternal,
                          Error{Code::kInternal, "internal error while handling the request", ""});
}

}  // namespace zp::server
