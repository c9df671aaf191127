#pragma once
// The agent links' instruments (docs/architecture.md §7 "Metrics"): the time
// from sending a request to a node until its reply (or the timeout), and the
// requests that failed, by protocol method (Hello, NodeInfo for heartbeats,
// ListWorkloads, StartWorkload, ...). Labelled by method and error code, not
// by node: a thousand nodes would multiply the series by a thousand.

#include <string_view>

#include "common/status.h"
#include "metrics/registry.h"

namespace zp::server {

struct AgentLinkMetrics {
  explicit AgentLinkMetrics(metrics::Registry& registry);

  // A request sent and answered (or timed out) after `seconds`.
  void observe(std::string_view method, double seconds);
  // A request that failed (not connected, lost, timed out, an agent Error).
  void failed(std::string_view method, Code code);

  metrics::HistogramFamily& duration;  // {method}
  metrics::CounterFamily& errors;      // {method, code}
};

}  // namespace zp::server
