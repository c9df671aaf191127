// The verdict's level rules, claims, score and ordering (docs/architecture.md
// §10.2). The findings one by one: verdict_findings_test.cc.

#include "agent/isolation/verdict.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "agent/isolation/verdict_parts.h"
#include "verdict_reports.h"

namespace zp::agent {
namespace {

using api::IsolationLevel;
using api::Severity;
using namespace testing;
namespace vd = verdict_detail;

bool hasSeverity(const api::ClassIsolation& c, Severity severity) {
  return std::ranges::any_of(c.findings, [&](const auto& f) { return f.severity == severity; });
}

TEST(VerdictTest, RuncWithTheFullPostureIsSharedKernelWithoutHighFindingsAndScores50) {
  auto c = judge("runc", runcProbe(), hostFacts(), std::nullopt);
  EXPECT_EQ(c.runtime_class, "runc");
  EXPECT_EQ(c.level, IsolationLevel::kSharedKernel);
  EXPECT_FALSE(hasSeverity(c, Severity::kHigh));
  EXPECT_FALSE(hasSeverity(c, Severity::kMedium));
  EXPECT_FALSE(hasSeverity(c, Severity::kLow));
  ASSERT_EQ(c.findings.size(), 1u);
  EXPECT_EQ(c.findings[0].id, "host-kernel-shared");
  EXPECT_NE(c.findings[0].evidence.find(kHostBootId), std::string::npos);
  EXPECT_NE(c.findings[0].remedy.find("own kernel"), std::string::npos);
  EXPECT_EQ(c.score, 50);
  EXPECT_FALSE(c.claim);
  EXPECT_FALSE(c.quarantined());
  EXPECT_EQ(c.probe_version, "0.1.0");
  EXPECT_FALSE(c.verified_at);
  EXPECT_FALSE(c.attempted_at);
  EXPECT_TRUE(c.error.empty());
}

TEST(VerdictTest, RuncClaimingHypervisorIsNotMetAndQuarantined) {
  auto c = judge("edera-zone", runcProbe(), hostFacts(), IsolationLevel::kHypervisor);
  EXPECT_EQ(c.level, IsolationLevel::kSharedKernel);
  EXPECT_EQ(c.claim, IsolationLevel::kHypervisor);
  const auto* f = find(c, "claim-not-met");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kHigh);
  EXPECT_NE(f->evidence.find("claims hypervisor"), std::string::npos);
  EXPECT_NE(f->evidence.find("shared-kernel"), std::string::npos);
  EXPECT_TRUE(c.quarantined());
  EXPECT_FALSE(c.satisfies(IsolationLevel::kSharedKernel));
  EXPECT_TRUE(c.satisfies(std::nullopt));
  EXPECT_EQ(c.findings.front().id, "claim-not-met");
  EXPECT_EQ(c.score, 25);
}

TEST(VerdictTest, AClaimAtOrBelowTheVerifiedLevelIsMet) {
  for (auto claim : {IsolationLevel::kSharedKernel}) {
    auto c = judge("runc", runcProbe(), hostFacts(), claim);
    EXPECT_EQ(find(c, "claim-not-met"), nullptr);
    EXPECT_FALSE(c.quarantined());
    EXPECT_EQ(c.score, 50);
  }
  for (auto claim : {IsolationLevel::kSharedKernel, IsolationLevel::kApplicationKernel}) {
    auto c = judge("gvisor", gvisorProbe(), hostFacts(), claim);
    EXPECT_EQ(find(c, "claim-not-met"), nullptr);
    EXPECT_FALSE(c.quarantined());
  }
  auto gvisor = judge("gvisor", gvisorProbe(), hostFacts(), IsolationLevel::kHypervisor);
  EXPECT_NE(find(gvisor, "claim-not-met"), nullptr);
  EXPECT_TRUE(gvisor.quarantined());
  // "unverified" is no claim.
  auto unverified = judge("runc", runcProbe(), hostFacts(), IsolationLevel::kUnverified);
  EXPECT_FALSE(unverified.claim);
  EXPECT_EQ(find(unverified, "claim-not-met"), nullptr);
}

TEST(VerdictTest, GvisorWithoutABootIdIsApplicationKernel) {
  auto c = judge("gvisor", gvisorProbe(), hostFacts(), IsolationLevel::kApplicationKernel);
  EXPECT_EQ(c.level, IsolationLevel::kApplicationKernel);
  EXPECT_TRUE(c.findings.empty());
  EXPECT_EQ(c.score, 80);
  EXPECT_TRUE(c.satisfies(IsolationLevel::kApplicationKernel));
  EXPECT_FALSE(c.satisfies(IsolationLevel::kHypervisor));
}

TEST(VerdictTest, GvisorOnTheHostNetworkHasItsNetworkFindingAndScores70) {
  auto seen = gvisorProbe();
  seen.network.host_network_stack = true;
  seen.network.host_network_evidence = "interfaces are the pod's: eth0 10.88.0.7";
  auto c = judge("gvisor", seen, hostFacts(), IsolationLevel::kApplicationKernel);
  EXPECT_EQ(c.level, IsolationLevel::kApplicationKernel);
  ASSERT_EQ(c.findings.size(), 1u);
  EXPECT_EQ(c.findings[0].id, "network-host-kernel");
  EXPECT_EQ(c.findings[0].severity, Severity::kMedium);
  EXPECT_NE(c.findings[0].evidence.find("10.88.0.7"), std::string::npos);
  EXPECT_NE(c.findings[0].remedy.find("--network=sandbox"), std::string::npos);
  EXPECT_EQ(c.score, 70);
}

TEST(VerdictTest, GvisorAsTheDebianRunscShowsItIsApplicationKernelWithSeccompOff) {
  // runsc 20221219 (`runsc do`): Seccomp 0, no NoNewPrivs line, no boot id,
  // no signs collected.
  auto seen = gvisorProbe();
  seen.kernel.application_kernel_signs.clear();
  seen.process.seccomp = 0;
  seen.process.no_new_privs.reset();
  auto c = judge("gvisor", seen, hostFacts(), std::nullopt);
  EXPECT_EQ(c.level, IsolationLevel::kApplicationKernel);
  ASSERT_NE(find(c, "seccomp-off"), nullptr);
  EXPECT_EQ(find(c, "seccomp-off")->severity, Severity::kLow);
  EXPECT_EQ(find(c, "no-new-privs-off"), nullptr);
  EXPECT_EQ(c.score, 77);
}

TEST(VerdictTest, GvisorShowingABootIdOfItsOwnIsApplicationKernelNotHypervisor) {
  auto seen = gvisorProbe();
  seen.kernel.boot_id = "5c6d7e8f-1a2b-4c3d-9e0f-a1b2c3d4e5f6";
  auto c = judge("gvisor", seen, hostFacts(), IsolationLevel::kApplicationKernel);
  EXPECT_EQ(c.level, IsolationLevel::kApplicationKernel);
  const auto* f = find(c, "application-kernel-signs");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kInfo);
  EXPECT_NE(f->evidence.find("5c6d7e8f-1a2b-4c3d-9e0f-a1b2c3d4e5f6"), std::string::npos);
  EXPECT_NE(f->evidence.find(kHostBootId), std::string::npos);
  EXPECT_EQ(c.score, 80);

