#pragma once
// Pure mapping from what the runtime reports about a container to the
// workload status vocabulary of docs/architecture.md §2.

#include <cstddef>

#include "agent/runtime.h"
#include "api/workload.h"

namespace zp::agent {

// A status message is at most this many bytes (docs/architecture.md §3): a
// runtime's or registry's long error text cannot make a status, or a page
// of them, too large for a protocol line.
inline constexpr std::size_t kMaxStatusMessageBytes = 4096;

// Cuts `status.message` to kMaxStatusMessageBytes: on a UTF-8 character
// boundary, ending with "…". Shorter messages are left alone.
void capMessage(api::WorkloadStatus& status);

// Updates state, reason, message, exit code and start/finish times of
// `status` from `detail`. Leaves id, node, created_at and runtime ids alone.
void applyContainerDetail(const ContainerDetail& detail, api::WorkloadStatus& status);

}  // namespace zp::agent
