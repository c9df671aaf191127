#pragma once
// The server's scrape-time metrics (docs/architecture.md §7 "Metrics"):
// what the server holds at the moment of a scrape, read on its executor
// when GET /metrics renders the registry.
//
//   zoneplane_workloads{state, runtime_class}    records by stored state and class
//   zoneplane_workloads_unschedulable            records waiting to be placed
//   zoneplane_nodes{state}                       nodes by state (Ready, NotReady, Lost)
//   zoneplane_node_isolation_level{node, runtime_class}
//                                                0 unverified, 1 shared-kernel,
//                                                2 application-kernel, 3 hypervisor
//   zoneplane_node_isolation_score{node, runtime_class}        0..100
//   zoneplane_node_isolation_quarantined{node, runtime_class}  1 when quarantined
//   zoneplane_http_connections, zoneplane_watchers, zoneplane_commit_backlog
//
// Cost per scrape: the table's counts (a few entries per class), and one
// pass over the registry's cached scheduling views (no copies); no walk
// over the workloads.

#include <functional>

#include "metrics/registry.h"
#include "server/http/stats_handler.h"
#include "server/nodes/node_registry.h"
#include "server/workloads/workload_service.h"

namespace zp::server {

// Registers the families above. Borrows everything, which must outlive
// every render() of `registry`; `stats` is called at each scrape for the
// last three gauges (its `nodes` field is not used).
void addServerCollectors(metrics::Registry& registry, const WorkloadService& workloads,
                         const NodeRegistry& nodes, std::function<ServerStats()> stats);

}  // namespace zp::server
