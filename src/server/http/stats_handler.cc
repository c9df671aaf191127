#include "server/http/stats_handler.h"

namespace zp::server {

using nlohmann::json;

json toJson(const ServerStats& stats) {
  json nodes = json::array();
  for (const auto& n : stats.nodes) {
    nodes.push_back({{"id", n.node},
                     {"calls_in_flight", n.calls_in_flight},
                     {"calls_waiting", n.calls_waiting},
                     {"log_streams", n.log_streams},
                     {"workloads_placed", n.workloads_placed},
                     {"agent_workloads", n.agent_workloads}});
  }
  return json{{"http_connections", stats.http_connections},
              {"watchers", stats.watchers},
              {"commit_backlog", stats.commit_backlog},
              {"nodes", std::move(nodes)}};
}

void StatsHandler::addRoutes(Router& router) {
  router.add(boost::beast::http::verb::get, "/stats", auth::Permission::kRead,
             [this](HttpRequest r) { return stats(std::move(r)); });
}

boost::asio::awaitable<HttpResponse> StatsHandler::stats(HttpRequest request) {
  if (auto bad = unknownQueryParameter(request, "/stats", {})) co_return *bad;
  co_return jsonResponse(http_status::kOk, toJson(collect_()));
}

}  // namespace zp::server
