#pragma once
// The parts of the verdict (docs/architecture.md §10.2): the level from the
// kernel's identity, and the posture findings of §10.2's table. Pure
// functions; internal to the verdict (verdict.cc joins them), declared here
// for it and its tests.

#include <string_view>
#include <vector>

#include "api/isolation.h"
#include "probe/report.h"

namespace zp::agent::verdict_detail {

// Finding ids: §10.2's table.
inline constexpr std::string_view kHostKernelShared = "host-kernel-shared";
inline constexpr std::string_view kBootIdHidden = "boot-id-hidden";
inline constexpr std::string_view kClaimNotMet = "claim-not-met";
inline constexpr std::string_view kHostNamespace = "host-namespace";
inline constexpr std::string_view kHostCgroupNamespace = "host-cgroup-namespace";
inline constexpr std::string_view kCapabilities = "capabilities";
inline constexpr std::string_view kSeccompOff = "seccomp-off";
inline constexpr std::string_view kNoNewPrivsOff = "no-new-privs-off";
inline constexpr std::string_view kRunsAsRoot = "runs-as-root";
inline constexpr std::string_view kProcSysWritable = "proc-sys-writable";
inline constexpr std::string_view kSysWritable = "sys-writable";
inline constexpr std::string_view kProcUnmasked = "proc-unmasked";
inline constexpr std::string_view kHostDevices = "host-devices";
inline constexpr std::string_view kRuntimeSocket = "runtime-socket";
inline constexpr std::string_view kEndpointReachable = "endpoint-reachable";
inline constexpr std::string_view kNoMemoryLimit = "no-memory-limit";
inline constexpr std::string_view kNetworkHostKernel = "network-host-kernel";
// Posture facts (capabilities, seccomp, no_new_privs, uid, namespaces) that
// could not be read, so their findings could not be judged (medium).
inline constexpr std::string_view kPostureUnknown = "posture-unknown";
// Neither boot ids nor kernel strings could be compared: shared-kernel is
// assumed (medium).
inline constexpr std::string_view kKernelUnidentified = "kernel-unidentified";
// The host's own boot id is unknown, so a hypervisor cannot be told from an
// application kernel: another kernel counts as application-kernel (info).
inline constexpr std::string_view kHostBootIdUnknown = "host-boot-id-unknown";
// A boot id other than the host's over a kernel identity (uname release and
// version, or /proc/version) byte for byte the host's: the boot id is
// emulated or bind-mounted (LXCFS, sysbox), shared-kernel (medium).
inline constexpr std::string_view kBootIdMismatch = "boot-id-mismatch";
// A boot id of its own, but signs of an application kernel (gVisor releases
// that show a random boot id): application-kernel, not hypervisor (info).
inline constexpr std::string_view kApplicationKernelSigns = "application-kernel-signs";

// The verified level and the findings that explain it. Never kUnverified;
// when the evidence proves no level, shared-kernel (the weakest) with
// kKernelUnidentified.
struct LevelVerdict {
  api::IsolationLevel level = api::IsolationLevel::kSharedKernel;
  std::vector<api::Finding> findings;
};
LevelVerdict verifyLevel(const probe::Report& seen, const probe::Report& host);

// The findings of §10.2's table that judge the posture (all but the level's
// own and claim-not-met) for a workload verified at `level`, unsorted.
std::vector<api::Finding> postureFindings(const probe::Report& seen, const probe::Report& host,
                                          api::IsolationLevel level);

// A finding with its evidence and remedy bounded.
api::Finding makeFinding(std::string_view id, api::Severity severity, std::string evidence,
                         std::string remedy);

}  // namespace zp::agent::verdict_detail
