// The kernel-identity parsers of probe/parse.h: hypervisor and application
// kernel signs.

#include <array>

#include "probe/parse.h"

namespace zp::probe {
namespace {

bool containsWord(std::string_view text, std::string_view word) {
  std::size_t pos = 0;
  while ((pos = text.find(word, pos)) != std::string_view::npos) {
    bool start_ok = pos == 0 || text[pos - 1] == ' ' || text[pos - 1] == '\t';
    std::size_t end = pos + word.size();
    bool end_ok = end == text.size() || text[end] == ' ' || text[end] == '\t' ||
                  text[end] == '\n' || text[end] == '\r';
    if (start_ok && end_ok) return true;
    pos = end;
  }
  return false;
}

// `text` with ASCII letters in lower case (DMI strings are ASCII; other
// bytes are kept as they are).
std::string lowerAscii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

bool cpuinfoHasHypervisorFlag(std::string_view cpuinfo) {
  while (!cpuinfo.empty()) {
    std::size_t eol = cpuinfo.find('\n');
    std::string_view line = cpuinfo.substr(0, eol);
    cpuinfo = eol == std::string_view::npos ? std::string_view{} : cpuinfo.substr(eol + 1);
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    if (trim(line.substr(0, colon)) != "flags") continue;
    if (containsWord(line.substr(colon + 1), "hypervisor")) return true;
  }
  return false;
}

std::optional<std::string> virtualMachineDmiName(std::string_view sys_vendor,
                                                 std::string_view product_name) {
  sys_vendor = trim(sys_vendor);
  product_name = trim(product_name);
  // Vendor strings of common hypervisors and clouds.
  static constexpr std::array<std::string_view, 12> kVendors{
      "QEMU",      "KVM",   "VMware",     "Xen",    "innotek",          "VirtualBox",
      "Parallels", "Bochs", "Amazon EC2", "Google", "Cloud Hypervisor", "Firecracker"};
  // Compared without regard to ASCII case: each string is folded once.
  const std::string vendor_folded = lowerAscii(sys_vendor);
  const std::string product_folded = lowerAscii(product_name);
  const auto contains = [](const std::string& folded, std::string_view needle) {
    return folded.find(lowerAscii(needle)) != std::string::npos;
  };
  for (auto vendor : kVendors) {
    if (contains(vendor_folded, vendor) || contains(product_folded, vendor)) {
      return std::string(vendor);
    }
  }
  if (contains(vendor_folded, "Microsoft") && contains(product_folded, "Virtual Machine")) {
    return std::string("Hyper-V");
  }
  return std::nullopt;
}

bool isGvisorKernelIdentity(std::string_view release, std::string_view version) {
  return trim(release) == kGvisorRelease && trim(version) == kGvisorVersion;
}

bool isGvisorProcVersion(std::string_view proc_version) {
  proc_version = trim(proc_version);
  // "Linux version 4.4.0 #1 SMP Sun Jan 10 15:06:54 PST 2016"
  constexpr std::string_view kPrefix = "Linux version ";
  if (!proc_version.starts_with(kPrefix)) return false;
  proc_version.remove_prefix(kPrefix.size());
  if (!proc_version.starts_with(kGvisorRelease)) return false;
  proc_version.remove_prefix(kGvisorRelease.size());
  return proc_version.starts_with(' ') &&
         proc_version.find(kGvisorVersion) != std::string_view::npos;
}

std::optional<std::string> gvisorLogLine(std::string_view kernel_log) {
  while (!kernel_log.empty()) {
    std::size_t eol = kernel_log.find('\n');
    std::string_view line = kernel_log.substr(0, eol);
    kernel_log = eol == std::string_view::npos ? std::string_view{} : kernel_log.substr(eol + 1);
    if (line.find("gVisor") == std::string_view::npos) continue;
    // syslog(2) lines start "<6>[    0.000000] "; dmesg(1) drops the level.
    line = trim(line);
    if (line.starts_with('<') && line.find('>') != std::string_view::npos) {
      line.remove_prefix(line.find('>') + 1);
    }
    if (line.starts_with('[') && line.find(']') != std::string_view::npos) {
      line.remove_prefix(line.find(']') + 1);
    }
    return sanitizeText(trim(line), 200);
  }
  return std::nullopt;
}

}  // namespace zp::probe
