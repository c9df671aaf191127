#pragma once
// The API's request metrics (docs/architecture.md §7 "Metrics"), fed by the
// Router (RequestObserver): requests by method, route pattern and status
// code, and their handling time by method and route pattern. Routes are
// patterns ("/workloads/{id}"), never raw paths, and a request that matched
// no route counts under route="none", so the series stay few whatever
// clients send. Requests the HTTP layer answers itself before the Router
// sees them (malformed: 400, too large: 413) are not counted.
//
// Threading: called on the server's executor only (the children found for
// each method, route and code are remembered without a lock); the
// instruments themselves are thread-safe (metrics/registry.h).

#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <tuple>

#include "metrics/registry.h"
#include "server/http/router.h"

namespace zp::server {

class HttpMetrics final : public RequestObserver {
 public:
  explicit HttpMetrics(metrics::Registry& registry);

  void observe(boost::beast::http::verb method, std::string_view route, unsigned status,
               std::chrono::steady_clock::duration elapsed) override;

 private:
  struct Children {
    metrics::Counter* requests;
    metrics::Histogram* duration;
  };
  // (method, route pattern or "none", status code): few, bounded by the routes.
  using Key = std::tuple<boost::beast::http::verb, std::string, unsigned>;

  metrics::CounterFamily& requests_;    // {method, route, code}
  metrics::HistogramFamily& duration_;  // {method, route}
  std::map<Key, Children, std::less<>> children_;  // each request looks its children up here
};

}  // namespace zp::server
