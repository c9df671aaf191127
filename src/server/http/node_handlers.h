#pragma once
// The node routes of the REST API (docs/architecture.md §7, §8.2):
//
//   GET    /nodes                    200 {"items": [view, ...]} ordered by id
//   GET    /nodes/{id}               200 view, 404
//   POST   /nodes {"id","address"}   201 view + Location; 400 shape, 422 values, 409 exists
//   DELETE /nodes/{id}?force=true    200 the view it had; 409 while workloads are on it
//                                    unless force; 404
//   POST   /nodes/{id}/cordon        200 view (not schedulable)
//   POST   /nodes/{id}/uncordon      200 view
//   POST   /nodes/{id}/drain         200 view: cordons, then the drain hook moves or
//                                    ends the node's workloads
//   GET    /nodes/{id}/isolation     200 {"node": id, "classes": [isolation item, ...]}; 404
//   POST   /nodes/{id}/probe[?runtime_class=NAME]
//                                    the node probes the class (every class without
//                                    it) now: 200 the GET …/isolation body once its
//                                    answer is applied (at most 5 minutes); 404
//                                    unknown node or class, 503 unreachable, 504
//                                    no answer in time, 422 a NAME that is no class
//                                    name
//   GET    /healthz                  200 {"status": "ok"}
//
// A view:
//   {"id", "address", "state": "Ready"|"NotReady"|"Lost", "reason"?, "message"?,
//    "schedulable", "last_heartbeat"? (RFC 3339), "capacity": {memory_mb,
//    cpu_millicores}, "allocated": {...}, "allocatable": {...},
//    "runtime_classes": [...], "isolation": [isolation item, ...],
//    "workloads": N, "version"?}
// An isolation item (docs/architecture.md §10.3) is api::toJson(ClassIsolation)
//   {"runtime_class", "claim"?, "level", "score", "quarantined", "findings",
//    "verified_at"?, "probe_version"?, "attempted_at"?, "error"?}
// plus "age_seconds" (the server's clock minus verified_at, at least 0) when
// verified_at is set.
// Unknown query parameters are 400 on every route.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"
#include "common/time.h"
#include "server/http/http_message.h"
#include "server/http/router.h"
#include "server/nodes/node_registry.h"

namespace zp::server {

// The API's JSON form of one class's verification, `now` on the server's clock.
nlohmann::json isolationJson(const api::ClassIsolation& isolation, TimePoint now);
// The API's JSON form of a node.
nlohmann::json nodeJson(const NodeView& node, TimePoint now);

// Removes (or moves away) every workload placed on `node` (docs/architecture.md §8.2).
using DrainHook = std::function<boost::asio::awaitable<Status>(std::string node)>;

// Borrows the registry and the clock; runs on the server's single executor.
class NodeHandlers {
 public:
  // `drain` may be empty: drain then only cordons.
  NodeHandlers(NodeRegistry& registry, const Clock& clock, DrainHook drain)
      : registry_(registry), clock_(clock), drain_(std::move(drain)) {}

  void addRoutes(Router& router);

  boost::asio::awaitable<HttpResponse> list(HttpRequest request);
  boost::asio::awaitable<HttpResponse> get(HttpRequest request);
  boost::asio::awaitable<HttpResponse> add(HttpRequest request);
  boost::asio::awaitable<HttpResponse> remove(HttpRequest request);
  boost::asio::awaitable<HttpResponse> cordon(HttpRequest request);
  boost::asio::awaitable<HttpResponse> uncordon(HttpRequest request);
  boost::asio::awaitable<HttpResponse> drain(HttpRequest request);
  boost::asio::awaitable<HttpResponse> isolation(HttpRequest request);
  boost::asio::awaitable<HttpResponse> probe(HttpRequest request);
  boost::asio::awaitable<HttpResponse> healthz(HttpRequest request);

 private:
  // {"node": id, "classes": [...]}
  nlohmann::json isolationBody(const NodeView& node) const;

  NodeRegistry& registry_;
  const Clock& clock_;
  DrainHook drain_;
};

}  // namespace zp::server
