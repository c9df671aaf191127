// /proc/self/status, /proc/PID/cmdline, /proc/net/dev and the text helpers,
// against text recorded on the host, in a runc container and in gVisor.

#include <gtest/gtest.h>

#include <algorithm>

#include "probe/parse.h"
#include "test_data.h"

namespace zp::probe {
namespace {

using testing::testData;

TEST(ParseProcStatus, HostRootHasEveryCapabilityAndNoSeccomp) {
  ProcStatus s = parseProcStatus(testData("host.status"));
  EXPECT_EQ(s.uid, 0);
  EXPECT_EQ(s.euid, 0);
  EXPECT_EQ(s.gid, 0);
  EXPECT_EQ(s.egid, 0);
  EXPECT_TRUE(s.groups.empty());
  EXPECT_EQ(s.cap_inheritable, 0u);
  EXPECT_EQ(s.cap_permitted, 0x000001fffeffffffull);
  EXPECT_EQ(s.cap_effective, 0x000001fffeffffffull);
  EXPECT_EQ(s.cap_bounding, 0x000001fffeffffffull);
  EXPECT_EQ(s.cap_ambient, 0u);
  EXPECT_EQ(s.seccomp, 0);
  EXPECT_EQ(s.no_new_privs, false);
}

TEST(ParseProcStatus, RuncContainerHasTheDefaultCapabilitiesAndNoNewPrivs) {
  ProcStatus s = parseProcStatus(testData("runc.status"));
  EXPECT_EQ(s.uid, 0);
  EXPECT_EQ(s.groups, std::vector<std::int64_t>{0});
  EXPECT_EQ(s.cap_effective, 0xa80425fbull);  // runc's default set, CAP_SYS_ADMIN not in it
  EXPECT_EQ(s.cap_bounding, 0xa80425fbull);
  EXPECT_EQ(s.no_new_privs, true);
  EXPECT_EQ(s.seccomp, 0);
}

TEST(ParseProcStatus, GvisorHasNoAmbientOrNoNewPrivsLines) {
  ProcStatus s = parseProcStatus(testData("runsc.status"));
  EXPECT_EQ(s.uid, 0);
  EXPECT_TRUE(s.groups.empty());
  EXPECT_EQ(s.cap_effective, 0x3fffffdfffull);
  EXPECT_FALSE(s.cap_ambient.has_value());
  EXPECT_FALSE(s.no_new_privs.has_value());
  EXPECT_EQ(s.seccomp, 0);
}

TEST(ParseProcStatus, NonRootWithGroupsAndSeccompFilter) {
  ProcStatus s = parseProcStatus(
      "Name:\tprobe\nUid:\t65534\t65534\t65534\t65534\nGid:\t65534\t65534\t65534\t65534\n"
      "Groups:\t10 20 65534 \nCapInh:\t0000000000000000\nCapPrm:\t0000000000000000\n"
      "CapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\n"
      "NoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\n");
  EXPECT_EQ(s.uid, 65534);
  EXPECT_EQ(s.egid, 65534);
  EXPECT_EQ(s.groups, (std::vector<std::int64_t>{10, 20, 65534}));
  EXPECT_EQ(s.cap_effective, 0u);
  EXPECT_EQ(s.seccomp, 2);
  EXPECT_EQ(s.no_new_privs, true);
}

TEST(ParseProcStatus, MalformedLinesLeaveFieldsUnset) {
  ProcStatus s = parseProcStatus(
      "Uid:\tx\t0\nGid:\t5\nCapEff:\tzzzz\nCapPrm:\t00000000000000000001\nSeccomp:\t7\n"
      "NoNewPrivs:\tyes\nno colon here\n");
  EXPECT_EQ(s.uid, -1);
  EXPECT_EQ(s.gid, -1);
  EXPECT_FALSE(s.cap_effective.has_value());
  EXPECT_FALSE(s.cap_permitted.has_value());  // more than 64 bits
  EXPECT_FALSE(s.seccomp.has_value());
  EXPECT_FALSE(s.no_new_privs.has_value());
  EXPECT_EQ(parseProcStatus("").uid, -1);
}

TEST(ParseProcStatus, GroupsAreBounded) {
  std::string groups = "Groups:\t";
  for (int i = 0; i < 1000; ++i) groups += std::to_string(i) + " ";
  EXPECT_EQ(parseProcStatus(groups + "\n").groups.size(), kMaxGroups);
}

TEST(ParseProcNetDev, InterfaceNamesFromEachRecording) {
  EXPECT_EQ(parseProcNetDev(testData("host.netdev"), 64),
            (std::vector<std::string>{"lo", "ifb0", "ifb1", "eth0", "zp0"}));
  EXPECT_EQ(parseProcNetDev(testData("runc.netdev"), 64), std::vector<std::string>{"lo"});
  EXPECT_EQ(parseProcNetDev(testData("runsc-none.netdev"), 64), std::vector<std::string>{"lo"});
  auto hostinet = parseProcNetDev(testData("runsc-host.netdev"), 64);
  // gVisor with --network=host lists the host's interfaces of its namespace.
  ASSERT_EQ(hostinet.size(), 2u);
  std::sort(hostinet.begin(), hostinet.end());
  EXPECT_EQ(hostinet[0], "lo");
  EXPECT_TRUE(hostinet[1].starts_with("ve-runsc-")) << hostinet[1];
  EXPECT_EQ(parseProcNetDev(testData("host.netdev"), 2).size(), 2u);
}

TEST(TextHelpers, CmdlineJoinsArgumentsWithSpacesAndIsBounded) {
  using namespace std::string_literals;
  EXPECT_EQ(cmdlineText("/pause\0"s, 256), "/pause");
  EXPECT_EQ(cmdlineText("sh\0-c\0sleep 1\0\0"s, 256), "sh -c sleep 1");
  EXPECT_EQ(cmdlineText(std::string(1000, 'a'), 256).size(), 256u);
  EXPECT_EQ(cmdlineText("", 256), "");
}

TEST(TextHelpers, SanitizeKeepsUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(sanitizeText("caf\xc3\xa9", 100), "caf\xc3\xa9");
  EXPECT_EQ(sanitizeText("a\xff"
                         "b\xc3",
                         100),
            "a?b?");
  EXPECT_EQ(sanitizeText("\xed\xa0\x80", 100), "???");  // a UTF-16 surrogate is not UTF-8
  // Cut at a character boundary, never inside a sequence.
  EXPECT_EQ(sanitizeText("ab\xc3\xa9", 3), "ab");
  EXPECT_EQ(trim("  \t x y \n\0"), "x y");
}

// Found by fuzzing (probe_fuzz): control characters (a newline, a terminal
// escape) from a container's files passed through, though the contract is
// printable ASCII or UTF-8 only.
TEST(TextHelpers, SanitizeReplacesControlCharacters) {
  using namespace std::string_literals;
  EXPECT_EQ(sanitizeText("Linux version 4.4.0\n", 100), "Linux version 4.4.0?");
  EXPECT_EQ(sanitizeText("a\x1b[31mred\tb\x7f\0"s, 100), "a?[31mred?b??");
  EXPECT_EQ(sanitizeText("caf\xc3\xa9 ~", 100), "caf\xc3\xa9 ~");
}

TEST(TextHelpers, NormalizedIsTrimmedLowerCaseWithSingleSpaces) {
  EXPECT_EQ(normalized("  #1  SMP\tPREEMPT_DYNAMIC\n\n Debian \0"),
            "#1 smp preempt_dynamic debian");
  EXPECT_EQ(normalized("3F1C0A9E-5B2D\n"), "3f1c0a9e-5b2d");
  EXPECT_EQ(normalized(" \t\n"), "");
  EXPECT_EQ(normalized("\xc3\x89t\xc3\xa9"), "\xc3\x89t\xc3\xa9");  // ASCII letters only
}

}  // namespace
}  // namespace zp::probe
