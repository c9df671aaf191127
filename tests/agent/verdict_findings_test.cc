// §10.2's findings one by one: each condition triggers its finding with the
// right severity and quoted evidence, and its absence does not.

#include <gtest/gtest.h>

#include "agent/isolation/verdict.h"
#include "agent/isolation/verdict_text.h"
#include "verdict_reports.h"

namespace zp::agent {
namespace {

using api::IsolationLevel;
using api::Severity;
using namespace testing;
namespace vd = verdict_detail;

std::optional<api::Finding> findingOf(const probe::Report& seen, std::string_view id) {
  auto c = judge("class", seen, hostFacts(), std::nullopt);
  for (const auto& f : c.findings) {
    if (f.id == id) return f;
  }
  return std::nullopt;
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST(VerdictFindingsTest, HostNamespaceOnASharedKernelOnly) {
  auto seen = runcProbe();
  EXPECT_FALSE(findingOf(seen, "host-namespace"));
  seen.namespaces["net"] = "net:[4026531840]";
  seen.namespaces["pid"] = "pid:[4026531836]\n";
  auto f = findingOf(seen, "host-namespace");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->severity, Severity::kHigh);
  EXPECT_TRUE(contains(f->evidence, "net \"net:[4026531840]\""));
  EXPECT_TRUE(contains(f->evidence, "pid \"pid:[4026531836]\""));
  EXPECT_FALSE(contains(f->evidence, "ipc"));
  // The user namespace is not one of the six.
  seen = runcProbe();
  seen.namespaces["user"] = hostFacts().namespaces["user"];
  EXPECT_FALSE(findingOf(seen, "host-namespace"));
  // Another kernel: equal numbers mean nothing.
  auto gvisor = gvisorProbe();
  gvisor.namespaces = hostFacts().namespaces;
  EXPECT_FALSE(findingOf(gvisor, "host-namespace"));
  // A namespace missing on one side is not compared.
  seen = runcProbe();
  seen.namespaces.erase("net");
  EXPECT_FALSE(findingOf(seen, "host-namespace"));
}

TEST(VerdictFindingsTest, TheHostCgroupNamespaceIsLowAndApart) {
  // containerd on a cgroup v1 host gives containers no cgroup namespace.
  auto seen = runcProbe();
  seen.namespaces["cgroup"] = hostFacts().namespaces["cgroup"];
  EXPECT_FALSE(findingOf(seen, "host-namespace"));
  auto f = findingOf(seen, "host-cgroup-namespace");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->severity, Severity::kLow);
  EXPECT_TRUE(contains(f->evidence, "cgroup"));
  EXPECT_EQ(judge("native", seen, hostFacts(), std::nullopt).score, 47);
  auto gvisor = gvisorProbe();
  gvisor.namespaces = hostFacts().namespaces;
  EXPECT_FALSE(findingOf(gvisor, "host-cgroup-namespace"));
}

TEST(VerdictFindingsTest, CapabilitiesBySeverity) {
  auto seen = runcProbe();
  EXPECT_FALSE(findingOf(seen, "capabilities"));

  seen.process.cap_effective = (std::uint64_t{1} << 21) | (std::uint64_t{1} << 10);
  seen.process.cap_bounding = seen.process.cap_effective;
  auto admin = findingOf(seen, "capabilities");
  ASSERT_TRUE(admin);
  EXPECT_EQ(admin->severity, Severity::kHigh);
  EXPECT_TRUE(contains(admin->evidence, "admin-class capabilities held: CAP_SYS_ADMIN"));
  EXPECT_TRUE(contains(admin->evidence, "CapEff 0x0000000000200400 (CAP_NET_BIND_SERVICE, CAP_SYS_ADMIN)"));
  EXPECT_TRUE(contains(admin->remedy, "drop capabilities"));

  seen = runcProbe();
  seen.process.cap_effective = std::uint64_t{1} << 10;  // NET_BIND_SERVICE
  auto other = findingOf(seen, "capabilities");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->severity, Severity::kMedium);
  EXPECT_TRUE(contains(other->evidence, "CAP_NET_BIND_SERVICE"));

