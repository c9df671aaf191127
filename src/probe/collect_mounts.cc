// The mount table, the writability of /proc/sys and /sys, and cgroup limits.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include "probe/collect_parts.h"

namespace zp::probe {
namespace {

constexpr std::size_t kMountInfoBytes = 1024 * 1024;

// Files whose write-open (never followed by a write) changes nothing; the
// first that exists decides. hostname is per UTS namespace; the /sys files
// only act on a write.
constexpr std::array<const char*, 3> kProcSysCandidates{
    "/proc/sys/kernel/hostname", "/proc/sys/kernel/domainname", "/proc/sys/vm/swappiness"};
constexpr std::array<const char*, 3> kSysCandidates{"/sys/kernel/mm/transparent_hugepage/enabled",
                                                    "/sys/kernel/profiling",
                                                    "/sys/class/net/lo/tx_queue_len"};

// True if one candidate opened for writing; false when they were refused or
// none exists (noted).
template <std::size_t N>
bool writeOpens(const std::array<const char*, N>& candidates, std::string_view what, Notes& notes) {
  for (const char* path : candidates) {
    int fd = ::open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd >= 0) {
      ::close(fd);
      return true;
    }
    if (errno == ENOENT) continue;
    return false;  // EROFS, EACCES, EPERM: refused, the answer
  }
  notes.add(what, "no file to write-open");
  return false;
}

std::optional<bool> readOnlyMount(const std::vector<MountInfoEntry>& table, std::string_view path) {
  const MountInfoEntry* mount = mountContaining(table, path);
  if (mount == nullptr) return std::nullopt;
  return hasMountOption(mount->mount_options, "ro");
}

// The last mount of `fs_type` whose super options name `controller` (any for "").
const MountInfoEntry* cgroupMount(const std::vector<MountInfoEntry>& table,
                                  std::string_view fs_type, std::string_view controller) {
  const MountInfoEntry* found = nullptr;
  for (const auto& m : table) {
    if (m.fs_type != fs_type) continue;
    if (!controller.empty() && !hasMountOption(m.super_options, controller)) continue;
    found = &m;
  }
  return found;
}

std::optional<std::string> readLimit(const std::string& path, Notes& notes) {
  FileText file = readFileBounded(path, 256);
  if (!file.ok()) {
    notes.failed(path, file.error);
    return std::nullopt;
  }
  return std::string(trim(file.text));
}

// The directory of `controller` ("" for v2) for the calling process.
std::optional<std::string> controllerDirectory(const std::vector<CgroupLine>& lines,
                                               const std::vector<MountInfoEntry>& table,
                                               std::string_view controller, Notes& notes) {
  const CgroupLine* line = nullptr;
  for (const auto& l : lines) {
    if (controller.empty() ? (l.hierarchy_id == "0" && l.controllers.empty())
                           : std::find(l.controllers.begin(), l.controllers.end(), controller) !=
                                 l.controllers.end()) {
      line = &l;
    }
  }
  if (line == nullptr) return std::nullopt;
  const MountInfoEntry* mount = controller.empty() ? cgroupMount(table, "cgroup2", "")
                                                   : cgroupMount(table, "cgroup", controller);
  if (mount == nullptr) {
    notes.add(std::string("cgroup ") + (controller.empty() ? "v2" : std::string(controller)),
              "not mounted");
    return std::nullopt;
  }
  return cgroupDirectory(mount->mount_point, mount->root, line->path);
}

}  // namespace

std::vector<MountInfoEntry> readMountTable(Notes& notes) {
  FileText file = readFileBounded("/proc/self/mountinfo", kMountInfoBytes);
  if (!file.ok()) {
    notes.failed("/proc/self/mountinfo", file.error);
    return {};
  }
  if (file.truncated) notes.add("/proc/self/mountinfo", "longer than 1 MiB, rest left out");
  std::size_t skipped = 0;
  auto table = parseMountInfo(file.text, kMaxMountInfoEntries, &skipped);
  if (skipped > 0) {
    notes.add("/proc/self/mountinfo", std::to_string(skipped) + " mounts past the first " +
                                          std::to_string(kMaxMountInfoEntries) + " left out");
  }
  return table;
}

std::vector<Mount> reportMounts(const std::vector<MountInfoEntry>& table, Notes& notes) {
  std::vector<Mount> mounts;
  for (const auto& entry : table) {
    if (mounts.size() >= kMaxMounts) {
      notes.add("/proc/self/mountinfo",
                "more than " + std::to_string(kMaxMounts) + " mounts, the report lists the first");
      break;
    }
    Mount m;
    m.mount_point = sanitizeText(entry.mount_point, 1024);
    m.fs_type = sanitizeText(entry.fs_type, 64);
    m.source = sanitizeText(entry.source, 1024);
    m.options = sanitizeText(entry.mount_options, 1024);
    mounts.push_back(std::move(m));
  }
  return mounts;
}

void collectWritable(WritableFacts& writable, const std::vector<MountInfoEntry>& table,
                     Notes& notes) {
  writable.proc_sys_writable = writeOpens(kProcSysCandidates, "/proc/sys", notes);
  writable.sys_writable = writeOpens(kSysCandidates, "/sys", notes);
  writable.proc_sys_mount_ro = readOnlyMount(table, "/proc/sys");
  writable.sys_mount_ro = readOnlyMount(table, "/sys");
}

void collectCgroup(CgroupFacts& cgroup, const std::vector<MountInfoEntry>& table, Notes& notes) {
  FileText file = readFileBounded("/proc/self/cgroup", 16 * 1024);
  if (!file.ok()) {
    notes.failed("/proc/self/cgroup", file.error);
    return;
  }
  auto lines = parseProcCgroup(file.text);
  cgroup.version = cgroupVersion(lines);
  if (cgroup.version == 2) {
    auto dir = controllerDirectory(lines, table, "", notes);
    if (!dir) return;
    if (auto v = readLimit(*dir + "/memory.max", notes)) {
      cgroup.memory_limit = normalizeMaxOrNumber(*v).value_or("");
    }
    if (auto v = readLimit(*dir + "/cpu.max", notes)) {
      cgroup.cpu_limit = normalizeCpuMaxV2(*v).value_or("");
    }
    if (auto v = readLimit(*dir + "/pids.max", notes)) {
      cgroup.pids_limit = normalizeMaxOrNumber(*v).value_or("");
    }
  } else if (cgroup.version == 1) {
    if (auto dir = controllerDirectory(lines, table, "memory", notes)) {
      if (auto v = readLimit(*dir + "/memory.limit_in_bytes", notes)) {
        cgroup.memory_limit = normalizeMemoryLimitV1(*v).value_or("");
      }
    }
    if (auto dir = controllerDirectory(lines, table, "cpu", notes)) {
      auto quota = readLimit(*dir + "/cpu.cfs_quota_us", notes);
      auto period = readLimit(*dir + "/cpu.cfs_period_us", notes);
      if (quota && period) cgroup.cpu_limit = normalizeCpuV1(*quota, *period).value_or("");
    }
    if (auto dir = controllerDirectory(lines, table, "pids", notes)) {
      if (auto v = readLimit(*dir + "/pids.max", notes)) {
        cgroup.pids_limit = normalizeMaxOrNumber(*v).value_or("");
      }
    }
  } else {
    notes.add("/proc/self/cgroup", "names no cgroup hierarchy");
  }
}

}  // namespace zp::probe