  // The fixed kernel identity alone is a sign, without the probe's list.
  seen.kernel.application_kernel_signs.clear();
  EXPECT_EQ(judge("gvisor", seen, hostFacts(), std::nullopt).level,
            IsolationLevel::kApplicationKernel);
  // ... and so is the probe's list alone.
  seen = vmProbe();
  seen.kernel.application_kernel_signs = {"dmesg: Starting gVisor..."};
  EXPECT_EQ(judge("gvisor", seen, hostFacts(), std::nullopt).level,
            IsolationLevel::kApplicationKernel);
}

TEST(VerdictTest, AVmWithItsOwnBootIdIsHypervisorAndScores100) {
  auto c = judge("edera-zone", vmProbe(), hostFacts(), IsolationLevel::kHypervisor);
  EXPECT_EQ(c.level, IsolationLevel::kHypervisor);
  EXPECT_TRUE(c.findings.empty());  // namespaces equal in number, but another kernel's
  EXPECT_EQ(c.score, 100);
  EXPECT_FALSE(c.quarantined());
  EXPECT_TRUE(c.satisfies(IsolationLevel::kHypervisor));
}

// LXCFS or sysbox: a boot id of its own (emulated or bind-mounted) over the
// host's kernel. The development host is a VM, so the hypervisor flag shows
// in such a container too: it decides nothing.
probe::Report emulatedBootIdProbe() {
  auto seen = runcProbe();
  seen.kernel.boot_id = "9b2e4f10-77aa-4d3e-8c21-0f9e8d7c6b5a";
  seen.kernel.hypervisor_signs = {"/proc/cpuinfo: hypervisor flag"};
  return seen;
}