  seen = runcProbe();
  seen.process.cap_bounding = 0xa80425fbULL;  // the runtime's default set
  auto bounding = findingOf(seen, "capabilities");
  ASSERT_TRUE(bounding);
  EXPECT_EQ(bounding->severity, Severity::kLow);
  EXPECT_TRUE(contains(bounding->evidence, "CapBnd 0x00000000a80425fb (CAP_CHOWN, CAP_DAC_OVERRIDE"));
  EXPECT_TRUE(contains(bounding->remedy, "bounding set"));

  // Permitted (or ambient) capabilities can be raised: they count as held.
  seen = runcProbe();
  seen.process.cap_permitted = std::uint64_t{1} << 19;  // SYS_PTRACE
  auto permitted = findingOf(seen, "capabilities");
  ASSERT_TRUE(permitted);
  EXPECT_EQ(permitted->severity, Severity::kHigh);
  EXPECT_TRUE(contains(permitted->evidence, "raisable from CapPrm/CapAmb: CAP_SYS_PTRACE"));

  // Unknown capability sets: nothing to judge.
  seen = runcProbe();
  seen.process.cap_effective.reset();
  seen.process.cap_bounding.reset();
  seen.process.cap_permitted.reset();
  EXPECT_FALSE(findingOf(seen, "capabilities"));
}

TEST(VerdictFindingsTest, EveryAdminClassCapabilityIsHigh) {
  for (unsigned bit : {21u, 16u, 19u, 17u, 2u, 12u, 39u, 38u, 22u}) {
    auto seen = runcProbe();
    seen.process.cap_effective = std::uint64_t{1} << bit;
    auto f = findingOf(seen, "capabilities");
    ASSERT_TRUE(f) << bit;
    EXPECT_EQ(f->severity, Severity::kHigh) << bit;
  }
  auto seen = runcProbe();
  seen.process.cap_effective = std::uint64_t{1} << 13;  // NET_RAW
  EXPECT_EQ(findingOf(seen, "capabilities")->severity, Severity::kMedium);
}

TEST(VerdictFindingsTest, SeccompOffIsMediumOnASharedKernelElseLow) {
  EXPECT_FALSE(findingOf(runcProbe(), "seccomp-off"));
  auto seen = runcProbe();
  seen.process.seccomp = 0;
  auto shared = findingOf(seen, "seccomp-off");
  ASSERT_TRUE(shared);
  EXPECT_EQ(shared->severity, Severity::kMedium);
  EXPECT_TRUE(contains(shared->evidence, "Seccomp: 0"));
  EXPECT_TRUE(contains(shared->remedy, "seccomp RuntimeDefault"));
  auto vm = vmProbe();
  vm.process.seccomp = 0;
  EXPECT_EQ(findingOf(vm, "seccomp-off")->severity, Severity::kLow);
  seen.process.seccomp = 1;  // strict
  EXPECT_FALSE(findingOf(seen, "seccomp-off"));
  seen.process.seccomp.reset();
  EXPECT_FALSE(findingOf(seen, "seccomp-off"));
}

TEST(VerdictFindingsTest, NoNewPrivsOff) {
  EXPECT_FALSE(findingOf(runcProbe(), "no-new-privs-off"));
  auto seen = runcProbe();
  seen.process.no_new_privs = false;
  auto f = findingOf(seen, "no-new-privs-off");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->severity, Severity::kMedium);
  EXPECT_TRUE(contains(f->evidence, "NoNewPrivs: 0"));
  auto gvisor = gvisorProbe();
  gvisor.process.no_new_privs = false;
  EXPECT_EQ(findingOf(gvisor, "no-new-privs-off")->severity, Severity::kLow);
  seen.process.no_new_privs.reset();
  EXPECT_FALSE(findingOf(seen, "no-new-privs-off"));
}

TEST(VerdictFindingsTest, RunsAsRoot) {
  EXPECT_FALSE(findingOf(runcProbe(), "runs-as-root"));
  auto seen = runcProbe();
  seen.process.euid = 0;
  auto f = findingOf(seen, "runs-as-root");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->severity, Severity::kMedium);
  EXPECT_TRUE(contains(f->evidence, "uid 65534, euid 0"));
  auto vm = vmProbe();
  vm.process.uid = 0;
  EXPECT_EQ(findingOf(vm, "runs-as-root")->severity, Severity::kLow);
  seen.process.uid = seen.process.euid = -1;  // unknown
  EXPECT_FALSE(findingOf(seen, "runs-as-root"));
}

