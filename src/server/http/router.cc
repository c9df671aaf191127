#include "server/http/router.h"

#include <spdlog/spdlog.h>

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

void Router::add(http::verb method, std::string_view pattern, Handler handler) {
  Route route{method, {}, std::move(handler)};
  for (auto segment : splitPath(pattern)) route.segments.emplace_back(segment);
  routes_.push_back(std::move(route));
}

boost::asio::awaitable<HttpResponse> Router::dispatch(http::verb method, std::string_view target,
                                                      std::string body, RequestMeta meta) const {
  HttpRequest request;
  request.method = method;
  request.meta = std::move(meta);
  request.body = std::move(body);
  if (auto s = parseTarget(target, request); !s) {
    co_return errorResponse(http_status::kBadRequest, s.error());
  }
  std::vector<std::string> segments;
  for (auto raw : splitPath(request.path)) {
    auto decoded = percentDecode(raw, false);
    if (!decoded) co_return errorResponse(http_status::kBadRequest, decoded.error());
    segments.push_back(std::move(*decoded));
  }

  const Route* match = nullptr;
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
    if (route.method == method || (method == http::verb::head && route.method == http::verb::get)) {
      match = &route;
      request.params = std::move(params);
      break;
    }
    if (!allow.empty()) allow += ", ";
    allow += std::string(http::to_string(route.method));
    if (route.method == http::verb::get) allow += ", HEAD";
  }

  if (match == nullptr && allow.empty()) {
    co_return errorResponse(
        http_status::kNotFound,
        Error{Code::kNotFound, "no such path: " + request.path.substr(0, 200), ""});
  }
  if (match == nullptr) {
    auto response = errorResponse(
        http_status::kMethodNotAllowed,
        Error{Code::kUnimplemented,
              "method " + std::string(http::to_string(method)) + " is not allowed on " +
                  request.path.substr(0, 200) + " (allowed: " + allow + ")",
              ""});
    response.headers.emplace_back("Allow", allow);
    co_return response;
  }
  const std::string path = request.path;
  try {
    co_return co_await match->handler(std::move(request));
  } catch (const std::exception& e) {
    spdlog::error("handler for {} {} failed: {}", std::string(http::to_string(method)), path,
                  e.what());
  } catch (...) {
    spdlog::error("handler for {} {} failed with an unknown exception",
                  std::string(http::to_string(method)), path);
  }
  co_return errorResponse(http_status::kInternal,
                          Error{Code::kInternal, "internal error while handling the request", ""});
}

}  // namespace zp::server
