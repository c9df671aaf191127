#include "server/http/policy_handlers.h"

#include <algorithm>
#include <string>
#include <vector>

namespace zp::server {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using nlohmann::json;

void PolicyHandlers::addRoutes(Router& router) {
  router.add(http::verb::get, "/trust-levels", auth::Permission::kRead,
             [this](HttpRequest r) { return trustLevels(std::move(r)); });
}

namespace {

// The classes some node offers with a verification satisfying `requirement`.
std::vector<std::string> verifiedClasses(const std::vector<NodeView>& nodes,
                                         const api::IsolationRequirement& requirement) {
  if (!requirement) return offeredClasses(nodes);
  std::vector<std::string> out;
  for (const auto& node : nodes) {
    for (const auto& c : node.isolation) {
      if (std::find(node.runtime_classes.begin(), node.runtime_classes.end(), c.runtime_class) ==
              node.runtime_classes.end() ||
          !c.satisfies(requirement) ||
          std::find(out.begin(), out.end(), c.runtime_class) != out.end()) {
        continue;
      }
      out.push_back(c.runtime_class);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

asio::awaitable<HttpResponse> PolicyHandlers::trustLevels(HttpRequest request) {
  if (auto bad = unknownQueryParameter(request, "/trust-levels", {})) co_return std::move(*bad);
  const auto& nodes = fleet_.schedulingNodes();
  json items = json::array();
  for (auto level : api::kAllTrustLevels) {
    const api::IsolationRequirement requirement = isolation_.minimumIsolation(level);
    items.push_back(
        json{{"name", api::trustName(level)},
             {"default", level == isolation_.defaultTrust()},
             {"runtime_classes", isolation_.allowedClasses(level)},
             {"min_profile", api::profileName(isolation_.minimumProfile(level))},
             {"min_isolation", api::requirementName(requirement)},
             {"available", isolation_.candidates(level, verifiedClasses(nodes, requirement))}});
  }
  co_return jsonResponse(http_status::kOk,
                         json{{"default_trust", api::trustName(isolation_.defaultTrust())},
                              {"items", std::move(items)}});
}

}  // namespace zp::server
