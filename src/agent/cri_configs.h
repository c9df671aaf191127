#pragma once
// Pure translation of a workload into CRI sandbox/container configs, and of
// CRI listings back into identities. No I/O; unit-testable.

#include <map>
#include <string>

#include "agent/runtime.h"
#include "cri/client.h"

namespace zp::agent {

inline constexpr std::int64_t kCpuPeriodMicros = 100'000;  // CFS period: 100 ms

// The sandbox config of a workload: metadata (name = id, namespace
// "zoneplane", uid, attempt), labels, the spec annotations (spec_annotation.h), log directory
// `log_directory`, and a least-privilege Linux security context.
cri::v1::PodSandboxConfig sandboxConfig(const WorkloadIdentity& identity, const std::string& node_id,
                                        const std::string& log_directory);

// The container config: image, command/args/env, resources (memory limit,
// CFS quota/period, shares), no_new_privs, RuntimeDefault seccomp, never
// privileged, pod namespaces only. Logs to "<log_directory>/main.log".
cri::v1::ContainerConfig containerConfig(const WorkloadIdentity& identity,
                                         const std::string& node_id);

// The labels every object of this agent carries (used as the list filter too).
std::map<std::string, std::string> nodeLabels(const std::string& node_id);

// Rebuilds the identity from a listed sandbox; nullopt if its annotation or
// metadata is unreadable.
std::optional<WorkloadIdentity> identityFromSandbox(const cri::v1::PodSandbox& sandbox);

// CFS shares for a millicore request (kubelet's formula, at least 2).
std::int64_t cpuShares(std::int64_t millicores);

}  // namespace zp::agent
