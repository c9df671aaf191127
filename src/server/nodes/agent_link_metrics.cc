#include "server/nodes/agent_link_metrics.h"

#include <string>

namespace zp::server {

AgentLinkMetrics::AgentLinkMetrics(metrics::Registry& registry)
    : duration(registry.histogram(
          "zoneplane_agent_rpc_duration_seconds",
          "Time from sending a request to a node's agent to its reply or timeout, by method.",
          {"method"},
          {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30})),
      errors(
          registry.counter("zoneplane_agent_rpc_errors_total",
                           "Requests to the nodes' agents that failed, by method and error code.",
                           {"method", "code"})) {}

void AgentLinkMetrics::observe(std::string_view method, double seconds) {
  duration.with({method}).observe(seconds);
}

void AgentLinkMetrics::failed(std::string_view method, Code code) {
  errors.with({method, codeName(code)}).inc();
}

}  // namespace zp::server
