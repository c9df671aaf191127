#include "server/http/policy_handlers.h"

namespace zp::server {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using nlohmann::json;

void PolicyHandlers::addRoutes(Router& router) {
  router.add(http::verb::get, "/trust-levels", auth::Permission::kRead,
             [this](HttpRequest r) { return trustLevels(std::move(r)); });
}

asio::awaitable<HttpResponse> PolicyHandlers::trustLevels(HttpRequest request) {
  if (auto bad = unknownQueryParameter(request, "/trust-levels", {})) co_return std::move(*bad);
  const auto offered = offeredClasses(fleet_.schedulingNodes());
  json items = json::array();
  for (auto level : api::kAllTrustLevels) {
    items.push_back(json{{"name", api::trustName(level)},
                         {"default", level == isolation_.defaultTrust()},
                         {"runtime_classes", isolation_.allowedClasses(level)},
                         {"min_profile", api::profileName(isolation_.minimumProfile(level))},
                         {"available", isolation_.candidates(level, offered)}});
  }
  co_return jsonResponse(http_status::kOk,
                         json{{"default_trust", api::trustName(isolation_.defaultTrust())},
                              {"items", std::move(items)}});
}

}  // namespace zp::server
