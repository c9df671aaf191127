#include "server/workloads/workload_metrics.h"

namespace zp::server {

WorkloadMetrics::WorkloadMetrics(metrics::Registry& registry)
    : submissions(registry
                      .counter("zoneplane_workload_submissions_total",
                               "Workload submissions accepted (durably stored).")
                      .with({})),
      placements(registry
                     .counter("zoneplane_workload_placements_total",
                              "Workloads placed on a node (new copy: submission, queue, "
                              "reschedule).")
                     .with({})),
      restarts(registry
                   .counter("zoneplane_workload_restarts_total",
                            "Container restarts reported by the nodes (restart_count increases).")
                   .with({})),
      reschedules(registry
                      .counter("zoneplane_workload_reschedules_total",
                               "Placed workloads taken off their node (lost, drained) and placed "
                               "anew or queued.")
                      .with({})),
      push_delay(registry
                     .histogram("zoneplane_status_push_delay_seconds",
                                "Server time at a pushed status minus the container's finished_at "
                                "(exit to API; assumes synchronized clocks, negatives count as 0).",
                                {}, {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30})
                     .with({})) {}

}  // namespace zp::server