TEST(VerdictTest, AnEmulatedBootIdOverTheHostsKernelIsSharedKernelWithBootIdMismatch) {
  auto c = judge("sysbox", emulatedBootIdProbe(), hostFacts(), IsolationLevel::kHypervisor);
  EXPECT_EQ(c.level, IsolationLevel::kSharedKernel);
  const auto* f = find(c, "boot-id-mismatch");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kMedium);
  EXPECT_NE(f->evidence.find("9b2e4f10-77aa-4d3e-8c21-0f9e8d7c6b5a"), std::string::npos);
  EXPECT_NE(f->evidence.find(kHostBootId), std::string::npos);
  EXPECT_NE(f->evidence.find(kHostProcVersion), std::string::npos) << f->evidence;
  EXPECT_NE(f->evidence.find("hypervisor flag"), std::string::npos) << f->evidence;
  EXPECT_NE(find(c, "host-kernel-shared"), nullptr);
  EXPECT_TRUE(c.quarantined());
  // 40 + 10 - 25 (claim-not-met) - 10 (boot-id-mismatch)
  EXPECT_EQ(c.score, 15);
  EXPECT_EQ(judge("sysbox", emulatedBootIdProbe(), hostFacts(), std::nullopt).score, 40);

  // The namespace checks of a shared kernel run: the host's pid namespace is found.
  auto seen = emulatedBootIdProbe();
  seen.namespaces["pid"] = hostFacts().namespaces.at("pid");
  const auto with_host_pid = judge("sysbox", seen, hostFacts(), std::nullopt);
  ASSERT_NE(find(with_host_pid, "host-namespace"), nullptr);
  EXPECT_EQ(find(with_host_pid, "host-namespace")->severity, Severity::kHigh);
}

TEST(VerdictTest, EitherKernelIdentityStringByteIdenticalOverrulesTheBootId) {
  // /proc/version alone is the host's.
  auto seen = emulatedBootIdProbe();
  seen.kernel.release = "6.6.30-zone";
  EXPECT_EQ(judge("x", seen, hostFacts(), std::nullopt).level, IsolationLevel::kSharedKernel);
  // uname release and version alone are the host's.
  seen = emulatedBootIdProbe();
  seen.kernel.proc_version.clear();
  auto c = judge("x", seen, hostFacts(), std::nullopt);
  EXPECT_EQ(c.level, IsolationLevel::kSharedKernel);
  ASSERT_NE(find(c, "boot-id-mismatch"), nullptr);
  EXPECT_NE(find(c, "boot-id-mismatch")->evidence.find(kHostVersion), std::string::npos);
  // A VM that boots the host's very kernel build cannot be told apart from
  // an emulated boot id: the weaker level.
  seen = vmProbe();
  seen.kernel.release = kHostRelease;
  seen.kernel.version = kHostVersion;
  seen.kernel.proc_version = kHostProcVersion;
  EXPECT_EQ(judge("kata", seen, hostFacts(), std::nullopt).level, IsolationLevel::kSharedKernel);
}

TEST(VerdictTest, AVmWhoseKernelStringsAreNotByteIdenticalStaysHypervisor) {
  // The host's release, another build (version and /proc/version differ).
  auto seen = vmProbe();
  seen.kernel.release = kHostRelease;
  EXPECT_EQ(judge("kata", seen, hostFacts(), std::nullopt).level, IsolationLevel::kHypervisor);
  // The same version text with another release is another kernel.
  seen = vmProbe();
  seen.kernel.version = kHostVersion;
  EXPECT_EQ(judge("kata", seen, hostFacts(), std::nullopt).level, IsolationLevel::kHypervisor);
  // Equal only without case or spacing: not byte for byte, no override.
  seen = vmProbe();
  seen.kernel.release = kHostRelease;
  seen.kernel.version = std::string(kHostVersion) + " ";
  seen.kernel.proc_version = "LINUX" + std::string(kHostProcVersion).substr(5);
  auto c = judge("kata", seen, hostFacts(), std::nullopt);
  EXPECT_EQ(c.level, IsolationLevel::kHypervisor);
  EXPECT_EQ(find(c, "boot-id-mismatch"), nullptr);
  // Empty strings on both sides prove nothing.
  seen = vmProbe();
  seen.kernel.release.clear();
  seen.kernel.version.clear();
  seen.kernel.proc_version.clear();
  auto host = hostFacts();
  host.kernel.release.clear();
  host.kernel.version.clear();
  host.kernel.proc_version.clear();
  EXPECT_EQ(judge("kata", seen, host, std::nullopt).level, IsolationLevel::kHypervisor);
}

