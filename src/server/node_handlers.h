#pragma once
// GET /nodes and GET /healthz.
//
// GET /nodes asks every node NodeInfo (all at once) and answers
//   {"items": [{"node_id", "address", "reachable", "capacity": {memory_mb,
//   cpu_millicores}, "allocatable": {...}, "runtime_classes": [...],
//   "workloads": N, "error"?: "..."}]}
// where allocatable = capacity - the requests of the node's non-terminal
// workloads in the store, workloads = how many stored workloads the node
// owns, and capacity is the last known one (zeros if the node never
// answered); "error" is present only when the node is unreachable.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/awaitable.hpp>

#include "server/http_message.h"
#include "server/node_pool.h"
#include "server/router.h"
#include "store/store.h"

namespace zp::server {

// Owns nothing; runs on the server's single executor.
class NodeHandlers {
 public:
  NodeHandlers(store::Store& store, NodePool& pool) : store_(store), pool_(pool) {}

  void addRoutes(Router& router);

  boost::asio::awaitable<HttpResponse> nodes(HttpRequest request);
  boost::asio::awaitable<HttpResponse> healthz(HttpRequest request);

 private:
  store::Store& store_;
  NodePool& pool_;
};

}  // namespace zp::server
