#include "server/node_handlers.h"

#include "api/json.h"
#include "server/workload_controller.h"

namespace zp::server {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using nlohmann::json;

void NodeHandlers::addRoutes(Router& router) {
  router.add(http::verb::get, "/nodes", [this](HttpRequest r) { return nodes(std::move(r)); });
  router.add(http::verb::get, "/healthz", [this](HttpRequest r) { return healthz(std::move(r)); });
}

asio::awaitable<HttpResponse> NodeHandlers::healthz(HttpRequest) {
  co_return jsonResponse(http_status::kOk, json{{"status", "ok"}});
}

asio::awaitable<HttpResponse> NodeHandlers::nodes(HttpRequest) {
  co_await pool_.refresh();
  auto records = store_.list({});
  if (!records) {
    co_return errorResponse(
        http_status::kInternal,
        Error{Code::kInternal, "store failure: " + records.error().message, ""});
  }
  const auto requested = WorkloadController::requestedPerNode(*records);
  std::map<std::string, int> owned;
  for (const auto& record : *records) ++owned[record.node];

  json items = json::array();
  for (const auto& node : pool_.nodes()) {
    const api::Resources capacity = NodePool::capacityOf(node).value_or(api::Resources{});
    api::Resources allocatable = capacity;
    if (auto it = requested.find(node.config.id);
        it != requested.end() && NodePool::capacityOf(node)) {
      allocatable.memory_mb -= it->second.memory_mb;
      allocatable.cpu_millicores -= it->second.cpu_millicores;
    }
    json item{{"node_id", node.config.id},
              {"address", node.config.address},
              {"reachable", node.reachable},
              {"capacity", api::toJson(capacity)},
              {"allocatable", api::toJson(allocatable)},
              {"runtime_classes", NodePool::classesOf(node)},
              {"workloads", owned[node.config.id]}};
    if (node.info && !node.info->version.empty()) item["version"] = node.info->version;
    if (!node.reachable) item["error"] = node.error;
    items.push_back(std::move(item));
  }
  co_return jsonResponse(http_status::kOk, json{{"items", std::move(items)}});
}

}  // namespace zp::server