TEST(VerdictTest, AHiddenBootIdWithTheHostsKernelIsSharedKernel) {
  auto seen = runcProbe();
  seen.kernel.boot_id.reset();
  auto c = judge("runc", seen, hostFacts(), std::nullopt);
  EXPECT_EQ(c.level, IsolationLevel::kSharedKernel);
  ASSERT_NE(find(c, "boot-id-hidden"), nullptr);
  EXPECT_EQ(find(c, "boot-id-hidden")->severity, Severity::kInfo);
  EXPECT_NE(find(c, "boot-id-hidden")->evidence.find(kHostRelease), std::string::npos);
  EXPECT_NE(find(c, "host-kernel-shared"), nullptr);
  EXPECT_EQ(c.score, 50);
  // An empty or blank boot id is no boot id.
  for (const char* blank : {"", "  \n"}) {
    seen.kernel.boot_id = blank;
    auto b = judge("runc", seen, hostFacts(), std::nullopt);
    EXPECT_EQ(b.level, IsolationLevel::kSharedKernel);
    EXPECT_NE(find(b, "boot-id-hidden"), nullptr) << blank;
  }
}

TEST(VerdictTest, BootIdsCompareWithoutCaseOrWhitespace) {
  auto seen = runcProbe();
  seen.kernel.boot_id = "  3F1C0A9E-5B2D-4C8E-9A7F-1B2C3D4E5F60\n";
  auto host = hostFacts();
  host.kernel.boot_id = std::string(kHostBootId) + "\n";
  auto c = judge("runc", seen, host, std::nullopt);
  EXPECT_EQ(c.level, IsolationLevel::kSharedKernel);
  EXPECT_EQ(find(c, "boot-id-hidden"), nullptr);
}

TEST(VerdictTest, TextIsTrimmedAsTheProbeTrimsIt) {
  // The verdict's trim and normalized are the probe's (probe/parse.h): a
  // boot id read with its NUL padding is still the host's.
  auto seen = runcProbe();
  seen.kernel.boot_id = std::string(kHostBootId) + std::string(1, '\0');
  auto c = judge("runc", seen, hostFacts(), std::nullopt);
  EXPECT_EQ(c.level, IsolationLevel::kSharedKernel);
  EXPECT_EQ(find(c, "boot-id-hidden"), nullptr);
  ASSERT_NE(find(c, "host-kernel-shared"), nullptr);
  EXPECT_NE(find(c, "host-kernel-shared")->evidence.find("boot id " + std::string(kHostBootId)),
            std::string::npos);
}

TEST(VerdictTest, KernelStringsCompareWithoutCaseOrWhitespace) {
  auto seen = runcProbe();
  seen.kernel.boot_id.reset();
  seen.kernel.release = std::string(" ") + kHostRelease + "\n";
  seen.kernel.version = "#1  smp PREEMPT_DYNAMIC\tDebian 6.1.76-1 (2024-02-01)\n";
  seen.kernel.proc_version = "";
  EXPECT_EQ(judge("runc", seen, hostFacts(), std::nullopt).level, IsolationLevel::kSharedKernel);
}

TEST(VerdictTest, OneEqualKernelStringMakesTheKernelTheHosts) {
  // uname differs but /proc/version is the host's: contradictory, so the
  // weaker level.
  auto seen = gvisorProbe();
  seen.kernel.application_kernel_signs.clear();
  seen.kernel.proc_version = kHostProcVersion;
  EXPECT_EQ(judge("x", seen, hostFacts(), std::nullopt).level, IsolationLevel::kSharedKernel);
  // Only /proc/version to compare, and it differs: another kernel.
  seen = gvisorProbe();
  seen.kernel.release.clear();
  seen.kernel.version.clear();
  EXPECT_EQ(judge("x", seen, hostFacts(), std::nullopt).level,
            IsolationLevel::kApplicationKernel);
}

