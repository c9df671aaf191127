// §10.2's findings about what the workload can reach.

#include "agent/isolation/exposure_findings.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "agent/isolation/verdict_text.h"

namespace zp::agent::verdict_detail {
namespace {

using api::IsolationLevel;
using api::Severity;

// At most this many paths, devices, sockets or targets are named; the rest
// are counted.
constexpr std::size_t kMaxListed = 12;

std::string mountFlag(const std::optional<bool>& read_only) {
  if (!read_only) return "unknown";
  return *read_only ? "ro" : "rw";
}

// A write-open that succeeded: high on the host's kernel, medium on a kernel
// of its own (its settings only). A read-write mount whose write-open failed:
// medium on the host's kernel only. The probe runs as an unprivileged user
// without capabilities, so its write-open fails on a read-write mount all
// the same; a workload that runs as root or holds capabilities would not
// fail, and only the mount's read-only flag stops it. Under another kernel
// the tree is that kernel's (gVisor mounts /proc read-write and serves its
// own sysctls): nothing of the host's to reach.
std::optional<api::Finding> writableFinding(std::string_view id, std::string_view tree,
                                            bool write_open, const std::optional<bool>& mount_ro,
                                            IsolationLevel level) {
  const bool shared = level == IsolationLevel::kSharedKernel;
  const std::string remedy =
      "mount " + std::string(tree) + " read-only (the kubelet's read-only paths); never privileged";
  if (write_open) {
    return makeFinding(id, shared ? Severity::kHigh : Severity::kMedium,
                       "a write-open of a file under " + std::string(tree) + " succeeded (mount " +
                           mountFlag(mount_ro) + "): the workload can change " +
                           (shared ? "the host kernel's settings" : "its kernel's settings"),
                       remedy);
  }
  if (!shared || !mount_ro || *mount_ro) return std::nullopt;
  return makeFinding(id, Severity::kMedium,
                     "the mount of " + std::string(tree) +
                         " is read-write; the probe's write-open failed (it runs without "
                         "capabilities), a workload running as root or with capabilities could "
                         "change the host kernel's settings",
                     remedy);
}

struct StandardDevice {
  std::string_view path;
  unsigned major, minor;
};
// A workload's /dev as the OCI runtimes create it, with Linux's numbers.
constexpr std::array<StandardDevice, 9> kStandardDevices = {{{"/dev/null", 1, 3},
                                                             {"/dev/zero", 1, 5},
                                                             {"/dev/full", 1, 7},
                                                             {"/dev/random", 1, 8},
                                                             {"/dev/urandom", 1, 9},
                                                             {"/dev/tty", 5, 0},
                                                             {"/dev/console", 5, 1},
                                                             {"/dev/ptmx", 5, 2},
                                                             {"/dev/pts/ptmx", 5, 2}}};
// Devices an application kernel implements itself (gVisor's netstack tun and
// its FUSE): not the host's.
constexpr std::array<StandardDevice, 2> kApplicationKernelDevices = {
    {{"/dev/net/tun", 10, 200}, {"/dev/fuse", 10, 229}}};

bool isPtyReplica(unsigned major) { return major >= 136 && major <= 143; }

bool isStdio(std::string_view path) {
  return path == "/dev/stdin" || path == "/dev/stdout" || path == "/dev/stderr" ||
         path.starts_with("/dev/fd/");
}

bool isStandardDevice(const probe::Device& d, IsolationLevel level) {
  if (d.type != 'c') return false;
  std::string_view path = trim(d.path);
  auto matches = [&](const StandardDevice& s) {
    return path == s.path && d.major == s.major && d.minor == s.minor;
  };
  if (std::ranges::any_of(kStandardDevices, matches)) return true;
  if (level == IsolationLevel::kApplicationKernel &&
      std::ranges::any_of(kApplicationKernelDevices, matches)) {
    return true;
  }
  // A terminal's pty bound at /dev/console, the pty replicas, and stdio
  // followed to the null device or a pty.
  if ((path == "/dev/console" || path.starts_with("/dev/pts/")) && isPtyReplica(d.major)) {
    return true;
  }
  return isStdio(path) && ((d.major == 1 && d.minor == 3) || isPtyReplica(d.major));
}

std::string deviceText(const probe::Device& d) {
  std::string type = d.type == 'b' ? "b" : d.type == 'c' ? "c" : "?";
  return printable(trim(d.path), 96) + " (" + type + " " + std::to_string(d.major) + ":" +
         std::to_string(d.minor) + ")";
}

// A limit is a number of bytes below 2^62 (4 EiB): cgroup v1 reports "no
// limit" as the largest page-aligned int64, v2 as "max". Anything else (empty,
// -1, not a number) is no visible limit.
bool isUnlimited(std::string_view limit) {
  limit = trim(limit);
  std::uint64_t bytes = 0;
  auto [end, error] = std::from_chars(limit.data(), limit.data() + limit.size(), bytes);
  if (limit.empty() || error != std::errc() || end != limit.data() + limit.size()) return true;
  return bytes >= (std::uint64_t{1} << 62);
}

// The raw values sorted and without repeats, then each made printable and
// cut to `max_value`, joined: what is listed is deterministic, and distinct
// values stay counted apart even when their cut forms look alike.
std::string listed(std::vector<std::string> raw, std::size_t max_value) {
  std::ranges::sort(raw);
  auto [first, last] = std::ranges::unique(raw);
  raw.erase(first, last);
  std::vector<std::string> shown;
  shown.reserve(raw.size());
  for (const auto& value : raw) shown.push_back(printable(value, max_value));
  return joinList(shown, kMaxListed);
}

}  // namespace

std::optional<api::Finding> procSysWritableFinding(const probe::WritableFacts& writable,
                                                   IsolationLevel level) {
  return writableFinding(kProcSysWritable, "/proc/sys", writable.proc_sys_writable,
                         writable.proc_sys_mount_ro, level);
}

std::optional<api::Finding> sysWritableFinding(const probe::WritableFacts& writable,
                                               IsolationLevel level) {
  return writableFinding(kSysWritable, "/sys", writable.sys_writable, writable.sys_mount_ro, level);
}

std::optional<api::Finding> procUnmaskedFinding(const probe::Report& seen, IsolationLevel level) {
  std::vector<std::string> readable;
  for (const auto& masked : seen.masked_paths) {
    if (normalized(masked.state) == "readable") readable.emplace_back(trim(masked.path));
  }
  if (readable.empty()) return std::nullopt;
  return makeFinding(kProcUnmasked,
                     level == IsolationLevel::kSharedKernel ? Severity::kMedium : Severity::kLow,
                     "masked paths readable: " + listed(std::move(readable), 96),
                     "mask the path (the kubelet's default masked paths: /dev/null bound over a "
                     "file, an empty read-only tmpfs over a directory); never privileged");
}

std::optional<api::Finding> hostDevicesFinding(const probe::Report& seen, IsolationLevel level) {
  std::vector<probe::Device> found;
  for (const auto& device : seen.devices) {
    if (!isStandardDevice(device, level)) found.push_back(device);
  }
  if (found.empty()) return std::nullopt;
  auto key = [](const probe::Device& d) { return std::tie(d.path, d.type, d.major, d.minor); };
  std::ranges::sort(found, {}, key);
  auto [first, last] = std::ranges::unique(found, {}, key);
  found.erase(first, last);
  std::vector<std::string> texts;
  for (const auto& device : found) texts.push_back(deviceText(device));
  return makeFinding(kHostDevices, Severity::kHigh,
                     "device nodes beyond a workload's standard /dev: " +
                         joinList(texts, kMaxListed),
                     "remove the devices from the container: no device mounts or passthrough, "
                     "never privileged; a workload's /dev holds only null, zero, full, random, "
                     "urandom, tty, ptmx and pts");
}

std::optional<api::Finding> runtimeSocketFinding(const probe::Report& seen) {
  std::vector<std::string> sockets;
  for (const auto& socket : seen.runtime_sockets) {
    if (!trim(socket).empty()) sockets.emplace_back(trim(socket));
  }
  if (sockets.empty()) return std::nullopt;
  return makeFinding(kRuntimeSocket, Severity::kHigh,
                     "container-runtime sockets visible: " +
                         listed(std::move(sockets), 96) +
                         "; whoever reaches one can start privileged containers on the node",
                     "do not mount the runtime socket (or /run, /var/run) into pods");
}

std::optional<api::Finding> endpointReachableFinding(const probe::Report& seen) {
  std::vector<std::string> targets;
  for (const auto& connect : seen.connects) {
    if (normalized(connect.result) == "connected") {
      targets.emplace_back(trim(connect.target));
    }
  }
  if (targets.empty()) return std::nullopt;
  return makeFinding(kEndpointReachable, Severity::kMedium,
                     "the workload connected to " +
                         listed(std::move(targets), 64),
                     "bind the agent (and the server) to an address pods cannot reach, or "
                     "firewall it from the pod network");
}

std::optional<api::Finding> noMemoryLimitFinding(const probe::CgroupFacts& cgroup,
                                                 IsolationLevel level) {
  if (!isUnlimited(cgroup.memory_limit)) return std::nullopt;
  // Another kernel (gVisor, a VM) shows no cgroup tree at all: its memory is
  // bounded from outside (gVisor's sandbox cgroup, the VM's size), which the
  // workload cannot see. Only a visible tree without a limit counts there.
  if (level != IsolationLevel::kSharedKernel && cgroup.version == 0) return std::nullopt;
  std::string seen = trim(cgroup.memory_limit).empty()
                         ? "no memory limit found"
                         : "memory limit " + quote(trim(cgroup.memory_limit), 32);
  return makeFinding(kNoMemoryLimit, Severity::kLow,
                     seen + (cgroup.version > 0 ? " (cgroup v" + std::to_string(cgroup.version) + ")"
                                                : std::string(" (cgroup version unknown)")),
                     "set a memory limit on the workload and make sure the runtime applies it");
}

std::optional<api::Finding> networkHostKernelFinding(const probe::NetworkFacts& network,
                                                     IsolationLevel level) {
  if (level != IsolationLevel::kApplicationKernel || !network.host_network_stack ||
      !*network.host_network_stack) {
    return std::nullopt;
  }
  std::string evidence = "the workload's sockets are served by the host kernel's network stack";
  if (!trim(network.host_network_evidence).empty()) {
    evidence += ": " + quote(trim(network.host_network_evidence), 256);
  }
  return makeFinding(kNetworkHostKernel, Severity::kMedium, std::move(evidence),
                     "use the application kernel's own network stack (gVisor: "
                     "--network=sandbox, not --network=host)");
}

}  // namespace zp::agent::verdict_detail
