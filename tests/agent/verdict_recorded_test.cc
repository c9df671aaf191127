// The verdict on reports the probe wrote on the development machine, in runc
// and in gVisor (tests/probe/data, see its README): what the recorded facts
// give, so that a rule that reads them wrongly shows here.

#include <gtest/gtest.h>

#include <string>

#include "../probe/test_data.h"
#include "agent/isolation/verdict.h"
#include "probe/report_json.h"
#include "verdict_reports.h"

namespace zp::agent {
namespace {

using api::IsolationLevel;
using api::Severity;
using testing::find;

probe::Report recorded(const std::string& name) {
  auto report = probe::decodeReport(probe::testing::testData(name));
  EXPECT_TRUE(report.has_value()) << name << ": " << report.error().toString();
  return report ? *report : probe::Report{};
}

// The recording host: the kernel the runc reports show (runc shares it), and
// the initial namespaces; the cgroup, user and time namespaces are those the
// runc containers share with it (cgroup v1).
probe::Report recordingHost() {
  probe::Report host;
  host.kernel = recorded("runc-image.report.json").kernel;
  host.kernel.hypervisor_signs.clear();
  host.namespaces = {{"pid", "pid:[4026531836]"},   {"net", "net:[4026531840]"},
                     {"ipc", "ipc:[4026531839]"},   {"uts", "uts:[4026531838]"},
                     {"mnt", "mnt:[4026531841]"},   {"cgroup", "cgroup:[4026531835]"},
                     {"user", "user:[4026531837]"}, {"time", "time:[4026531834]"}};
  return host;
}

TEST(VerdictRecordedTest, RuncIsSharedKernelWithReadOnlyKernelTreesAndAKnownPosture) {
  for (const char* name : {"runc-image.report.json", "runc.report.json"}) {
    auto c = judge("runc", recorded(name), recordingHost(), std::nullopt);
    EXPECT_EQ(c.level, IsolationLevel::kSharedKernel) << name;
    EXPECT_NE(find(c, "host-kernel-shared"), nullptr) << name;
    EXPECT_EQ(find(c, "boot-id-mismatch"), nullptr) << name;
    EXPECT_EQ(find(c, "proc-sys-writable"), nullptr) << name;
    EXPECT_EQ(find(c, "sys-writable"), nullptr) << name;
    EXPECT_EQ(find(c, "posture-unknown"), nullptr) << name;
    EXPECT_EQ(find(c, "host-namespace"), nullptr) << name;
    ASSERT_NE(find(c, "host-cgroup-namespace"), nullptr) << name;
  }
}

TEST(VerdictRecordedTest, AnEmulatedBootIdInTheRecordedRuncReportIsCaught) {
  // The recorded runc report shows the hypervisor flag (the host is a VM):
  // it must not make a foreign boot id a hypervisor.
  auto seen = recorded("runc-image.report.json");
  ASSERT_FALSE(seen.kernel.hypervisor_signs.empty());
  seen.kernel.boot_id = "9b2e4f10-77aa-4d3e-8c21-0f9e8d7c6b5a";
  auto c = judge("sysbox", seen, recordingHost(), std::nullopt);
  EXPECT_EQ(c.level, IsolationLevel::kSharedKernel);
  ASSERT_NE(find(c, "boot-id-mismatch"), nullptr);
  EXPECT_EQ(find(c, "boot-id-mismatch")->severity, Severity::kMedium);
}

TEST(VerdictRecordedTest, GvisorsOwnSysctlTreeAndMissingLinesGiveNoHighAndNoPostureUnknown) {
  // runsc shows /proc read-write with a writable sysctl tree of its own, no
  // CapAmb or NoNewPrivs line, and only the net, pid and user namespaces.
  for (const char* name : {"runsc-ctr-none.report.json", "runsc-ctr-host.report.json",
                           "runsc-none.report.json", "runsc-host.report.json"}) {
    auto seen = recorded(name);
    ASSERT_TRUE(seen.writable.proc_sys_writable) << name;
    ASSERT_FALSE(seen.process.no_new_privs) << name;
    auto c = judge("gvisor", seen, recordingHost(), std::nullopt);
    EXPECT_EQ(c.level, IsolationLevel::kApplicationKernel) << name;
    const auto* proc_sys = find(c, "proc-sys-writable");
    ASSERT_NE(proc_sys, nullptr) << name;
    EXPECT_EQ(proc_sys->severity, Severity::kMedium) << name;
    EXPECT_EQ(find(c, "sys-writable"), nullptr) << name;
    EXPECT_EQ(find(c, "posture-unknown"), nullptr) << name;
    EXPECT_EQ(find(c, "no-new-privs-off"), nullptr) << name;
  }
}

}  // namespace
}  // namespace zp::agent