TEST(VerdictTest, NoKernelEvidenceIsSharedKernelWithAFindingNeverMore) {
  auto seen = fullPosture();  // no boot id, no uname, no /proc/version
  auto c = judge("edera-zone", seen, hostFacts(), IsolationLevel::kHypervisor);
  EXPECT_EQ(c.level, IsolationLevel::kSharedKernel);
  const auto* f = find(c, "kernel-unidentified");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kMedium);
  EXPECT_NE(f->evidence.find("shared-kernel"), std::string::npos);
  EXPECT_NE(find(c, "claim-not-met"), nullptr);
  EXPECT_TRUE(c.quarantined());
  EXPECT_EQ(find(c, "host-kernel-shared"), nullptr);

  // The host's facts missing too.
  probe::Report empty_host;
  EXPECT_EQ(judge("x", seen, empty_host, std::nullopt).level, IsolationLevel::kSharedKernel);
  // A full workload report against a host that knows nothing about itself.
  auto vm = judge("x", vmProbe(), empty_host, std::nullopt);
  EXPECT_EQ(vm.level, IsolationLevel::kSharedKernel);
  EXPECT_NE(find(vm, "kernel-unidentified"), nullptr);
}

TEST(VerdictTest, WithoutTheHostsBootIdAnotherKernelIsAtMostApplicationKernel) {
  auto host = hostFacts();
  host.kernel.boot_id.reset();
  auto vm = judge("kata", vmProbe(), host, IsolationLevel::kHypervisor);
  EXPECT_EQ(vm.level, IsolationLevel::kApplicationKernel);
  ASSERT_NE(find(vm, "host-boot-id-unknown"), nullptr);
  EXPECT_TRUE(vm.quarantined());
  // The same kernel: shared, the boot id notwithstanding.
  auto runc = judge("runc", runcProbe(), host, std::nullopt);
  EXPECT_EQ(runc.level, IsolationLevel::kSharedKernel);
  EXPECT_NE(find(runc, "host-kernel-shared"), nullptr);
  // An unreadable host boot id ("" or garbage) is the same as none.
  host.kernel.boot_id = "not-a-boot-id";
  EXPECT_EQ(judge("kata", vmProbe(), host, std::nullopt).level,
            IsolationLevel::kApplicationKernel);
}

TEST(VerdictTest, AnUnusableBootIdInsideProvesNothing) {
  for (const char* bad : {"garbage", "00000000-0000-0000-0000-000000000000",
                          "3f1c0a9e5b2d4c8e9a7f1b2c3d4e5f60", "3f1c0a9e-5b2d-4c8e-9a7f-1b2c3d4e5f6g"}) {
    auto seen = runcProbe();
    seen.kernel.boot_id = bad;
    auto same = judge("runc", seen, hostFacts(), std::nullopt);
    EXPECT_EQ(same.level, IsolationLevel::kSharedKernel) << bad;
    EXPECT_NE(find(same, "boot-id-hidden"), nullptr) << bad;
    auto other = vmProbe();
    other.kernel.boot_id = bad;
    EXPECT_EQ(judge("vm", other, hostFacts(), std::nullopt).level,
              IsolationLevel::kApplicationKernel)
        << bad;
  }
}

TEST(VerdictTest, ScoreIsTheLevelsBasePlusTenMinusFindings) {
  auto finding = [](Severity s) { return api::Finding{"x", s, "", ""}; };
  EXPECT_EQ(isolationScore(IsolationLevel::kSharedKernel, {}), 50);
  EXPECT_EQ(isolationScore(IsolationLevel::kApplicationKernel, {}), 80);
  EXPECT_EQ(isolationScore(IsolationLevel::kHypervisor, {}), 100);
  EXPECT_EQ(isolationScore(IsolationLevel::kUnverified, {}), 0);
  EXPECT_EQ(isolationScore(IsolationLevel::kHypervisor,
                           {finding(Severity::kHigh), finding(Severity::kMedium),
                            finding(Severity::kLow), finding(Severity::kInfo)}),
            100 - 25 - 10 - 3);
  EXPECT_EQ(isolationScore(IsolationLevel::kSharedKernel,
                           {finding(Severity::kInfo), finding(Severity::kInfo)}),
            50);
  EXPECT_EQ(isolationScore(IsolationLevel::kSharedKernel,
                           {finding(Severity::kLow), finding(Severity::kLow)}),
            44);
  // Clamped at 0.
  EXPECT_EQ(isolationScore(IsolationLevel::kSharedKernel,
                           {finding(Severity::kHigh), finding(Severity::kHigh),
                            finding(Severity::kHigh)}),
            0);
  EXPECT_EQ(isolationScore(IsolationLevel::kHypervisor,
                           std::vector<api::Finding>(64, finding(Severity::kHigh))),
            0);
  // Unverified stays 0 whatever the findings.
  EXPECT_EQ(isolationScore(IsolationLevel::kUnverified, {finding(Severity::kInfo)}), 0);
}

