#pragma once
// The probe's collectors, one per group of facts (docs/architecture.md §10.1);
// probe/collect.h puts them together. Each is best effort: what it cannot
// read it leaves empty and notes in `notes`; none throws or aborts, and each
// bounds what it reads and keeps.

#include <map>
#include <string>
#include <vector>

#include "probe/files.h"
#include "probe/parse.h"
#include "probe/report.h"

namespace zp::probe {

// Boot id, uname, /proc/version, hypervisor and application-kernel signs
// (collect_kernel.cc).
void collectKernel(KernelFacts& kernel, Notes& notes);

// /proc/self/ns/* links (collect_process.cc).
void collectNamespaces(std::map<std::string, std::string>& namespaces, Notes& notes);
// Identity, capabilities, seccomp, NoNewPrivs; PID 1 and the process count.
void collectProcess(ProcessFacts& process, PidFacts& pids, Notes& notes);

// The whole mount table of the calling process (at most kMaxMountInfoEntries).
inline constexpr std::size_t kMaxMountInfoEntries = 4096;
std::vector<MountInfoEntry> readMountTable(Notes& notes);
// The report's view of it: at most kMaxMounts, strings bounded (collect_mounts.cc).
std::vector<Mount> reportMounts(const std::vector<MountInfoEntry>& table, Notes& notes);
// Write-opens of /proc/sys and /sys files, and their mounts' ro flags.
void collectWritable(WritableFacts& writable, const std::vector<MountInfoEntry>& table,
                     Notes& notes);
// cgroup version and the memory, CPU and pids limits of the calling process.
void collectCgroup(CgroupFacts& cgroup, const std::vector<MountInfoEntry>& table, Notes& notes);

// The kubelet's masked paths (collect_paths.cc).
std::vector<MaskedPath> collectMaskedPaths(Notes& notes);
// Device nodes under /dev (at most kMaxDevices).
std::vector<Device> collectDevices(Notes& notes);
// Unix sockets at the known runtime paths and *.sock under /run and /var/run.
std::vector<std::string> collectRuntimeSockets(Notes& notes);

// Interfaces and who serves the sockets (collect_network.cc).
void collectNetwork(NetworkFacts& network, const KernelFacts& kernel, Notes& notes);

// Cuts the report until its JSON and a newline are at most kMaxReportBytes
// (the JSON at most kMaxReportBytes - 1): mounts from the end first, then
// devices, then unreadable entries; notes what it dropped (collect.cc).
void fitReport(Report& report);

}  // namespace zp::probe
