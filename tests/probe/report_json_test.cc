// The report's JSON: every field survives encode -> decode, recorded reports
// decode, and a report always fits kMaxReportBytes.

#include "probe/report_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "probe/collect.h"
#include "probe/collect_parts.h"
#include "sample_report.h"
#include "test_data.h"

namespace zp::probe {
namespace {

using testing::fullReport;
using testing::testData;

void expectSame(const Report& a, const Report& b) {
  EXPECT_EQ(encodeReport(a), encodeReport(b));
  EXPECT_EQ(a.format, b.format);
  EXPECT_EQ(a.probe_version, b.probe_version);
  EXPECT_EQ(a.kernel.boot_id, b.kernel.boot_id);
  EXPECT_EQ(a.kernel.release, b.kernel.release);
  EXPECT_EQ(a.kernel.application_kernel_signs, b.kernel.application_kernel_signs);
  EXPECT_EQ(a.process.groups, b.process.groups);
  EXPECT_EQ(a.process.cap_effective, b.process.cap_effective);
  EXPECT_EQ(a.process.cap_bounding, b.process.cap_bounding);
  EXPECT_EQ(a.process.seccomp, b.process.seccomp);
  EXPECT_EQ(a.process.no_new_privs, b.process.no_new_privs);
  EXPECT_EQ(a.pids.pid1_cmdline, b.pids.pid1_cmdline);
  EXPECT_EQ(a.namespaces, b.namespaces);
  EXPECT_EQ(a.writable.sys_writable, b.writable.sys_writable);
  EXPECT_EQ(a.writable.proc_sys_mount_ro, b.writable.proc_sys_mount_ro);
  EXPECT_EQ(a.writable.sys_mount_ro, b.writable.sys_mount_ro);
  ASSERT_EQ(a.devices.size(), b.devices.size());
  for (std::size_t i = 0; i < a.devices.size(); ++i) {
    EXPECT_EQ(a.devices[i].path, b.devices[i].path);
    EXPECT_EQ(a.devices[i].type, b.devices[i].type);
    EXPECT_EQ(a.devices[i].major, b.devices[i].major);
    EXPECT_EQ(a.devices[i].minor, b.devices[i].minor);
  }
  ASSERT_EQ(a.mounts.size(), b.mounts.size());
  for (std::size_t i = 0; i < a.mounts.size(); ++i)
    EXPECT_EQ(a.mounts[i].mount_point, b.mounts[i].mount_point);
  EXPECT_EQ(a.cgroup.cpu_limit, b.cgroup.cpu_limit);
  EXPECT_EQ(a.network.interfaces, b.network.interfaces);
  EXPECT_EQ(a.network.host_network_stack, b.network.host_network_stack);
  ASSERT_EQ(a.connects.size(), b.connects.size());
  for (std::size_t i = 0; i < a.connects.size(); ++i) {
    EXPECT_EQ(a.connects[i].result, b.connects[i].result);
    EXPECT_EQ(a.connects[i].elapsed_ms, b.connects[i].elapsed_ms);
  }
  EXPECT_EQ(a.unreadable, b.unreadable);
}

TEST(ReportJson, RoundTripKeepsEveryField) {
  Report original = fullReport();
  std::string text = encodeReport(original);
  EXPECT_EQ(text.find('\n'), std::string::npos);  // one line
  auto decoded = decodeReport(text);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().toString();
  expectSame(original, *decoded);
}

TEST(ReportJson, RoundTripOfEmptyOptionals) {
  Report original;  // nullopt everywhere, empty lists
  auto text = encodeReport(original);
  auto j = nlohmann::json::parse(text);
  EXPECT_TRUE(j["kernel"]["boot_id"].is_null());
  EXPECT_TRUE(j["process"]["seccomp"].is_null());
  EXPECT_TRUE(j["network"]["host_network_stack"].is_null());
  auto decoded = decodeReport(text);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().toString();
  expectSame(original, *decoded);
}

TEST(ReportJson, RecordedGvisorReportsDecode) {
  auto hostinet = decodeReport(testData("runsc-host.report.json"));
  ASSERT_TRUE(hostinet.has_value()) << hostinet.error().toString();
  EXPECT_FALSE(hostinet->kernel.boot_id.has_value());
  EXPECT_EQ(hostinet->kernel.release, "4.4.0");
  EXPECT_FALSE(hostinet->kernel.application_kernel_signs.empty());
  EXPECT_EQ(hostinet->network.host_network_stack, true);
  auto netstack = decodeReport(testData("runsc-none.report.json"));
  ASSERT_TRUE(netstack.has_value()) << netstack.error().toString();
  EXPECT_EQ(netstack->network.host_network_stack, false);
  EXPECT_EQ(netstack->namespaces.size(), 3u);  // gVisor shows net, pid and user only
}

TEST(ReportJson, RecordedGvisorReportsThroughContainerdDecode) {
  // The probe image run by containerd's runc shim with runsc as its runtime
  // binary, as user 65534 on a read-only root.
  auto hostinet = decodeReport(testData("runsc-ctr-host.report.json"));
  ASSERT_TRUE(hostinet.has_value()) << hostinet.error().toString();
  EXPECT_EQ(hostinet->process.uid, 65534);
  EXPECT_EQ(hostinet->network.host_network_stack, true);
  auto netstack = decodeReport(testData("runsc-ctr-none.report.json"));
  ASSERT_TRUE(netstack.has_value()) << netstack.error().toString();
  EXPECT_EQ(netstack->network.host_network_stack, false);
  EXPECT_FALSE(netstack->kernel.boot_id.has_value());
}

TEST(ReportJson, RecordedRuncReportDecodes) {
  auto runc = decodeReport(testData("runc.report.json"));
  ASSERT_TRUE(runc.has_value()) << runc.error().toString();
  EXPECT_TRUE(runc->kernel.boot_id.has_value());
  EXPECT_TRUE(runc->kernel.application_kernel_signs.empty());
  EXPECT_FALSE(runc->network.host_network_stack.has_value());
  EXPECT_EQ(runc->process.uid, 1000);  // the busybox-nonroot image
  EXPECT_EQ(runc->cgroup.memory_limit, "67108864");
  auto image = decodeReport(testData("runc-image.report.json"));
  ASSERT_TRUE(image.has_value()) << image.error().toString();
  EXPECT_EQ(image->process.uid, 65534);  // the probe image's own User
  EXPECT_EQ(image->process.seccomp, 2);
  EXPECT_EQ(image->writable.proc_sys_mount_ro, true);
}

TEST(ReportJson, InvalidUtf8IsReplacedNotThrown) {
  Report r;
  r.unreadable = {"bad \xff byte"};
  auto decoded = decodeReport(encodeReport(r));
  ASSERT_TRUE(decoded.has_value()) << decoded.error().toString();
  ASSERT_EQ(decoded->unreadable.size(), 1u);
  EXPECT_NE(decoded->unreadable[0], "bad \xff byte");
}

TEST(CollectReport, FitsTheBoundAndDecodes) {
  Report r = collectReport(CollectOptions{});
  std::string text = encodeReport(r);
  EXPECT_LE(text.size(), kMaxReportBytes);
  auto decoded = decodeReport(text);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().toString();
  EXPECT_EQ(decoded->format, kReportFormat);
  EXPECT_FALSE(decoded->kernel.release.empty());
  EXPECT_EQ(decoded->masked_paths.size(), 11u);
}

TEST(FitReport, CutsMountsThenDevicesToTheBound) {
  Report r = fullReport();
  r.mounts.assign(kMaxMounts, Mount{std::string(1024, 'm'), "overlay", std::string(1024, 's'),
                                    std::string(1024, 'o')});
  r.devices.assign(kMaxDevices, Device{"/dev/" + std::string(1000, 'd'), 'c', 1, 3});
  ASSERT_GT(encodeReport(r).size(), kMaxReportBytes);
  fitReport(r);
  std::string text = encodeReport(r);
  EXPECT_LE(text.size(), kMaxReportBytes);
  EXPECT_LT(r.mounts.size(), kMaxMounts);
  EXPECT_TRUE(r.unreadable.back().starts_with("report: ")) << r.unreadable.back();
  EXPECT_TRUE(decodeReport(text).has_value());

  Report small = fullReport();
  std::string before = encodeReport(small);
  fitReport(small);
  EXPECT_EQ(encodeReport(small), before);  // a report that fits is left alone
}

// A report whose JSON is exactly `size` bytes and that decodes: mounts of
// filler, the last one's options adjusted to the byte (every string within
// kMaxTextBytes).
Report reportOfSize(std::size_t size) {
  const Mount filler{"/m", "overlay", "s", std::string(1900, 'o')};
  Report r = fullReport();
  r.mounts.clear();
  const std::size_t base = encodeReport(r).size();
  r.mounts.push_back(filler);
  const std::size_t per_mount = encodeReport(r).size() - base + 1;  // and a comma
  // Less than one mount's JSON left: the last one's options take the rest.
  while (base + (r.mounts.size() + 1) * per_mount < size) r.mounts.push_back(filler);
  r.mounts.back().options.append(size - encodeReport(r).size(), 'o');
  EXPECT_LE(r.mounts.back().options.size(), kMaxTextBytes);
  EXPECT_LE(r.mounts.size(), kMaxMounts);
  return r;
}

TEST(FitReport, LeavesRoomForTheNewlineAtTheBoundary) {
  // JSON of exactly kMaxReportBytes: with its newline one byte too many.
  Report r = reportOfSize(kMaxReportBytes);
  ASSERT_EQ(encodeReport(r).size(), kMaxReportBytes);
  fitReport(r);
  std::string line = encodeReport(r) + "\n";
  EXPECT_LE(line.size(), kMaxReportBytes);
  auto decoded = decodeReport(line);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().toString();
  EXPECT_LT(decoded->mounts.size(), reportOfSize(kMaxReportBytes).mounts.size());

  // One byte less fits with its newline: left alone.
  Report fits = reportOfSize(kMaxReportBytes - 1);
  std::string before = encodeReport(fits);
  fitReport(fits);
  EXPECT_EQ(encodeReport(fits), before);
  EXPECT_TRUE(decodeReport(before + "\n").has_value());
}

TEST(CollectHostFacts, KernelAndNamespacesOnly) {
  Report host = collectHostFacts();
  EXPECT_FALSE(host.kernel.release.empty());
  EXPECT_FALSE(host.namespaces.empty());
  EXPECT_TRUE(host.mounts.empty());
  EXPECT_TRUE(host.devices.empty());
}

}  // namespace
}  // namespace zp::probe