TEST(VerdictTest, FindingsAreSortedBySeverityThenIdAndDeterministic) {
  auto seen = runcProbe();
  seen.process.uid = seen.process.euid = 0;                                   // medium
  seen.process.seccomp = 0;                                                   // medium
  seen.runtime_sockets = {"/run/containerd/containerd.sock"};                 // high
  seen.writable.proc_sys_writable = true;                                     // high
  seen.cgroup.memory_limit = "max";                                           // low
  seen.connects = {{"10.0.0.5:9100", "connected", 2}};                        // medium
  auto c = judge("runc", seen, hostFacts(), IsolationLevel::kApplicationKernel);
  std::vector<std::string> ids;
  for (const auto& f : c.findings) ids.push_back(f.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"claim-not-met", "proc-sys-writable", "runtime-socket",
                                           "endpoint-reachable", "runs-as-root", "seccomp-off",
                                           "no-memory-limit", "host-kernel-shared"}));
  EXPECT_EQ(c.score, 0);
  EXPECT_EQ(judge("runc", seen, hostFacts(), IsolationLevel::kApplicationKernel), c);
}

TEST(VerdictTest, FindingsAndTheirTextsAreBounded) {
  auto seen = runcProbe();
  for (int i = 0; i < 300; ++i) {
    std::string path = "/run/" + std::string(200, 'a') + std::to_string(i) + ".sock\x1b[31m";
    seen.runtime_sockets.push_back(path);
    seen.devices.push_back({"/dev/sd" + std::string(300, 'x') + std::to_string(i), 'b', 8,
                            static_cast<unsigned>(i)});
    seen.masked_paths.push_back({"/proc/" + std::string(300, 'k') + std::to_string(i), "readable"});
    seen.connects.push_back({"10.0.0." + std::to_string(i % 250) + ":1", "connected", 1});
  }
  seen.kernel.version = std::string(5000, 'v') + "\x01\xff";
  seen.kernel.boot_id.reset();
  seen.probe_version = std::string(500, '9') + "\n";
  auto c = judge("runc", seen, hostFacts(), IsolationLevel::kHypervisor);
  EXPECT_LE(c.findings.size(), api::kMaxFindings);
  EXPECT_LE(c.probe_version.size(), 64u);
  for (const auto& f : c.findings) {
    EXPECT_LE(f.evidence.size(), api::kMaxFindingTextLength) << f.id;
    EXPECT_LE(f.remedy.size(), api::kMaxFindingTextLength) << f.id;
    EXPECT_FALSE(f.evidence.empty()) << f.id;
    EXPECT_FALSE(f.remedy.empty()) << f.id;
    for (char ch : f.evidence) {
      auto u = static_cast<unsigned char>(ch);
      ASSERT_TRUE(u >= 0x20 && u < 0x7f) << f.id << " has byte " << int(u);
    }
  }
  const auto* sockets = find(c, "runtime-socket");
  ASSERT_NE(sockets, nullptr);
  EXPECT_NE(sockets->evidence.find("more"), std::string::npos) << sockets->evidence;
}

TEST(VerdictTest, FindingIdsAreValidApiIds) {
  auto seen = runcProbe();
  seen.kernel = {};
  seen.process.uid = 0;
  auto c = judge("runc", seen, hostFacts(), IsolationLevel::kHypervisor);
  for (const auto& f : c.findings) {
    EXPECT_FALSE(f.id.empty());
    EXPECT_LE(f.id.size(), api::kMaxFindingIdLength);
    for (char ch : f.id) {
      EXPECT_TRUE((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-') << f.id;
    }
  }
  EXPECT_EQ(vd::kClaimNotMet, "claim-not-met");
}

}  // namespace
}  // namespace zp::agent