TEST(VerdictFindingsTest, WritableKernelInterfaces) {
  auto seen = runcProbe();
  EXPECT_FALSE(findingOf(seen, "proc-sys-writable"));
  EXPECT_FALSE(findingOf(seen, "sys-writable"));
  seen.writable.proc_sys_writable = true;
  seen.writable.proc_sys_mount_ro = false;
  seen.writable.sys_writable = true;
  seen.writable.sys_mount_ro.reset();
  auto proc = findingOf(seen, "proc-sys-writable");
  ASSERT_TRUE(proc);
  EXPECT_EQ(proc->severity, Severity::kHigh);
  EXPECT_TRUE(contains(proc->evidence, "/proc/sys succeeded (mount rw)"));
  EXPECT_TRUE(contains(proc->remedy, "read-only"));
  auto sys = findingOf(seen, "sys-writable");
  ASSERT_TRUE(sys);
  EXPECT_EQ(sys->severity, Severity::kHigh);
  EXPECT_TRUE(contains(sys->evidence, "/sys succeeded (mount unknown)"));
  auto gvisor = gvisorProbe();
  gvisor.writable.proc_sys_writable = gvisor.writable.sys_writable = true;
  EXPECT_EQ(findingOf(gvisor, "proc-sys-writable")->severity, Severity::kMedium);
  EXPECT_EQ(findingOf(gvisor, "sys-writable")->severity, Severity::kMedium);
}

TEST(VerdictFindingsTest, AReadWriteMountIsMediumOnASharedKernelOnly) {
  // The probe runs without capabilities: its write-open fails even on a
  // read-write mount, so the mount flag is what counts.
  auto seen = runcProbe();
  seen.writable.proc_sys_mount_ro = false;
  seen.writable.sys_mount_ro = false;
  auto proc = findingOf(seen, "proc-sys-writable");
  ASSERT_TRUE(proc);
  EXPECT_EQ(proc->severity, Severity::kMedium);
  EXPECT_TRUE(contains(proc->evidence, "/proc/sys is read-write")) << proc->evidence;
  EXPECT_TRUE(contains(proc->remedy, "read-only"));
  auto sys = findingOf(seen, "sys-writable");
  ASSERT_TRUE(sys);
  EXPECT_EQ(sys->severity, Severity::kMedium);
  EXPECT_TRUE(contains(sys->evidence, "/sys is read-write")) << sys->evidence;
  EXPECT_EQ(judge("runc", seen, hostFacts(), std::nullopt).score, 30);
  // A successful write-open stays high.
  seen.writable.proc_sys_writable = true;
  EXPECT_EQ(findingOf(seen, "proc-sys-writable")->severity, Severity::kHigh);
  // An unknown mount flag is no finding.
  seen = runcProbe();
  seen.writable.proc_sys_mount_ro.reset();
  seen.writable.sys_mount_ro.reset();
  EXPECT_FALSE(findingOf(seen, "proc-sys-writable"));
  EXPECT_FALSE(findingOf(seen, "sys-writable"));
  // Another kernel's read-write tree is its own (gVisor mounts /proc
  // read-write): only a successful write-open counts there.
  for (auto other : {gvisorProbe(), vmProbe()}) {
    other.writable.proc_sys_mount_ro = false;
    other.writable.sys_mount_ro = false;
    EXPECT_FALSE(findingOf(other, "proc-sys-writable"));
    EXPECT_FALSE(findingOf(other, "sys-writable"));
  }
}

