#pragma once
// §10.2's findings about what the workload can reach (docs/architecture.md
// §10.2): writable kernel interfaces, unmasked paths, devices, runtime
// sockets, reachable endpoints, limits, the network stack. Each is nullopt
// when its condition does not hold. Pure; internal to the verdict.

#include <optional>

#include "agent/isolation/verdict_parts.h"

namespace zp::agent::verdict_detail {

// A write-open under /proc/sys (/sys) succeeded: high on a shared kernel,
// medium otherwise; on a shared kernel only, a read-write mount whose
// write-open failed: medium.
std::optional<api::Finding> procSysWritableFinding(const probe::WritableFacts& writable,
                                                   api::IsolationLevel level);
std::optional<api::Finding> sysWritableFinding(const probe::WritableFacts& writable,
                                               api::IsolationLevel level);
// A kubelet-masked path whose content could be read.
std::optional<api::Finding> procUnmaskedFinding(const probe::Report& seen,
                                                api::IsolationLevel level);
// A block device, or a character device outside a workload's standard /dev
// (null, zero, full, random, urandom, tty, console, ptmx, pts/*, with their
// usual numbers; an application kernel's own net/tun and fuse).
std::optional<api::Finding> hostDevicesFinding(const probe::Report& seen,
                                               api::IsolationLevel level);
std::optional<api::Finding> runtimeSocketFinding(const probe::Report& seen);
// A --connect target that accepted the connection.
std::optional<api::Finding> endpointReachableFinding(const probe::Report& seen);
// No memory limit: none found, "max", or cgroup v1's "unlimited" value.
// Another kernel with no visible cgroup tree is not judged (its memory is
// bounded outside it).
std::optional<api::Finding> noMemoryLimitFinding(const probe::CgroupFacts& cgroup,
                                                 api::IsolationLevel level);
// An application kernel whose sockets are the host kernel's.
std::optional<api::Finding> networkHostKernelFinding(const probe::NetworkFacts& network,
                                                     api::IsolationLevel level);

}  // namespace zp::agent::verdict_detail
