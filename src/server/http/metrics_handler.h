#pragma once
// GET /metrics (docs/architecture.md §7 "Metrics"): the server's registry in
// the Prometheus text exposition format (version 0.0.4). Needs
// Permission::kRead (a viewer token is enough; Prometheus sends it as
// `authorization: {credentials: ...}`); any query parameter is 400.
// Rendering runs on the server's executor: the scrape-time families read
// incrementally kept counts, so a scrape costs a walk over the nodes, not
// over the workloads.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/awaitable.hpp>

#include "metrics/registry.h"
#include "server/http/http_message.h"
#include "server/http/router.h"

namespace zp::server {

class MetricsHandler {
 public:
  // Borrows `registry`, which must outlive the handler.
  explicit MetricsHandler(const metrics::Registry& registry) : registry_(registry) {}

  void addRoutes(Router& router);
  boost::asio::awaitable<HttpResponse> metrics(HttpRequest request);

 private:
  const metrics::Registry& registry_;
};

}  // namespace zp::server
