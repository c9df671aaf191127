#include "server/ui/ui_routes.h"

#include <algorithm>
#include <array>

namespace zp::server::ui {

namespace http = boost::beast::http;

namespace {

constexpr std::string_view kIndex = "index.html";

struct TypeByExtension {
  std::string_view extension;
  std::string_view type;
};

constexpr std::array<TypeByExtension, 7> kTypes{{
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".json", "application/json"},
    {".txt", "text/plain; charset=utf-8"},
}};

void addSecurityHeaders(HttpResponse& response) {
  response.headers.emplace_back("Cache-Control", "no-cache");
  response.headers.emplace_back("Content-Security-Policy", std::string(kContentSecurityPolicy));
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("X-Frame-Options", "DENY");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
}

}  // namespace

std::string_view contentTypeFor(std::string_view name) {
  for (const auto& [extension, type] : kTypes) {
    if (name.size() > extension.size() && name.ends_with(extension)) return type;
  }
  return "application/octet-stream";
}

HttpResponse serveAsset(std::span<const Asset> assets, std::string_view name) {
  const auto found =
      std::find_if(assets.begin(), assets.end(), [&](const Asset& a) { return a.name == name; });
  HttpResponse response;
  if (found == assets.end()) {
    // The name is the client's: bounded, and only ever inside a JSON string.
    response = errorResponse(
        http_status::kNotFound,
        Error{Code::kNotFound,
              "no file \"" + std::string(name.substr(0, 100)) + "\" in the dashboard", ""});
  } else {
    response.status = http_status::kOk;
    response.body = std::string(found->content);
    response.content_type = std::string(contentTypeFor(found->name));
  }
  addSecurityHeaders(response);
  return response;
}

void addRoutes(Router& router, std::span<const Asset> assets) {
  auto index = [assets](HttpRequest) -> boost::asio::awaitable<HttpResponse> {
    co_return serveAsset(assets, kIndex);
  };
  router.add(http::verb::get, "/ui", auth::Permission::kPublic, index);
  router.add(http::verb::get, "/ui/", auth::Permission::kPublic, index);
  router.add(http::verb::get, "/ui/{file}", auth::Permission::kPublic,
             [assets](HttpRequest request) -> boost::asio::awaitable<HttpResponse> {
               co_return serveAsset(assets, request.params.at("file"));
             });
}

}  // namespace zp::server::ui
