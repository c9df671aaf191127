#pragma once
// Probe reports as runc, gVisor and a VM show them, for the verdict's tests.
// Each workload report has the project's full posture (§5); a test changes
// the one fact it is about.

#include <cstdint>
#include <string_view>

#include "api/isolation.h"
#include "probe/report.h"

namespace zp::agent::testing {

inline constexpr const char* kHostBootId = "3f1c0a9e-5b2d-4c8e-9a7f-1b2c3d4e5f60";
inline constexpr const char* kHostRelease = "6.1.0-18-amd64";
inline constexpr const char* kHostVersion = "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)";
inline constexpr const char* kHostProcVersion =
    "Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) "
    "12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 "
    "(2024-02-01)";
inline constexpr const char* kGvisorRelease = "4.4.0";
inline constexpr const char* kGvisorVersion = "#1 SMP Sun Jan 10 15:06:54 PST 2016";
inline constexpr const char* kGvisorProcVersion =
    "Linux version 4.4.0 #1 SMP Sun Jan 10 15:06:54 PST 2016";

// The agent's own facts: kernel identity and namespaces.
inline probe::Report hostFacts() {
  probe::Report r;
  r.probe_version = "0.1.0";
  r.kernel.boot_id = kHostBootId;
  r.kernel.sysname = "Linux";
  r.kernel.release = kHostRelease;
  r.kernel.version = kHostVersion;
  r.kernel.machine = "x86_64";
  r.kernel.proc_version = kHostProcVersion;
  r.namespaces = {{"pid", "pid:[4026531836]"}, {"net", "net:[4026531840]"},
                  {"ipc", "ipc:[4026531839]"}, {"uts", "uts:[4026531838]"},
                  {"mnt", "mnt:[4026531841]"}, {"cgroup", "cgroup:[4026531835]"},
                  {"user", "user:[4026531837]"}};
  return r;
}

// The posture every workload gets, seen from inside (kernel left empty).
inline probe::Report fullPosture() {
  probe::Report r;
  r.probe_version = "0.1.0";
  r.process.pid = 1;
  r.process.uid = r.process.euid = 65534;
  r.process.gid = r.process.egid = 65534;
  r.process.cap_inheritable = r.process.cap_permitted = r.process.cap_effective =
      r.process.cap_bounding = r.process.cap_ambient = std::uint64_t{0};
  r.process.seccomp = 2;
  r.process.no_new_privs = true;
  r.pids = {"zoneplane-probe", "/zoneplane-probe --connect 10.0.0.5:9100", 1};
  r.writable = {false, false, true, true};
  for (const char* path : {"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                           "/proc/timer_list", "/proc/sched_debug", "/sys/firmware"}) {
    r.masked_paths.push_back({path, "masked"});
  }
  r.masked_paths.push_back({"/proc/scsi", "absent"});
  r.devices = {{"/dev/full", 'c', 1, 7},    {"/dev/null", 'c', 1, 3},
               {"/dev/random", 'c', 1, 8},  {"/dev/tty", 'c', 5, 0},
               {"/dev/urandom", 'c', 1, 9}, {"/dev/zero", 'c', 1, 5},
               {"/dev/ptmx", 'c', 5, 2},    {"/dev/pts/ptmx", 'c', 5, 2}};
  r.mounts = {{"/", "overlay", "overlay", "ro,relatime"},
              {"/proc/sys", "proc", "proc", "ro,nosuid,nodev,noexec,relatime"}};
  r.cgroup = {2, "67108864", "10000 100000", "64"};
  r.network.interfaces = {"lo", "eth0"};
  r.network.host_network_stack = false;
  r.connects = {{"10.0.0.5:9100", "refused", 1}};
  return r;
}

// runc: the host's kernel and boot id, namespaces of its own.
inline probe::Report runcProbe() {
  probe::Report r = fullPosture();
  probe::Report host = hostFacts();
  r.kernel = host.kernel;
  r.namespaces = {{"pid", "pid:[4026532301]"}, {"net", "net:[4026532224]"},
                  {"ipc", "ipc:[4026532300]"}, {"uts", "uts:[4026532299]"},
                  {"mnt", "mnt:[4026532298]"}, {"cgroup", "cgroup:[4026532302]"},
                  {"user", "user:[4026531837]"}};
  return r;
}

// gVisor (runsc): no boot id, its fixed kernel identity, its own namespaces.
inline probe::Report gvisorProbe() {
  probe::Report r = fullPosture();
  r.kernel.sysname = "Linux";
  r.kernel.release = kGvisorRelease;
  r.kernel.version = kGvisorVersion;
  r.kernel.machine = "x86_64";
  r.kernel.proc_version = kGvisorProcVersion;
  r.kernel.application_kernel_signs = {"/proc/version: gVisor-like fixed version",
                                       "dmesg: Starting gVisor..."};
  r.namespaces = {{"pid", "pid:[1]"}, {"net", "net:[2]"}, {"ipc", "ipc:[3]"},
                  {"uts", "uts:[4]"}, {"mnt", "mnt:[5]"}, {"cgroup", "cgroup:[6]"}};
  return r;
}

// A VM (Edera Protect, Kata): its own kernel, booted apart.
inline probe::Report vmProbe() {
  probe::Report r = runcProbe();
  r.kernel.boot_id = "9b2e4f10-77aa-4d3e-8c21-0f9e8d7c6b5a";
  r.kernel.release = "6.6.30-zone";
  r.kernel.version = "#1 SMP PREEMPT_DYNAMIC Thu May  2 10:00:00 UTC 2024";
  r.kernel.proc_version = "Linux version 6.6.30-zone (builder@zone) #1 SMP PREEMPT_DYNAMIC";
  r.kernel.hypervisor_signs = {"/proc/cpuinfo: hypervisor flag", "/sys/class/dmi/id/sys_vendor: Xen"};
  // The guest's namespace inodes happen to be the host's numbers: another
  // kernel's numbers mean nothing.
  r.namespaces = hostFacts().namespaces;
  return r;
}

// The finding `id` of `c`, or nullptr.
inline const api::Finding* find(const api::ClassIsolation& c, std::string_view id) {
  for (const auto& f : c.findings) {
    if (f.id == id) return &f;
  }
  return nullptr;
}

}  // namespace zp::agent::testing