TEST(VerdictFindingsTest, PostureUnknownWhenStatusFactsAreMissing) {
  EXPECT_FALSE(findingOf(runcProbe(), "posture-unknown"));
  EXPECT_FALSE(findingOf(gvisorProbe(), "posture-unknown"));
  EXPECT_FALSE(findingOf(vmProbe(), "posture-unknown"));

  // The whole of /proc/self/status unreadable: nothing fires, the score
  // must not rise.
  auto seen = runcProbe();
  seen.process.cap_inheritable.reset();
  seen.process.cap_permitted.reset();
  seen.process.cap_effective.reset();
  seen.process.cap_bounding.reset();
  seen.process.cap_ambient.reset();
  seen.process.seccomp.reset();
  seen.process.no_new_privs.reset();
  seen.unreadable = {"/proc/self/status: Permission denied"};
  auto f = findingOf(seen, "posture-unknown");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->severity, Severity::kMedium);
  EXPECT_TRUE(contains(f->evidence, "/proc/self/status")) << f->evidence;
  EXPECT_TRUE(contains(f->evidence, "Permission denied")) << f->evidence;
  EXPECT_EQ(judge("runc", seen, hostFacts(), std::nullopt).score, 40);
  // ... under an application kernel as well.
  auto gvisor = gvisorProbe();
  gvisor.process = seen.process;
  EXPECT_TRUE(findingOf(gvisor, "posture-unknown"));

  // One line missing: named.
  for (auto [line, clear] :
       std::initializer_list<std::pair<const char*, void (*)(probe::ProcessFacts&)>>{
           {"CapEff", [](probe::ProcessFacts& p) { p.cap_effective.reset(); }},
           {"CapPrm", [](probe::ProcessFacts& p) { p.cap_permitted.reset(); }},
           {"CapBnd", [](probe::ProcessFacts& p) { p.cap_bounding.reset(); }},
           {"Seccomp", [](probe::ProcessFacts& p) { p.seccomp.reset(); }}}) {
    for (auto base : {runcProbe(), gvisorProbe(), vmProbe()}) {
      clear(base.process);
      auto missing = findingOf(base, "posture-unknown");
      ASSERT_TRUE(missing) << line;
      EXPECT_TRUE(contains(missing->evidence, line)) << missing->evidence;
    }
  }
  // gVisor writes no CapAmb and no NoNewPrivs line: not held against it,
  // but against a kernel that writes them.
  gvisor = gvisorProbe();
  gvisor.process.cap_ambient.reset();
  gvisor.process.no_new_privs.reset();
  EXPECT_FALSE(findingOf(gvisor, "posture-unknown"));
  for (auto base : {runcProbe(), vmProbe()}) {
    base.process.no_new_privs.reset();
    auto missing = findingOf(base, "posture-unknown");
    ASSERT_TRUE(missing);
    EXPECT_TRUE(contains(missing->evidence, "NoNewPrivs")) << missing->evidence;
    EXPECT_FALSE(contains(missing->evidence, "CapAmb")) << missing->evidence;
  }
  seen = runcProbe();
  seen.process.uid = seen.process.euid = -1;
  ASSERT_TRUE(findingOf(seen, "posture-unknown"));
  EXPECT_TRUE(contains(findingOf(seen, "posture-unknown")->evidence, "uid"));
}

TEST(VerdictFindingsTest, PostureUnknownWhenNamespacesAreMissingOnASharedKernel) {
  for (const char* type : {"pid", "net", "mnt"}) {
    auto seen = runcProbe();
    seen.namespaces.erase(type);
    seen.unreadable = {std::string("/proc/self/ns/") + type + ": Permission denied"};
    auto f = findingOf(seen, "posture-unknown");
    ASSERT_TRUE(f) << type;
    EXPECT_TRUE(contains(f->evidence, std::string(type) + " namespace link (workload)"))
        << f->evidence;
    EXPECT_TRUE(contains(f->evidence, "Permission denied")) << f->evidence;
    // The host's link missing: nothing to compare with either.
    auto host = hostFacts();
    host.namespaces[type] = "";
    auto c = judge("runc", runcProbe(), host, std::nullopt);
    bool named = false;
    for (const auto& finding : c.findings) {
      if (finding.id == "posture-unknown") {
        named = contains(finding.evidence, std::string(type) + " namespace link (host)");
      }
    }
    EXPECT_TRUE(named) << type;
  }
  // Another kernel's namespaces are not compared: gVisor shows only net,
  // pid and user.
  auto gvisor = gvisorProbe();
  gvisor.namespaces = {{"net", "net:[110]"}, {"pid", "pid:[111]"}, {"user", "user:[112]"}};
  EXPECT_FALSE(findingOf(gvisor, "posture-unknown"));
  auto vm = vmProbe();
  vm.namespaces.clear();
  EXPECT_FALSE(findingOf(vm, "posture-unknown"));
  // ipc and uts are not required.
  auto seen = runcProbe();
  seen.namespaces.erase("ipc");
  EXPECT_FALSE(findingOf(seen, "posture-unknown"));
}

