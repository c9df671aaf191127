#pragma once
// GET /stats (docs/architecture.md §7): the server's backlogs at this moment,
// cheap enough to poll every second (scripts/soak samples it):
//
//   200 {"http_connections": N,   // API connections open (streams included)
//        "watchers": N,           // watch streams subscribed
//        "commit_backlog": N,     // writes and reads queued for the commit thread
//        "nodes": [{"id", "calls_in_flight", "calls_waiting", "log_streams",
//                   "workloads_placed", "agent_workloads"}, ...]}  // ordered by id
//
// Needs Permission::kRead; any query parameter is 400.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "server/http/http_message.h"
#include "server/http/router.h"
#include "server/nodes/node_registry.h"

namespace zp::server {

struct ServerStats {
  std::size_t http_connections = 0;
  std::size_t watchers = 0;
  std::size_t commit_backlog = 0;
  std::vector<NodeRegistry::LinkLoad> nodes;
};

nlohmann::json toJson(const ServerStats& stats);

// Translates GET /stats into `collect()`, which the server runs on its
// executor (the handler's); holds nothing else.
class StatsHandler {
 public:
  explicit StatsHandler(std::function<ServerStats()> collect) : collect_(std::move(collect)) {}

  void addRoutes(Router& router);
  boost::asio::awaitable<HttpResponse> stats(HttpRequest request);

 private:
  std::function<ServerStats()> collect_;
};

}  // namespace zp::server
