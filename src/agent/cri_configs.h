#pragma once
// Pure translation of a workload into CRI sandbox/container configs, and of
// CRI listings back into identities. No I/O; unit-testable.
//
// This is the one place that states the posture every workload gets (see
// cri_configs.cc, read top to bottom): nothing here is configurable beyond
// what the workload's `security` object allows.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/pod_cgroups.h"
#include "agent/runtime.h"
#include "cri/client.h"

namespace zp::agent {

inline constexpr std::int64_t kCpuPeriodMicros = 100'000;  // CFS period: 100 ms

// The sandbox (pause) process runs as the workload's non-root user, else as
// this uid/gid (the kubelet's pause image's): it never needs root.
inline constexpr std::int64_t kSandboxUser = 65535;
// Set to "0" in the pod's own network namespace when the workload holds
// NET_BIND_SERVICE: a non-root process cannot use that capability without
// ambient capabilities, which CRI runtimes do not all support (containerd 1.6
// ignores add_ambient_capabilities); this sysctl gives the same right, scoped
// to the pod's network namespace.
inline constexpr std::string_view kUnprivilegedPortSysctl = "net.ipv4.ip_unprivileged_port_start";

// The capabilities the container gets, after dropping ALL: restricted, the
// spec's capabilities_add (at most NET_BIND_SERVICE); baseline,
// api::kBaselineCapabilities plus capabilities_add. Sorted, no duplicates,
// without the "CAP_" prefix.
std::vector<std::string> grantedCapabilities(const api::SecuritySpec& security);

// The sandbox config of a workload: metadata (name = id, namespace
// "zoneplane", uid, attempt), labels, the spec annotations (spec_annotation.h), log
// directory `log_directory`, the pod's placement (cgroup_parent) and a
// least-privilege Linux security context.
cri::v1::PodSandboxConfig sandboxConfig(const WorkloadIdentity& identity,
                                        const std::string& node_id,
                                        const std::string& log_directory,
                                        const PodPlacement& placement);

// The log file of container `attempt`, relative to the sandbox's log
// directory: "main.log" for the first, "main.<attempt>.log" after restarts.
std::string containerLogName(unsigned attempt);
// The attempt whose log `path` is (its file name made by containerLogName);
// nullopt for another name.
std::optional<unsigned> logAttempt(std::string_view path);

// The container config: image, command/args/env, resources (memory limit,
// CFS quota/period, shares; pids.max on cgroup v2) and the posture; metadata
// attempt `attempt`. Logs to "<log_directory>/<containerLogName(attempt)>".
cri::v1::ContainerConfig containerConfig(const WorkloadIdentity& identity,
                                         const std::string& node_id, const PodPlacement& placement,
                                         unsigned attempt = 0);

// The labels every workload object of this agent carries (used as the list
// filter too).
std::map<std::string, std::string> nodeLabels(const std::string& node_id);
// The labels that say who owns the identity's objects: nodeLabels() for a
// workload; for a probe (identity.probe) the node id and kLabelProbe = its
// class, and not kLabelManaged. Also the filter for the identity's objects.
std::map<std::string, std::string> ownerLabels(const WorkloadIdentity& identity,
                                               const std::string& node_id);

// Rebuilds the identity (the user included) from a listed sandbox; nullopt if
// its annotation, metadata or user labels are unreadable.
std::optional<WorkloadIdentity> identityFromSandbox(const cri::v1::PodSandbox& sandbox);

// CFS shares for a millicore request (kubelet's formula, at least 2).
std::int64_t cpuShares(std::int64_t millicores);

}  // namespace zp::agent
