#pragma once
// The workload service's instruments (docs/architecture.md §7 "Metrics"),
// registered in the server's registry. The service counts through them;
// what it holds at a moment (records by state and class) is read from its
// table at scrape time instead (WorkloadTable::countsByStateAndClass).

#include "metrics/registry.h"

namespace zp::server {

struct WorkloadMetrics {
  explicit WorkloadMetrics(metrics::Registry& registry);

  // Submissions accepted (durable), placements (a record placed on a node
  // with a new uid: at submission, from the Unschedulable queue, or when
  // rescheduled), restarts of containers reported by the nodes
  // (status.restart_count going up), reschedules (a placed record taken off
  // its node, lost or drained, and placed anew or queued).
  metrics::Counter& submissions;
  metrics::Counter& placements;
  metrics::Counter& restarts;
  metrics::Counter& reschedules;
  // Server time when a pushed status arrives minus the container's
  // finished_at as the node stamped it (assumes synchronized clocks;
  // negative differences count as 0).
  metrics::Histogram& push_delay;
};

}  // namespace zp::server
