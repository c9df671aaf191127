// Hypervisor and application-kernel signs against recorded text.

#include <gtest/gtest.h>

#include "probe/parse.h"
#include "test_data.h"

namespace zp::probe {
namespace {

using testing::testData;

TEST(CpuinfoHypervisorFlag, SeenOnTheHostVmAndThroughGvisor) {
  EXPECT_TRUE(cpuinfoHasHypervisorFlag(testData("host.cpuinfo")));
  // gVisor shows the host's CPU flags: the flag says nothing about gVisor itself.
  EXPECT_TRUE(cpuinfoHasHypervisorFlag(testData("runsc.cpuinfo")));
  EXPECT_FALSE(cpuinfoHasHypervisorFlag("processor\t: 0\nflags\t\t: fpu vme de pse tsc\n"));
  EXPECT_FALSE(cpuinfoHasHypervisorFlag("flags\t\t: fpu not_hypervisor_x\n"));
  EXPECT_FALSE(cpuinfoHasHypervisorFlag("model name\t: hypervisor\n"));
  EXPECT_FALSE(cpuinfoHasHypervisorFlag(""));
}

TEST(VirtualMachineDmiName, KnownVendors) {
  EXPECT_EQ(virtualMachineDmiName("QEMU\n", "Standard PC (Q35 + ICH9, 2009)\n"), "QEMU");
  EXPECT_EQ(virtualMachineDmiName("Amazon EC2", "m5.large"), "Amazon EC2");
  EXPECT_EQ(virtualMachineDmiName("Microsoft Corporation", "Virtual Machine"), "Hyper-V");
  EXPECT_EQ(virtualMachineDmiName("innotek GmbH", "VirtualBox"), "innotek");
  EXPECT_FALSE(virtualMachineDmiName("Microsoft Corporation", "Surface Laptop").has_value());
  EXPECT_FALSE(virtualMachineDmiName("Dell Inc.", "PowerEdge R650").has_value());
  EXPECT_FALSE(virtualMachineDmiName("", "").has_value());
}

TEST(VirtualMachineDmiName, IgnoresAsciiCaseOnly) {
  EXPECT_EQ(virtualMachineDmiName("qemu", "x"), "QEMU");
  EXPECT_EQ(virtualMachineDmiName("VMWARE, INC.", ""), "VMware");
  EXPECT_EQ(virtualMachineDmiName("Dell Inc.", "a Kvm guest"), "KVM");
  EXPECT_EQ(virtualMachineDmiName("MICROSOFT CORPORATION", "virtual machine"), "Hyper-V");
  // Vendor names at the end of a long string are found.
  EXPECT_EQ(virtualMachineDmiName(std::string(900, 'x') + "Firecracker", ""), "Firecracker");
  // Only ASCII letters fold: a non-ASCII byte never matches a letter.
  EXPECT_FALSE(virtualMachineDmiName("\xd1\x85" "en", "").has_value());
}

TEST(GvisorIdentity, FixedKernelVersion) {
  EXPECT_TRUE(isGvisorKernelIdentity("4.4.0", "#1 SMP Sun Jan 10 15:06:54 PST 2016"));
  EXPECT_FALSE(isGvisorKernelIdentity("6.18.44-fc-v769", "#1 SMP PREEMPT_DYNAMIC @0"));
  EXPECT_FALSE(isGvisorKernelIdentity("4.4.0", "#1 SMP PREEMPT_DYNAMIC @0"));
  EXPECT_TRUE(isGvisorProcVersion(testData("runsc.version")));
  EXPECT_FALSE(
      isGvisorProcVersion("Linux version 6.18.44-fc-v769 (builder@sandboxing) (gcc (GCC) 15.3.0) "
                          "#1 SMP PREEMPT_DYNAMIC @0"));
  EXPECT_FALSE(isGvisorProcVersion("Linux version 4.4.0-210-generic #242-Ubuntu SMP"));
  EXPECT_FALSE(isGvisorProcVersion("Linux version 4.4.0 #242-Ubuntu SMP"));
  EXPECT_TRUE(isGvisorProcVersion(" Linux version 4.4.0 #1 SMP Sun Jan 10 15:06:54 PST 2016\n"));
}

TEST(GvisorLogLine, FromDmesgAndFromSyslog) {
  EXPECT_EQ(gvisorLogLine(testData("runsc.dmesg")), "Starting gVisor...");
  EXPECT_EQ(gvisorLogLine("<6>[    0.000000] Starting gVisor...\n<6>[    0.1] Ready!\n"),
            "Starting gVisor...");
  EXPECT_FALSE(gvisorLogLine("<6>[    0.000000] Linux version 6.1.0\n").has_value());
  EXPECT_FALSE(gvisorLogLine("").has_value());
}

}  // namespace
}  // namespace zp::probe