TEST(VerdictFindingsTest, ProcUnmaskedNamesThePaths) {
  auto seen = runcProbe();
  EXPECT_FALSE(findingOf(seen, "proc-unmasked"));
  seen.masked_paths[1].state = "readable";  // /proc/kcore
  seen.masked_paths[2].state = "Readable\n";  // /proc/keys
  auto f = findingOf(seen, "proc-unmasked");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->severity, Severity::kMedium);
  EXPECT_TRUE(contains(f->evidence, "/proc/kcore, /proc/keys"));
  EXPECT_TRUE(contains(f->remedy, "mask the path"));
  auto vm = vmProbe();
  vm.masked_paths[1].state = "readable";
  EXPECT_EQ(findingOf(vm, "proc-unmasked")->severity, Severity::kLow);
}

TEST(VerdictFindingsTest, HostDevicesWithTheirNumbers) {
  EXPECT_FALSE(findingOf(runcProbe(), "host-devices"));
  auto seen = runcProbe();
  seen.devices.push_back({"/dev/pts/0", 'c', 136, 0});
  seen.devices.push_back({"/dev/console", 'c', 136, 0});
  seen.devices.push_back({"/dev/stdout", 'c', 1, 3});
  EXPECT_FALSE(findingOf(seen, "host-devices"));

  seen.devices.push_back({"/dev/kvm", 'c', 10, 232});
  seen.devices.push_back({"/dev/sda", 'b', 8, 0});
  auto f = findingOf(seen, "host-devices");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->severity, Severity::kHigh);
  EXPECT_TRUE(contains(f->evidence, "/dev/kvm (c 10:232)"));
  EXPECT_TRUE(contains(f->evidence, "/dev/sda (b 8:0)"));
  EXPECT_TRUE(contains(f->remedy, "remove the devices"));

  // A standard name on another device is not the standard device.
  seen = runcProbe();
  seen.devices.push_back({"/dev/null", 'b', 8, 1});
  seen.devices.push_back({"/dev/zero", 'c', 1, 1});  // /dev/mem's numbers
  f = findingOf(seen, "host-devices");
  ASSERT_TRUE(f);
  EXPECT_TRUE(contains(f->evidence, "/dev/null (b 8:1)"));
  EXPECT_TRUE(contains(f->evidence, "/dev/zero (c 1:1)"));

  // An application kernel's own tun device is not the host's; on a shared
  // kernel it is.
  auto gvisor = gvisorProbe();
  gvisor.devices.push_back({"/dev/net/tun", 'c', 10, 200});
  EXPECT_FALSE(findingOf(gvisor, "host-devices"));
  seen = runcProbe();
  seen.devices.push_back({"/dev/net/tun", 'c', 10, 200});
  EXPECT_TRUE(findingOf(seen, "host-devices"));
}

TEST(VerdictFindingsTest, RuntimeSocketNamesThePaths) {
  EXPECT_FALSE(findingOf(runcProbe(), "runtime-socket"));
  auto seen = runcProbe();
  seen.runtime_sockets = {"/run/containerd/containerd.sock", "/var/run/docker.sock"};
  auto f = findingOf(seen, "runtime-socket");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->severity, Severity::kHigh);
  EXPECT_TRUE(contains(f->evidence, "/run/containerd/containerd.sock, /var/run/docker.sock"));
  EXPECT_TRUE(contains(f->remedy, "do not mount the runtime socket"));
  // High on every level.
  auto vm = vmProbe();
  vm.runtime_sockets = {"/run/containerd/containerd.sock"};
  EXPECT_EQ(findingOf(vm, "runtime-socket")->severity, Severity::kHigh);
}

TEST(VerdictFindingsTest, EndpointReachableNamesTheTargetsThatConnected) {
  auto seen = runcProbe();
  seen.connects = {{"10.0.0.5:9100", "refused", 1}, {"10.0.0.6:8443", "timeout", 1000},
                   {"10.0.0.7:9100", "error: EHOSTUNREACH", 2}};
  EXPECT_FALSE(findingOf(seen, "endpoint-reachable"));
  seen.connects.push_back({"10.0.0.8:8443", "connected", 3});
  seen.connects.push_back({"10.0.0.5:9101", "connected", 3});
  auto f = findingOf(seen, "endpoint-reachable");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->severity, Severity::kMedium);
  EXPECT_TRUE(contains(f->evidence, "10.0.0.5:9101, 10.0.0.8:8443"));
  EXPECT_FALSE(contains(f->evidence, "10.0.0.6"));
  EXPECT_TRUE(contains(f->remedy, "firewall"));
}

