#include "server/http/node_handlers.h"

#include <algorithm>
#include <chrono>
#include <initializer_list>
#include <string_view>

#include "api/json.h"
#include "api/json_fields.h"
#include "api/strict_json.h"
#include "api/validate.h"

namespace zp::server {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using nlohmann::json;

json isolationJson(const api::ClassIsolation& isolation, TimePoint now) {
  json out = api::toJson(isolation);
  if (isolation.verified_at) {
    const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - *isolation.verified_at);
    out["age_seconds"] = std::max<std::int64_t>(0, age.count());
  }
  return out;
}

json nodeJson(const NodeView& node, TimePoint now) {
  json out{{"id", node.id}, {"address", node.address}, {"state", nodeStateName(node.state)}};
  if (!node.reason.empty()) out["reason"] = node.reason;
  if (!node.message.empty()) out["message"] = node.message;
  out["schedulable"] = node.schedulable;
  if (node.last_heartbeat) out["last_heartbeat"] = formatRfc3339(*node.last_heartbeat);
  out["capacity"] = api::toJson(node.capacity);
  out["allocated"] = api::toJson(node.allocated);
  out["allocatable"] = api::toJson(node.allocatable());
  out["runtime_classes"] = node.runtime_classes;
  json isolation = json::array();
  for (const auto& c : node.isolation) isolation.push_back(isolationJson(c, now));
  out["isolation"] = std::move(isolation);
  out["workloads"] = node.workloads;
  if (!node.version.empty()) out["version"] = node.version;
  return out;
}

namespace {

// POST bodies of the node actions carry nothing: empty or {}.
std::optional<HttpResponse> unexpectedBody(const HttpRequest& request) {
  if (request.body.find_first_not_of(" \t\r\n") == std::string::npos) return std::nullopt;
  auto j = api::parseStrictJson(request.body);
  if (j && j->is_object() && j->empty()) return std::nullopt;
  return errorResponse(http_status::kBadRequest,
                       Error{Code::kInvalidArgument, "this request takes no body (or {})", ""});
}

HttpResponse notFound(const std::string& id) {
  return errorResponse(Error{Code::kNotFound, "no node \"" + id.substr(0, 80) + "\"", ""});
}

struct NewNode {
  std::string id;
  std::string address;
};

// Shape only (400 when it fails): an object with string "id" and "address"
// and nothing else. Values are checked by the registry (422).
Result<NewNode> decodeNewNode(const std::string& body) {
  auto j = api::parseStrictJson(body);
  if (!j) return fail(j.error());
  if (auto s = api::fields::requireObject(*j, "node", {"id", "address"}, ""); !s) {
    return fail(s.error());
  }
  NewNode out;
  auto id = api::fields::optString(*j, "id", "");
  if (!id) return fail(id.error());
  auto address = api::fields::optString(*j, "address", "");
  if (!address) return fail(address.error());
  out.id = id->value_or("");
  out.address = address->value_or("");
  return out;
}

}  // namespace

void NodeHandlers::addRoutes(Router& router) {
  using auth::Permission;
  router.add(http::verb::get, "/nodes", Permission::kRead,
             [this](HttpRequest r) { return list(std::move(r)); });
  router.add(http::verb::post, "/nodes", Permission::kManageCluster,
             [this](HttpRequest r) { return add(std::move(r)); });
  router.add(http::verb::get, "/nodes/{id}", Permission::kRead,
             [this](HttpRequest r) { return get(std::move(r)); });
  router.add(http::verb::delete_, "/nodes/{id}", Permission::kManageCluster,
             [this](HttpRequest r) { return remove(std::move(r)); });
  router.add(http::verb::post, "/nodes/{id}/cordon", Permission::kManageCluster,
             [this](HttpRequest r) { return cordon(std::move(r)); });
  router.add(http::verb::post, "/nodes/{id}/uncordon", Permission::kManageCluster,
             [this](HttpRequest r) { return uncordon(std::move(r)); });
  router.add(http::verb::post, "/nodes/{id}/drain", Permission::kManageCluster,
             [this](HttpRequest r) { return drain(std::move(r)); });
  router.add(http::verb::get, "/nodes/{id}/isolation", Permission::kRead,
             [this](HttpRequest r) { return isolation(std::move(r)); });
  router.add(http::verb::post, "/nodes/{id}/probe", Permission::kProbeNodes,
             [this](HttpRequest r) { return probe(std::move(r)); });
  router.add(http::verb::get, "/healthz", Permission::kPublic,
             [this](HttpRequest r) { return healthz(std::move(r)); });
}

asio::awaitable<HttpResponse> NodeHandlers::healthz(HttpRequest request) {
  if (auto bad = unknownQueryParameter(request, "/healthz", {})) co_return *bad;
  co_return jsonResponse(http_status::kOk, json{{"status", "ok"}});
}

asio::awaitable<HttpResponse> NodeHandlers::list(HttpRequest request) {
  if (auto bad = unknownQueryParameter(request, "/nodes", {})) co_return *bad;
  const TimePoint now = clock_.now();
  json items = json::array();
  for (const auto& node : registry_.nodes()) items.push_back(nodeJson(node, now));
  co_return jsonResponse(http_status::kOk, json{{"items", std::move(items)}});
}

