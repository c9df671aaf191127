#pragma once
// Pure mapping from what the runtime reports about a container to the
// workload status vocabulary of docs/architecture.md §2.

#include "agent/runtime.h"
#include "api/workload.h"

namespace zp::agent {

// Updates state, reason, message, exit code and start/finish times of
// `status` from `detail`. Leaves id, node, created_at and runtime ids alone.
void applyContainerDetail(const ContainerDetail& detail, api::WorkloadStatus& status);

}  // namespace zp::agent
