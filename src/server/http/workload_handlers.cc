#include "server/http/workload_handlers.h"

#include <algorithm>
#include <initializer_list>
#include <string_view>

#include "api/json.h"
#include "api/strict_json.h"
#include "server/http/record_json.h"

namespace zp::server {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using nlohmann::json;

namespace {

// Shape only: JSON syntax and the strict decoder (a 400 when it fails).
Result<api::WorkloadSpec> decodeSubmission(const std::string& body) {
  auto j = api::parseStrictJson(body);
  if (!j) return fail(j.error());
  return api::workloadSpecFromJson(*j);
}

}  // namespace

void WorkloadHandlers::addRoutes(Router& router) {
  using auth::Permission;
  router.add(http::verb::post, "/workloads", Permission::kManageWorkloads,
             [this](HttpRequest r) { return create(std::move(r)); });
  router.add(http::verb::get, "/workloads", Permission::kRead,
             [this](HttpRequest r) { return list(std::move(r)); });
  router.add(http::verb::get, "/workloads/{id}", Permission::kRead,
             [this](HttpRequest r) { return get(std::move(r)); });
  router.add(http::verb::delete_, "/workloads/{id}", Permission::kManageWorkloads,
             [this](HttpRequest r) { return remove(std::move(r)); });
  router.add(http::verb::post, "/workloads/{id}/exec", Permission::kExec,
             [this](HttpRequest r) { return exec(std::move(r)); });
}

asio::awaitable<HttpResponse> WorkloadHandlers::create(HttpRequest request) {
  if (auto bad = unknownQueryParameter(request, "POST /workloads", {})) co_return std::move(*bad);
  auto decoded = decodeSubmission(request.body);
  if (!decoded) co_return errorResponse(http_status::kBadRequest, decoded.error());
  api::WorkloadSpec spec = std::move(*decoded);
  const std::string requested_id = spec.id;
  auto created = co_await service_.submit(std::move(spec));
  if (!created) {
    auto refused = errorResponse(created.error());
    refused.audit.target = requested_id;
    co_return refused;
  }
  auto response =
      jsonResponse(http_status::kCreated, recordJson(*created, service_.isolation(*created)));
  response.headers.emplace_back("Location", "/workloads/" + created->spec.id);
  response.audit.target = created->spec.id;
  co_return response;
}

asio::awaitable<HttpResponse> WorkloadHandlers::get(HttpRequest request) {
  if (auto bad = unknownQueryParameter(request, "GET /workloads/{id}", {})) co_return std::move(*bad);
  auto record = service_.get(request.params["id"]);
  if (!record) co_return errorResponse(record.error());
  co_return jsonResponse(http_status::kOk, recordJson(*record, service_.isolation(*record)));
}

asio::awaitable<HttpResponse> WorkloadHandlers::list(HttpRequest request) {
  // A watch has parameters of its own (id among them): the hook checks them.
  if (auto watch = request.query.find("watch");
      watch != request.query.end() && watch->second == "true") {
    if (!watch_) {
      co_return errorResponse(http_status::kBadRequest,
                              Error{Code::kInvalidArgument, "watch is not supported", "watch"});
    }
    co_return co_await watch_(std::move(request));
  }
  if (auto bad =
          unknownQueryParameter(request, "GET /workloads",
                           {"state", "node", "runtime_class", "limit", "continue", "watch"})) {
    co_return std::move(*bad);
  }
  if (auto watch = request.query.find("watch");
      watch != request.query.end() && watch->second != "false") {
    co_return errorResponse(
        Error{Code::kInvalidArgument, "watch must be \"true\" or \"false\"", "watch"});
  }
  ListFilter filter;
  std::optional<std::size_t> limit;
  std::string after;
  for (const auto& [key, value] : request.query) {
    if (key == "state") {
      filter.state = api::parseState(value);
      if (!filter.state) {
        co_return errorResponse(Error{Code::kInvalidArgument,
                                      "state \"" + value.substr(0, 80) +
                                          "\" is not one of Pending, Running, Succeeded, "
                                          "Failed, Unknown",
                                      "state"});
      }
    } else if (key == "node" || key == "runtime_class") {
      if (auto bad = checkNameFilter(key, value)) co_return std::move(*bad);
      (key == "node" ? filter.node : filter.runtime_class) = value;
    } else if (key == "limit") {
      auto n = wholeNumberParameter(value, 1, protocol::kMaxListLimit, "limit");
      if (!n) co_return errorResponse(n.error());
      limit = static_cast<std::size_t>(*n);
    } else if (key == "continue") {
      after = value;
    }
  }
  auto page = service_.list(filter, limit, after);
  if (!page) co_return errorResponse(page.error());
  json items = json::array();
  for (const auto& record : page->items)
    items.push_back(recordJson(record, service_.isolation(record)));
  json body{{"items", std::move(items)}};
  if (!page->next.empty()) body["continue"] = page->next;
  co_return jsonResponse(http_status::kOk, body);
}

asio::awaitable<HttpResponse> WorkloadHandlers::remove(HttpRequest request) {
  if (auto bad = unknownQueryParameter(request, "DELETE /workloads/{id}", {"grace_seconds"})) {
    co_return std::move(*bad);
  }
  std::string id = request.params["id"];
  std::chrono::seconds grace{protocol::kDefaultStopTimeoutSeconds};
  if (auto value = request.query.find("grace_seconds"); value != request.query.end()) {
    auto n =
        wholeNumberParameter(value->second, 0, protocol::kMaxStopTimeoutSeconds, "grace_seconds");
    if (!n) co_return errorResponse(n.error());
    grace = std::chrono::seconds{*n};
  }
  auto removed = co_await service_.remove(std::move(id), grace);
  if (!removed) co_return errorResponse(removed.error());
  co_return jsonResponse(http_status::kOk, recordJson(*removed, service_.isolation(*removed)));
}

}  // namespace zp::server