asio::awaitable<HttpResponse> NodeHandlers::get(HttpRequest request) {
  if (auto bad = unknownQueryParameter(request, "/nodes/{id}", {})) co_return *bad;
  const std::string& id = request.params["id"];
  auto node = registry_.node(id);
  if (!node) co_return notFound(id);
  co_return jsonResponse(http_status::kOk, nodeJson(*node, clock_.now()));
}

asio::awaitable<HttpResponse> NodeHandlers::add(HttpRequest request) {
  if (auto bad = unknownQueryParameter(request, "POST /nodes", {})) co_return *bad;
  auto decoded = decodeNewNode(request.body);
  if (!decoded) co_return errorResponse(http_status::kBadRequest, decoded.error());
  const std::string id = decoded->id;
  auto added = co_await registry_.add(std::move(decoded->id), std::move(decoded->address));
  if (!added) {
    auto refused = errorResponse(added.error());
    refused.audit.target = id;
    co_return refused;
  }
  HttpResponse response = jsonResponse(http_status::kCreated, nodeJson(*added, clock_.now()));
  response.headers.emplace_back("Location", "/nodes/" + added->id);
  response.audit.target = added->id;
  co_return response;
}

asio::awaitable<HttpResponse> NodeHandlers::remove(HttpRequest request) {
  if (auto bad = unknownQueryParameter(request, "DELETE /nodes/{id}", {"force"})) co_return *bad;
  bool force = false;
  if (auto it = request.query.find("force"); it != request.query.end()) {
    if (it->second == "true") {
      force = true;
    } else if (it->second != "false") {
      co_return errorResponse(
          http_status::kBadRequest,
          Error{Code::kInvalidArgument, "force must be true or false", "force"});
    }
  }
  std::string id = request.params["id"];
  auto removed = co_await registry_.remove(std::move(id), force);
  if (!removed) co_return errorResponse(removed.error());
  co_return jsonResponse(http_status::kOk, nodeJson(*removed, clock_.now()));
}

asio::awaitable<HttpResponse> NodeHandlers::cordon(HttpRequest request) {
  if (auto bad = unknownQueryParameter(request, "/nodes/{id}/cordon", {})) co_return *bad;
  if (auto bad = unexpectedBody(request)) co_return *bad;
  std::string id = request.params["id"];
  auto node = co_await registry_.cordon(std::move(id));
  if (!node) co_return errorResponse(node.error());
  co_return jsonResponse(http_status::kOk, nodeJson(*node, clock_.now()));
}

asio::awaitable<HttpResponse> NodeHandlers::uncordon(HttpRequest request) {
  if (auto bad = unknownQueryParameter(request, "/nodes/{id}/uncordon", {})) co_return *bad;
  if (auto bad = unexpectedBody(request)) co_return *bad;
  std::string id = request.params["id"];
  auto node = co_await registry_.uncordon(std::move(id));
  if (!node) co_return errorResponse(node.error());
  co_return jsonResponse(http_status::kOk, nodeJson(*node, clock_.now()));
}

asio::awaitable<HttpResponse> NodeHandlers::drain(HttpRequest request) {
  if (auto bad = unknownQueryParameter(request, "/nodes/{id}/drain", {})) co_return *bad;
  if (auto bad = unexpectedBody(request)) co_return *bad;
  const std::string id = request.params["id"];
  std::string cordon_id = id;
  auto cordoned = co_await registry_.cordon(std::move(cordon_id));
  if (!cordoned) co_return errorResponse(cordoned.error());
  if (drain_) {
    auto hook = drain_;
    auto drained = co_await hook(id);
    if (!drained) co_return errorResponse(drained.error());
  }
  auto node = registry_.node(id);
  if (!node) co_return notFound(id);  // removed while draining
  co_return jsonResponse(http_status::kOk, nodeJson(*node, clock_.now()));
}

json NodeHandlers::isolationBody(const NodeView& node) const {
  const TimePoint now = clock_.now();
  json classes = json::array();
  for (const auto& c : node.isolation) classes.push_back(isolationJson(c, now));
  return json{{"node", node.id}, {"classes", std::move(classes)}};
}

asio::awaitable<HttpResponse> NodeHandlers::isolation(HttpRequest request) {
  if (auto bad = unknownQueryParameter(request, "/nodes/{id}/isolation", {})) co_return *bad;
  const std::string& id = request.params["id"];
  auto node = registry_.node(id);
  if (!node) co_return notFound(id);
  co_return jsonResponse(http_status::kOk, isolationBody(*node));
}

asio::awaitable<HttpResponse> NodeHandlers::probe(HttpRequest request) {
  if (auto bad = unknownQueryParameter(request, "POST /nodes/{id}/probe", {"runtime_class"})) {
    co_return *bad;
  }
  if (auto bad = unexpectedBody(request)) co_return *bad;
  std::string runtime_class;
  if (auto it = request.query.find("runtime_class"); it != request.query.end()) {
    if (!api::isDns1123Label(it->second)) {
      co_return invalid("runtime_class \"" + it->second.substr(0, 80) +
                            "\" is not a runtime class name (a DNS-1123 label)",
                        "runtime_class");
    }
    runtime_class = it->second;
  }
  std::string id = request.params["id"];
  auto probed = co_await registry_.probe(std::move(id), std::move(runtime_class));
  if (!probed) co_return errorResponse(probed.error());
  co_return jsonResponse(http_status::kOk, isolationBody(*probed));
}

}  // namespace zp::server
