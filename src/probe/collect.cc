// collectReport and collectHostFacts (probe/collect.h): the collectors of
// collect_parts.h in order, then the report cut to fit kMaxReportBytes.

#include "probe/collect.h"

#include <algorithm>

#include "common/version.h"
#include "probe/collect_parts.h"
#include "probe/connect.h"
#include "probe/report_json.h"

namespace zp::probe {
namespace {

std::vector<ConnectResult> connectTargets(const CollectOptions& options, Notes& notes) {
  std::vector<ConnectTarget> targets;
  std::vector<ConnectResult> refused;  // targets that are no numeric HOST:PORT
  for (const auto& text : options.connect_targets) {
    if (targets.size() + refused.size() >= kMaxTargets) {
      notes.add("--connect",
                "more than " + std::to_string(kMaxTargets) + " targets, the rest left out");
      break;
    }
    std::string why;
    if (auto target = parseConnectTarget(text, &why)) {
      targets.push_back(std::move(*target));
    } else {
      refused.push_back(ConnectResult{sanitizeText(text, 64), "error: " + why, 0});
    }
  }
  auto timeout = options.connect_timeout;
  if (timeout < std::chrono::milliseconds(1)) timeout = std::chrono::milliseconds(1);
  if (timeout > std::chrono::milliseconds(5000)) timeout = std::chrono::milliseconds(5000);
  std::vector<ConnectResult> results = connectAll(targets, timeout);
  for (auto& r : refused) results.push_back(std::move(r));
  return results;
}

}  // namespace

void fitReport(Report& report) {
  // zoneplane-probe prints the JSON and a newline: both within the bound.
  constexpr std::size_t kMaxJson = kMaxReportBytes - 1;
  if (encodeReport(report).size() <= kMaxJson) return;
  // Room for the note added below.
  constexpr std::size_t kTarget = kMaxReportBytes - 256;
  std::size_t dropped_mounts = 0, dropped_devices = 0;
  while (encodeReport(report).size() > kTarget) {
    if (!report.mounts.empty()) {
      std::size_t n = std::max<std::size_t>(1, report.mounts.size() / 8);
      report.mounts.resize(report.mounts.size() - n);
      dropped_mounts += n;
    } else if (!report.devices.empty()) {
      std::size_t n = std::max<std::size_t>(1, report.devices.size() / 8);
      report.devices.resize(report.devices.size() - n);
      dropped_devices += n;
    } else if (!report.unreadable.empty()) {
      report.unreadable.pop_back();
    } else {
      break;  // cannot happen: every other field is bounded well below the limit
    }
  }
  if (dropped_mounts + dropped_devices > 0 && report.unreadable.size() < kMaxUnreadable) {
    report.unreadable.push_back("report: " + std::to_string(dropped_mounts) + " mounts and " +
                                std::to_string(dropped_devices) +
                                " devices left out to stay under 256 KiB");
  }
}

Report collectReport(const CollectOptions& options) {
  Report report;
  report.probe_version = kVersion;
  Notes notes;
  collectKernel(report.kernel, notes);
  collectProcess(report.process, report.pids, notes);
  collectNamespaces(report.namespaces, notes);
  std::vector<MountInfoEntry> table = readMountTable(notes);
  collectWritable(report.writable, table, notes);
  report.masked_paths = collectMaskedPaths(notes);
  report.devices = collectDevices(notes);
  report.runtime_sockets = collectRuntimeSockets(notes);
  report.mounts = reportMounts(table, notes);
  collectCgroup(report.cgroup, table, notes);
  collectNetwork(report.network, report.kernel, notes);
  report.connects = connectTargets(options, notes);
  report.unreadable = notes.take();
  fitReport(report);
  return report;
}

Report collectHostFacts() {
  Report report;
  report.probe_version = kVersion;
  Notes notes;
  collectKernel(report.kernel, notes);
  collectNamespaces(report.namespaces, notes);
  report.unreadable = notes.take();
  return report;
}

}  // namespace zp::probe
