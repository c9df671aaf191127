#pragma once
// The agent's metrics (docs/architecture.md §7 "Metrics"), served by its own
// listener (agent config `metrics_listen`):
//
//   zoneplane_agent_cri_call_duration_seconds{method}  histogram  every CRI RPC
//   zoneplane_agent_cri_errors_total{method, code}     counter    CRI RPCs that failed
//   zoneplane_agent_image_pull_duration_seconds{result} histogram PullImage, ok/error
//   zoneplane_agent_requests_total{method, result}     counter    protocol requests answered
//   zoneplane_agent_request_duration_seconds{method}   histogram  their handling time
//   zoneplane_agent_workloads{state}                   gauge      the registry, at scrape
//   process_* and zoneplane_process_threads            (metrics/process.h)
//
// Threading: the CRI observer runs on worker and gRPC threads, the request
// observer on the network thread; the instruments are thread-safe. The
// workloads gauge reads the manager (thread-safe) when the registry renders.

#include <functional>
#include <string_view>

#include "agent/request_handler.h"
#include "cri/client.h"
#include "metrics/registry.h"

namespace zp::agent {

class WorkloadManager;

class AgentMetrics {
 public:
  AgentMetrics();
  AgentMetrics(const AgentMetrics&) = delete;
  AgentMetrics& operator=(const AgentMetrics&) = delete;

  metrics::Registry& registry() { return registry_; }
  // For cri::ClientOptions::observer. The AgentMetrics must outlive the clients.
  cri::CallObserver criObserver();
  // For RequestHandler::setObserver.
  RequestHandler::Observer requestObserver();
  // Registers the workloads gauge over `manager`, which must outlive every
  // render(). Once.
  void watchWorkloads(const WorkloadManager& manager);

 private:
  metrics::Registry registry_;
  metrics::HistogramFamily& cri_duration_;
  metrics::CounterFamily& cri_errors_;
  metrics::HistogramFamily& pull_duration_;
  metrics::CounterFamily& requests_;
  metrics::HistogramFamily& request_duration_;
};

}  // namespace zp::agent
