#pragma once
// §10.2's findings about the probe's own process (docs/architecture.md
// §10.2): host namespaces, capabilities, seccomp, no_new_privs, root. Each
// is nullopt when its condition does not hold or its facts are unknown.
// Pure; internal to the verdict.

#include <optional>

#include "agent/isolation/verdict_parts.h"

namespace zp::agent::verdict_detail {

// Shared kernel only: the probe's pid, net, ipc, uts, mnt or cgroup
// namespace is the host's (the agent's).
std::optional<api::Finding> hostNamespaceFinding(const probe::Report& seen,
                                                 const probe::Report& host,
                                                 api::IsolationLevel level);
// The host's cgroup namespace on a shared kernel (low: paths, not limits).
std::optional<api::Finding> hostCgroupNamespaceFinding(const probe::Report& seen,
                                                       const probe::Report& host,
                                                       api::IsolationLevel level);
// Held (effective, permitted or ambient) admin-class capabilities: high;
// other held capabilities: medium; only a non-empty bounding set: low.
std::optional<api::Finding> capabilitiesFinding(const probe::ProcessFacts& process);
std::optional<api::Finding> seccompFinding(const probe::ProcessFacts& process,
                                           api::IsolationLevel level);
std::optional<api::Finding> noNewPrivsFinding(const probe::ProcessFacts& process,
                                              api::IsolationLevel level);
std::optional<api::Finding> runsAsRootFinding(const probe::ProcessFacts& process,
                                              api::IsolationLevel level);

// Facts the findings above rest on that could not be read (medium): the
// whole of /proc/self/status, or its capability (CapPrm, CapEff, CapBnd,
// CapAmb), Seccomp or NoNewPrivs line, the uid; on a shared kernel the pid,
// net or mnt namespace link of the workload or of the host. An application
// kernel's missing CapAmb and NoNewPrivs lines (gVisor writes neither) do not
// count.
std::optional<api::Finding> postureUnknownFinding(const probe::Report& seen,
                                                  const probe::Report& host,
                                                  api::IsolationLevel level);

}  // namespace zp::agent::verdict_detail
