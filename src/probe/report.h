#pragma once
// What zoneplane-probe reports (docs/architecture.md §10.1): facts seen from
// inside a workload, no judgement. The agent collects the kernel and
// namespace parts of the same report about itself (the host's facts) and
// compares the two (agent/isolation/verdict.h). Plain values; the collectors
// (probe/collect.h) fill them, probe/report_json.h encodes and decodes them.
//
// Every collector is best effort: what cannot be read is left empty/nullopt
// and, when the failure itself says something (EACCES, ENOENT), noted in
// `unreadable` as "<path>: <why>". A report's line, its JSON and the newline
// that ends it, is at most kMaxReportBytes.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace zp::probe {

// The report's format; a decoder refuses another.
inline constexpr int kReportFormat = 1;
inline constexpr std::size_t kMaxReportBytes = 256 * 1024;
inline constexpr std::size_t kMaxMounts = 256;
inline constexpr std::size_t kMaxDevices = 256;
inline constexpr std::size_t kMaxSockets = 64;
inline constexpr std::size_t kMaxTargets = 16;
// Bounds of the other lists and of every string (the decoder refuses more).
inline constexpr std::size_t kMaxTextBytes = 4096;
inline constexpr std::size_t kMaxUnreadable = 128;
inline constexpr std::size_t kMaxMaskedPaths = 32;
inline constexpr std::size_t kMaxSigns = 16;
inline constexpr std::size_t kMaxNamespaces = 16;
inline constexpr std::size_t kMaxInterfaces = 64;
inline constexpr std::size_t kMaxGroups = 256;

struct KernelFacts {
  std::optional<std::string> boot_id;  // /proc/sys/kernel/random/boot_id, trimmed
  std::string sysname, release, version, machine;  // uname(2)
  std::string proc_version;                        // /proc/version, trimmed
  // Signs of what serves the system calls, each a short "source: text":
  // "/proc/cpuinfo: hypervisor flag", "/sys/class/dmi/id/sys_vendor: QEMU",
  // "/proc/version: gVisor-like fixed version", "dmesg: Starting gVisor..." ...
  std::vector<std::string> hypervisor_signs;
  std::vector<std::string> application_kernel_signs;
};

struct ProcessFacts {
  std::int64_t pid = 0;  // getpid() as seen inside
  std::int64_t uid = -1, gid = -1, euid = -1, egid = -1;
  std::vector<std::int64_t> groups;  // supplementary
  // From /proc/self/status (hex masks as numbers).
  std::optional<std::uint64_t> cap_inheritable, cap_permitted, cap_effective, cap_bounding,
      cap_ambient;
  std::optional<int> seccomp;         // 0 disabled, 1 strict, 2 filter
  std::optional<bool> no_new_privs;
};

// PID 1 and the process table as seen inside.
struct PidFacts {
  std::string pid1_comm;          // /proc/1/comm
  std::string pid1_cmdline;       // /proc/1/cmdline, NULs as spaces, at most 256 bytes
  int visible_processes = 0;      // numeric entries of /proc
};

// Writability of kernel interfaces: a write-open (never a write) of a
// harmless file, and the mount's read-only flag.
struct WritableFacts {
  bool proc_sys_writable = false;  // open(O_WRONLY) of a /proc/sys file succeeded
  bool sys_writable = false;       // same under /sys
  std::optional<bool> proc_sys_mount_ro;
  std::optional<bool> sys_mount_ro;
};

// One of the kubelet's masked /proc and /sys paths: "masked" (absent, empty,
// /dev/null or an empty tmpfs) or "readable" (content could be read).
struct MaskedPath {
  std::string path;
  std::string state;  // "masked", "readable", "absent"
};

struct Mount {
  std::string mount_point, fs_type, source, options;  // from /proc/self/mountinfo
};

struct Device {
  std::string path;  // "/dev/kvm"
  char type = 'c';   // 'c' or 'b'
  unsigned major = 0, minor = 0;
};

// cgroup limits as read inside ("max" = none); empty when not found.
struct CgroupFacts {
  int version = 0;  // 1 or 2, 0 unknown
  std::string memory_limit;     // bytes or "max"
  std::string cpu_limit;        // v2 cpu.max "quota period", v1 "quota period"
  std::string pids_limit;       // "N" or "max"
};

// A bounded TCP connect to an address the agent gave.
struct ConnectResult {
  std::string target;   // "HOST:PORT" as given (numeric host only)
  std::string result;   // "connected", "refused", "timeout", "unreachable", "error: ..."
  std::int64_t elapsed_ms = 0;
};

// Who serves the workload's network. Inside an application kernel the
// sockets may be its own stack or passed to the host kernel's stack of the
// pod's network namespace (gVisor --network=host); the probe tells them apart
// by what it can observe (collect_network.cc documents how).
struct NetworkFacts {
  std::vector<std::string> interfaces;          // names, from /proc/net/dev or /sys/class/net
  std::optional<bool> host_network_stack;       // nullopt: cannot tell, or no application kernel
  std::string host_network_evidence;            // what decided it
};

struct Report {
  int format = kReportFormat;
  std::string probe_version;  // zoneplane version of the probe binary
  KernelFacts kernel;
  ProcessFacts process;
  PidFacts pids;
  // Namespace links of the probe's own process: "pid" -> "pid:[4026531836]".
  std::map<std::string, std::string> namespaces;
  WritableFacts writable;
  std::vector<MaskedPath> masked_paths;
  std::vector<Device> devices;             // /dev entries that are device nodes
  std::vector<std::string> runtime_sockets;  // unix sockets found at known runtime paths
  std::vector<Mount> mounts;
  CgroupFacts cgroup;
  NetworkFacts network;
  std::vector<ConnectResult> connects;
  std::vector<std::string> unreadable;  // "<path>: <why>"
};

}  // namespace zp::probe
