#include "server/http/http_metrics.h"

#include <string>

namespace zp::server {

HttpMetrics::HttpMetrics(metrics::Registry& registry)
    : requests_(registry.counter("zoneplane_http_requests_total",
                                 "API requests answered, by method, route pattern and status code.",
                                 {"method", "route", "code"})),
      duration_(registry.histogram(
          "zoneplane_http_request_duration_seconds",
          "Time from a request's header to its answer being ready, by method and route pattern "
          "(reading the body and writing the answer not included).",
          {"method", "route"},
          {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10})) {}

void HttpMetrics::observe(boost::beast::http::verb method, std::string_view route, unsigned status,
                          std::chrono::steady_clock::duration elapsed) {
  const std::string_view pattern = route.empty() ? std::string_view("none") : route;
  auto it = children_.find(std::tuple{method, pattern, status});
  if (it == children_.end()) {
    const auto verb = boost::beast::http::to_string(method);
    const std::string_view name = method == boost::beast::http::verb::unknown
                                      ? std::string_view("unknown")
                                      : std::string_view(verb.data(), verb.size());
    const Children children{&requests_.with({name, pattern, std::to_string(status)}),
                            &duration_.with({name, pattern})};
    it = children_.emplace(Key{method, std::string(pattern), status}, children).first;
  }
  it->second.requests->inc();
  it->second.duration->observe(std::chrono::duration<double>(elapsed).count());
}

}  // namespace zp::server