TEST(VerdictFindingsTest, NoMemoryLimit) {
  EXPECT_FALSE(findingOf(runcProbe(), "no-memory-limit"));
  for (const char* none : {"", "max", "max\n", "9223372036854771712", "-1",
                           "99999999999999999999999", "12abc", "-5"}) {
    auto seen = runcProbe();
    seen.cgroup.memory_limit = none;
    auto f = findingOf(seen, "no-memory-limit");
    ASSERT_TRUE(f) << none;
    EXPECT_EQ(f->severity, Severity::kLow);
    EXPECT_TRUE(contains(f->remedy, "memory limit"));
  }
  auto seen = runcProbe();
  seen.cgroup.memory_limit = "1073741824\n";
  EXPECT_FALSE(findingOf(seen, "no-memory-limit"));
}

TEST(VerdictFindingsTest, NoMemoryLimitUnderAnotherKernelOnlyWithACgroupTree) {
  // gVisor shows no cgroup tree: its limit is enforced outside, not judged.
  auto gvisor = gvisorProbe();
  gvisor.cgroup = {};
  EXPECT_FALSE(findingOf(gvisor, "no-memory-limit"));
  gvisor.cgroup.version = 2;
  gvisor.cgroup.memory_limit = "max";
  EXPECT_TRUE(findingOf(gvisor, "no-memory-limit"));
  // A shared kernel with nothing visible still counts.
  auto runc = runcProbe();
  runc.cgroup = {};
  EXPECT_TRUE(findingOf(runc, "no-memory-limit"));
}

TEST(VerdictFindingsTest, NetworkHostKernelOnAnApplicationKernelOnly) {
  auto gvisor = gvisorProbe();
  EXPECT_FALSE(findingOf(gvisor, "network-host-kernel"));
  gvisor.network.host_network_stack.reset();
  EXPECT_FALSE(findingOf(gvisor, "network-host-kernel"));
  gvisor.network.host_network_stack = true;
  auto f = findingOf(gvisor, "network-host-kernel");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->severity, Severity::kMedium);
  auto runc = runcProbe();
  runc.network.host_network_stack = true;  // it is the host's kernel anyway
  EXPECT_FALSE(findingOf(runc, "network-host-kernel"));
  auto vm = vmProbe();
  vm.network.host_network_stack = true;
  EXPECT_FALSE(findingOf(vm, "network-host-kernel"));
}

TEST(VerdictTextTest, CapabilityNamesDecodeTheMask) {
  EXPECT_EQ(vd::capabilityNames(0), std::vector<std::string>{});
  EXPECT_EQ(vd::capabilityNames(std::uint64_t{1} << 21), std::vector<std::string>{"CAP_SYS_ADMIN"});
  EXPECT_EQ(vd::capabilityNames((std::uint64_t{1} << 40) | (std::uint64_t{1} << 63)),
            (std::vector<std::string>{"CAP_CHECKPOINT_RESTORE", "CAP_63"}));
  EXPECT_EQ(vd::capabilityNames(0x3fffffffffULL).size(), 38u);
  EXPECT_EQ(vd::hexMask(0xa80425fbULL), "0x00000000a80425fb");
}

TEST(VerdictTextTest, TextIsPrintableAndBounded) {
  EXPECT_EQ(vd::printable("a\nb\x1b[0m\xc3\xa9", 100), "a?b?[0m??");
  EXPECT_EQ(vd::printable("abcdefghij", 6), "abc...");
  EXPECT_EQ(vd::quote("x"), "\"x\"");
  EXPECT_EQ(vd::normalized("  Linux \t 6.1\n"), "linux 6.1");
  EXPECT_EQ(vd::bounded(std::string(5000, 'e')).size(), api::kMaxFindingTextLength);
  EXPECT_EQ(vd::joinList({"a", "b", "c"}, 2), "a, b and 1 more");
}

}  // namespace
}  // namespace zp::agent
