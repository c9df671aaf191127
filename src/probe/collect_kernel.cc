// Kernel identity and the signs of what serves the system calls.

#include <sys/klog.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>

#include "probe/collect_parts.h"

namespace zp::probe {
namespace {

constexpr int kSyslogActionReadAll = 3;  // syslog(2): read the whole kernel log buffer
constexpr std::size_t kKernelLogBytes = 64 * 1024;

void addSign(std::vector<std::string>& signs, std::string sign) {
  if (signs.size() < kMaxSigns) signs.push_back(sanitizeText(sign, 256));
}

// Reads a short file; ENOENT is silent when `missing_is_normal`.
std::optional<std::string> readShort(const std::string& path, Notes& notes, bool missing_is_normal,
                                     std::size_t max = 1024) {
  FileText file = readFileBounded(path, max);
  if (!file.ok()) {
    if (!(missing_is_normal && file.error == ENOENT)) notes.failed(path, file.error);
    return std::nullopt;
  }
  return std::string(trim(file.text));
}

void hypervisorSigns(KernelFacts& kernel, Notes& notes) {
  FileText cpuinfo = readFileBounded("/proc/cpuinfo", 64 * 1024);
  if (!cpuinfo.ok()) {
    notes.failed("/proc/cpuinfo", cpuinfo.error);
  } else if (cpuinfoHasHypervisorFlag(cpuinfo.text)) {
    addSign(kernel.hypervisor_signs, "/proc/cpuinfo: hypervisor flag");
  }
  auto vendor = readShort("/sys/class/dmi/id/sys_vendor", notes, true);
  auto product = readShort("/sys/class/dmi/id/product_name", notes, true);
  if (vendor || product) {
    if (auto name = virtualMachineDmiName(vendor.value_or(""), product.value_or(""))) {
      addSign(kernel.hypervisor_signs, "/sys/class/dmi/id: " + vendor.value_or("") + " / " +
                                           product.value_or("") + " (" + *name + ")");
    }
  }
  if (auto type = readShort("/sys/hypervisor/type", notes, true); type && !type->empty()) {
    addSign(kernel.hypervisor_signs, "/sys/hypervisor/type: " + *type);
  }
}

void applicationKernelSigns(KernelFacts& kernel, Notes& notes) {
  if (isGvisorKernelIdentity(kernel.release, kernel.version)) {
    addSign(kernel.application_kernel_signs, "uname: " + kernel.release + " " + kernel.version +
                                                 " (gVisor's fixed kernel identity)");
  }
  if (isGvisorProcVersion(kernel.proc_version)) {
    addSign(kernel.application_kernel_signs, "/proc/version: gVisor's fixed version");
  }
  // The kernel log: gVisor's starts with "Starting gVisor..." and lets any
  // process read it; Linux needs CAP_SYSLOG (dmesg_restrict) or a seccomp
  // profile allowing syslog(2), so a refusal is normal there.
  std::string log(kKernelLogBytes, '\0');
  int n = ::klogctl(kSyslogActionReadAll, log.data(), static_cast<int>(log.size()));
  if (n < 0) {
    notes.failed("dmesg (syslog(2))", errno);
  } else {
    log.resize(static_cast<std::size_t>(n));
    if (auto line = gvisorLogLine(log)) addSign(kernel.application_kernel_signs, "dmesg: " + *line);
  }
  // Linux's /proc/sys/kernel always has osrelease and ostype next to
  // hostname; gVisor's holds only a handful of entries.
  if (::access("/proc/sys/kernel/hostname", F_OK) == 0 &&
      ::access("/proc/sys/kernel/osrelease", F_OK) != 0 && errno == ENOENT &&
      ::access("/proc/sys/kernel/ostype", F_OK) != 0 && errno == ENOENT) {
    addSign(kernel.application_kernel_signs,
            "/proc/sys/kernel: hostname without osrelease or ostype (not Linux's procfs)");
  }
}

}  // namespace

void collectKernel(KernelFacts& kernel, Notes& notes) {
  if (auto id = readShort("/proc/sys/kernel/random/boot_id", notes, false, 128)) {
    if (!id->empty()) kernel.boot_id = sanitizeText(*id, 64);
  }
  struct utsname names {};
  if (::uname(&names) == 0) {
    kernel.sysname = sanitizeText(trim(names.sysname), 256);
    kernel.release = sanitizeText(trim(names.release), 256);
    kernel.version = sanitizeText(trim(names.version), 256);
    kernel.machine = sanitizeText(trim(names.machine), 256);
  } else {
    notes.failed("uname(2)", errno);
  }
  if (auto version = readShort("/proc/version", notes, false, 2048)) {
    kernel.proc_version = sanitizeText(*version, 1024);
  }
  hypervisorSigns(kernel, notes);
  applicationKernelSigns(kernel, notes);
}

}  // namespace zp::probe
