#pragma once
// A report with every field set, for JSON tests.

#include "probe/report.h"

namespace zp::probe::testing {

inline Report fullReport() {
  Report r;
  r.probe_version = "0.1.0";
  r.kernel.boot_id = "68fac619-45be-4207-b7b2-bf86424f3d8a";
  r.kernel.sysname = "Linux";
  r.kernel.release = "4.4.0";
  r.kernel.version = "#1 SMP Sun Jan 10 15:06:54 PST 2016";
  r.kernel.machine = "x86_64";
  r.kernel.proc_version = "Linux version 4.4.0 #1 SMP Sun Jan 10 15:06:54 PST 2016";
  r.kernel.hypervisor_signs = {"/proc/cpuinfo: hypervisor flag"};
  r.kernel.application_kernel_signs = {"dmesg: Starting gVisor...",
                                       "/proc/version: gVisor's fixed version"};
  r.process.pid = 1;
  r.process.uid = 65534;
  r.process.gid = 65534;
  r.process.euid = 65534;
  r.process.egid = 65534;
  r.process.groups = {65534, 10};
  r.process.cap_inheritable = 0;
  r.process.cap_permitted = 0;
  r.process.cap_effective = 0xa80425fbull;
  r.process.cap_bounding = 0xffffffffffffffffull;  // the whole uint64 range survives
  r.process.cap_ambient = 0;
  r.process.seccomp = 2;
  r.process.no_new_privs = true;
  r.pids = PidFacts{"pause", "/pause --flag", 2};
  r.namespaces = {{"pid", "pid:[4026531836]"}, {"net", "net:[4026531833]"}};
  r.writable = WritableFacts{false, true, true, std::nullopt};
  r.masked_paths = {
      {"/proc/kcore", "masked"}, {"/proc/acpi", "absent"}, {"/sys/firmware", "readable"}};
  r.devices = {{"/dev/null", 'c', 1, 3}, {"/dev/vda", 'b', 254, 0}};
  r.runtime_sockets = {"/run/containerd/containerd.sock"};
  r.mounts = {{"/", "overlay", "overlay", "rw,relatime"}, {"/mnt dir\ttab", "tmpfs", "x", "ro"}};
  r.cgroup = CgroupFacts{2, "67108864", "10000 100000", "64"};
  r.network = NetworkFacts{{"lo", "eth0"}, true, "TCP_INFO ..."};
  r.connects = {{"10.77.0.1:9000", "refused", 3}, {"[::1]:1", "timeout", 1000}};
  r.unreadable = {"/proc/self/cgroup: Permission denied", "caf\xc3\xa9: \"quoted\""};
  return r;
}

}  // namespace zp::probe::testing
