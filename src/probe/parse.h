#pragma once
// Pure parsers of the kernel's text files the probe reads (docs/architecture.md
// §10.1). No I/O: each takes the recorded text and returns plain values, so
// every one is tested against snippets recorded on real hosts, inside runc and
// inside gVisor. Malformed lines are skipped, never fatal.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "probe/report.h"

namespace zp::probe {

// --- /proc/self/status --------------------------------------------------------

// The identity and privilege lines of /proc/self/status. Fields whose line is
// missing or malformed stay -1 / empty / nullopt.
struct ProcStatus {
  std::int64_t uid = -1, euid = -1, gid = -1, egid = -1;
  std::vector<std::int64_t> groups;  // at most kMaxGroups (probe/report.h)
  std::optional<std::uint64_t> cap_inheritable, cap_permitted, cap_effective, cap_bounding,
      cap_ambient;
  std::optional<int> seccomp;
  std::optional<bool> no_new_privs;
};
ProcStatus parseProcStatus(std::string_view text);

// --- /proc/self/mountinfo -----------------------------------------------------

// One mountinfo line, fully: the report keeps a subset (probe::Mount).
struct MountInfoEntry {
  std::string root;           // field 4: the mounted directory within its filesystem
  std::string mount_point;    // field 5, unescaped
  std::string mount_options;  // field 6: per-mount options ("ro,nosuid,...")
  std::string fs_type;
  std::string source;
  std::string super_options;
};
// Parses at most `max_entries` lines (the rest are counted in *skipped when given).
std::vector<MountInfoEntry> parseMountInfo(std::string_view text, std::size_t max_entries,
                                           std::size_t* skipped = nullptr);
// Undoes the kernel's octal escapes in mountinfo fields ("\040" space, "\011"
// tab, "\012" newline, "\134" backslash); other text is kept as is.
std::string unescapeMountField(std::string_view field);
// The entry whose mount point contains `path` most closely (the longest
// matching mount point; the later of equal ones, as later mounts cover earlier
// ones); nullptr when none does.
const MountInfoEntry* mountContaining(const std::vector<MountInfoEntry>& mounts,
                                      std::string_view path);
// True if the comma-separated `options` holds `option` exactly.
bool hasMountOption(std::string_view options, std::string_view option);

// --- cgroups ------------------------------------------------------------------

// One line of /proc/self/cgroup: "ID:CONTROLLERS:PATH" (v2: "0::PATH").
struct CgroupLine {
  std::string hierarchy_id;
  std::vector<std::string> controllers;  // empty for v2
  std::string path;
};
std::vector<CgroupLine> parseProcCgroup(std::string_view text);
// 2 when the only hierarchy is the unified one, 1 when v1 controllers exist,
// 0 when the text names none.
int cgroupVersion(const std::vector<CgroupLine>& lines);
// The directory of a cgroup `path` (from /proc/self/cgroup) below a cgroup
// mount of `mount_root` (mountinfo field 4) at `mount_point`: the path relative
// to the mount's root, joined to the mount point; the mount point itself when
// the path lies outside the root (a cgroup namespace shows "/").
std::string cgroupDirectory(std::string_view mount_point, std::string_view mount_root,
                            std::string_view path);

// Normalised limits: "max" for no limit, else the number as text; nullopt for
// text that is not a limit.
// v1 memory.limit_in_bytes: values of 2^62 and above mean no limit.
std::optional<std::string> normalizeMemoryLimitV1(std::string_view text);
// v2 memory.max, pids.max (v1 and v2): "max" or a number.
std::optional<std::string> normalizeMaxOrNumber(std::string_view text);
// v2 cpu.max "QUOTA PERIOD" (QUOTA may be "max").
std::optional<std::string> normalizeCpuMaxV2(std::string_view text);
// v1 cpu.cfs_quota_us (-1 = none) and cpu.cfs_period_us: "QUOTA PERIOD" or "max PERIOD".
std::optional<std::string> normalizeCpuV1(std::string_view quota, std::string_view period);

// --- kernel identity ----------------------------------------------------------

// True if a "flags" line of /proc/cpuinfo lists "hypervisor".
bool cpuinfoHasHypervisorFlag(std::string_view cpuinfo);
// DMI sys_vendor / product_name values that name a virtual machine ("QEMU",
// "KVM", "VMware", "Xen", "Microsoft Corporation" + "Virtual Machine", ...);
// the matched name or nullopt.
std::optional<std::string> virtualMachineDmiName(std::string_view sys_vendor,
                                                 std::string_view product_name);

// gVisor presents a fixed kernel (pkg/sentry/kernel/version.go upstream): the
// same release and version whatever the host runs, in uname(2) and in
// /proc/version ("Linux version 4.4.0 #1 SMP Sun Jan 10 15:06:54 PST 2016").
inline constexpr std::string_view kGvisorRelease = "4.4.0";
inline constexpr std::string_view kGvisorVersion = "#1 SMP Sun Jan 10 15:06:54 PST 2016";
// Both compare after trim(), byte for byte otherwise.
bool isGvisorKernelIdentity(std::string_view release, std::string_view version);
bool isGvisorProcVersion(std::string_view proc_version);
// The first kernel log line that names gVisor, without its level and time
// stamp ("Starting gVisor..."); nullopt when none does.
std::optional<std::string> gvisorLogLine(std::string_view kernel_log);

// --- network ------------------------------------------------------------------

// TCP_INFO of a new, unconnected TCP socket (collect_network.cc explains).
struct TcpInfoSample {
  int error = 0;  // errno of socket() or getsockopt(); 0 when read
  std::uint32_t rto_us = 0, snd_cwnd = 0, snd_mss = 0;
};
struct NetworkStackDecision {
  std::optional<bool> host_network_stack;
  std::string evidence;
};
// Who serves the sockets, from what the socket showed and whether an
// application kernel serves the other system calls.
NetworkStackDecision decideNetworkStack(bool application_kernel, const TcpInfoSample& sample);

// --- small helpers ------------------------------------------------------------

// Removes leading and trailing ASCII whitespace (and NULs).
std::string_view trim(std::string_view text);
// `text` as a whole decimal integer (an optional sign, nothing around it),
// or nullopt.
std::optional<std::int64_t> decimal(std::string_view text);
// trim(text) in lower case (ASCII), inner runs of whitespace as one space: a
// form in which kernel strings and boot ids compare without case or spacing.
std::string normalized(std::string_view text);
// Cuts `text` to at most `max` bytes without splitting a UTF-8 sequence, and
// replaces bytes that are not printable ASCII or valid UTF-8 (ASCII control
// characters included) with '?', so the result is always valid for JSON and
// safe to show on a terminal.
std::string sanitizeText(std::string_view text, std::size_t max);
// /proc/PID/cmdline: NUL separators as spaces, trailing NULs dropped, at most
// `max` bytes.
std::string cmdlineText(std::string_view raw, std::size_t max);
// Interface names of /proc/net/dev (the names before ':' after the two header
// lines), at most `max`.
std::vector<std::string> parseProcNetDev(std::string_view text, std::size_t max);

}  // namespace zp::probe
