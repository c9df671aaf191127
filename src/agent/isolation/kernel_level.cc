// The level of §10.2 from kernel identity: boot ids first, then uname and
// /proc/version. Every doubt resolves to the weaker level: a boot id of its
// own over a kernel identity byte for byte the host's is the host's kernel.

#include <optional>
#include <string>

#include "agent/isolation/verdict_parts.h"
#include "agent/isolation/verdict_text.h"
#include "probe/parse.h"

namespace zp::agent::verdict_detail {
namespace {

using api::IsolationLevel;
using api::Severity;

bool isHexDigit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// A boot id as the kernel writes it: a UUID (8-4-4-4-12 hex digits), compared
// in lower case. Anything else (empty, garbage, the nil UUID) is no usable
// boot id, so it can prove neither "same kernel" nor "own kernel".
std::optional<std::string> usableBootId(const std::optional<std::string>& raw) {
  if (!raw) return std::nullopt;
  std::string id = normalized(*raw);
  if (id.size() != 36) return std::nullopt;
  bool all_zero = true;
  for (std::size_t i = 0; i < id.size(); ++i) {
    bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_position ? id[i] != '-' : !isHexDigit(id[i])) return std::nullopt;
    if (!dash_position && id[i] != '0') all_zero = false;
  }
  if (all_zero) return std::nullopt;
  return id;
}

std::string bootIdText(const std::optional<std::string>& raw) {
  if (!raw || trim(*raw).empty()) return "none";
  if (auto id = usableBootId(raw)) return *id;
  return "unusable " + quote(*raw, 64);
}

std::string kernelText(const probe::KernelFacts& k) {
  return "uname " + quote(trim(k.release), 64) + " " + quote(trim(k.version), 96) +
         ", /proc/version " + quote(trim(k.proc_version), 128);
}

enum class KernelMatch { kSame, kOther, kUnknown };

// Compares uname release, uname version and /proc/version, each only where
// both sides have it (normalized: case and whitespace do not count). One
// equal part makes the kernels the same; "other" needs at least one part
// compared and every compared part different.
KernelMatch compareKernels(const probe::KernelFacts& seen, const probe::KernelFacts& host) {
  const std::string* parts[][2] = {{&seen.release, &host.release},
                                   {&seen.version, &host.version},
                                   {&seen.proc_version, &host.proc_version}};
  int compared = 0;
  for (const auto& part : parts) {
    std::string a = normalized(*part[0]);
    std::string b = normalized(*part[1]);
    if (a.empty() || b.empty()) continue;
    if (a == b) return KernelMatch::kSame;
    ++compared;
  }
  return compared > 0 ? KernelMatch::kOther : KernelMatch::kUnknown;
}

// Signs that an application kernel serves the workload: the probe's own
// list, and gVisor's fixed kernel identity, which the verdict recognises by
// itself.
std::vector<std::string> applicationKernelSigns(const probe::KernelFacts& k) {
  std::vector<std::string> signs;
  for (const auto& sign : k.application_kernel_signs) {
    if (!trim(sign).empty()) signs.push_back(quote(trim(sign), 96));
  }
  if (probe::isGvisorKernelIdentity(k.release, k.version) ||
      probe::isGvisorProcVersion(k.proc_version)) {
    signs.push_back("gVisor's fixed kernel identity " + std::string(probe::kGvisorRelease) + " " +
                    std::string(probe::kGvisorVersion));
  }
  return signs;
}

// The kernel identity strings that are byte for byte the host's: uname
// release and version together (the version carries the build's number and
// time stamp), and /proc/version (release, compiler, build). Empty strings
// prove nothing. Unlike compareKernels, nothing is normalized: this is the
// test that overrules a boot id, so it takes the strongest evidence only.
std::vector<std::string> identicalKernelStrings(const probe::KernelFacts& seen,
                                                const probe::KernelFacts& host) {
  std::vector<std::string> identical;
  if (!seen.release.empty() && !seen.version.empty() && seen.release == host.release &&
      seen.version == host.version) {
    identical.push_back("uname " + quote(seen.release, 64) + " " + quote(seen.version, 96));
  }
  if (!seen.proc_version.empty() && seen.proc_version == host.proc_version) {
    identical.push_back("/proc/version " + quote(seen.proc_version, 256));
  }
  return identical;
}

constexpr std::string_view kOwnKernelRemedy =
    "for workloads that are not trusted use a runtime class with its own kernel: an "
    "application kernel (gVisor) or a hypervisor class (Edera Protect, Kata)";

api::Finding hostKernelShared(std::string how) {
  return makeFinding(kHostKernelShared, Severity::kInfo,
                     "the workload runs on the host's kernel: " + std::move(how),
                     std::string(kOwnKernelRemedy));
}

api::Finding kernelUnidentified(const probe::Report& seen, const probe::Report& host) {
  return makeFinding(
      kKernelUnidentified, Severity::kMedium,
      "neither a usable boot id nor a kernel string to compare: boot id " +
          bootIdText(seen.kernel.boot_id) + " (host " + bootIdText(host.kernel.boot_id) +
          "); workload " + kernelText(seen.kernel) + "; host " + kernelText(host.kernel) +
          "; counted as shared-kernel",
      "let the probe read /proc/sys/kernel/random/boot_id, uname and /proc/version (see the "
      "report's unreadable list) and the agent its own; until then the class counts as "
      "sharing the host's kernel");
}

api::Finding bootIdMismatch(const probe::KernelFacts& seen, const std::string& seen_boot,
                            const std::string& host_boot,
                            const std::vector<std::string>& identical) {
  std::string evidence =
      "boot id " + seen_boot + " differs from the host's " + host_boot +
      ", but the kernel identity is byte for byte the host's: " + joinList(identical) +
      "; the boot id is emulated or bind-mounted, not the kernel's own; "
      "counted as shared-kernel";
  std::vector<std::string> hypervisor;
  for (const auto& sign : seen.hypervisor_signs) {
    if (!trim(sign).empty()) hypervisor.push_back(quote(trim(sign), 96));
  }
  if (!hypervisor.empty()) {
    evidence +=
        "; hypervisor signs seen, not weighed (a host that is a VM shows them in every "
        "container): " +
        joinList(hypervisor, 4);
  }
  return makeFinding(
      kBootIdMismatch, Severity::kMedium, std::move(evidence),
      "find out what serves /proc/sys/kernel/random/boot_id in the class (LXCFS, sysbox); a "
      "class meant to have its own kernel runs the host's: fix its runtime handler. A VM that "
      "boots the host's very kernel build cannot be told apart: give it a kernel build of its own");
}

}  // namespace

LevelVerdict verifyLevel(const probe::Report& seen, const probe::Report& host) {
  const auto seen_boot = usableBootId(seen.kernel.boot_id);
  const auto host_boot = usableBootId(host.kernel.boot_id);
  const KernelMatch kernel = compareKernels(seen.kernel, host.kernel);
  const std::string kernels =
      "workload " + kernelText(seen.kernel) + "; host " + kernelText(host.kernel);
  LevelVerdict v;

  if (seen_boot && host_boot) {
    if (*seen_boot == *host_boot) {  // rule 1
      v.level = IsolationLevel::kSharedKernel;
      v.findings.push_back(hostKernelShared("boot id " + *seen_boot + " is the host's; " + kernels));
      return v;
    }
    // A boot id of its own over the host's very kernel build: the runtime
    // shows another boot id (LXCFS and sysbox emulate or bind-mount
    // /proc/sys/kernel/random/boot_id) while the system calls reach the
    // host's kernel. The boot id cannot be trusted; the weaker level holds.
    // The hypervisor CPU flag tells nothing here (a host that is itself a VM
    // shows it inside every container): quoted, never weighed.
    if (auto identical = identicalKernelStrings(seen.kernel, host.kernel); !identical.empty()) {
      v.level = IsolationLevel::kSharedKernel;
      v.findings.push_back(hostKernelShared("its kernel identity is byte for byte the host's (" +
                                            joinList(identical) + ")"));
      v.findings.push_back(bootIdMismatch(seen.kernel, *seen_boot, *host_boot, identical));
      return v;
    }
    // Rule 4, unless the workload shows an application kernel: newer gVisor
    // releases show a random boot id of their own.
    auto signs = applicationKernelSigns(seen.kernel);
    if (!signs.empty()) {
      v.level = IsolationLevel::kApplicationKernel;
      v.findings.push_back(makeFinding(
          kApplicationKernelSigns, Severity::kInfo,
          "boot id " + *seen_boot + " differs from the host's " + *host_boot +
              ", but the workload shows an application kernel: " + joinList(signs, 4) +
              "; counted as application-kernel, not hypervisor",
          "none if the class is meant to be an application kernel; a class meant to be a "
          "hypervisor runs the wrong runtime handler"));
      return v;
    }
    v.level = IsolationLevel::kHypervisor;
    return v;
  }

  if (seen_boot) {
    // The host's boot id is unknown: rules 1 and 4 cannot be applied, and
    // another kernel may be an application kernel as well as a VM.
    switch (kernel) {
      case KernelMatch::kSame:
        v.level = IsolationLevel::kSharedKernel;
        v.findings.push_back(hostKernelShared("its kernel is the host's (the host's boot id " +
                                              bootIdText(host.kernel.boot_id) +
                                              " cannot be compared); " + kernels));
        return v;
      case KernelMatch::kOther:
        v.level = IsolationLevel::kApplicationKernel;
        v.findings.push_back(makeFinding(
            kHostBootIdUnknown, Severity::kInfo,
            "the workload's boot id " + *seen_boot + " cannot be compared: the host's is " +
                bootIdText(host.kernel.boot_id) + "; its kernel is another (" + kernels +
                "); counted as application-kernel, a hypervisor cannot be verified",
            "make /proc/sys/kernel/random/boot_id readable by the agent"));
        return v;
      case KernelMatch::kUnknown:
        v.level = IsolationLevel::kSharedKernel;
        v.findings.push_back(kernelUnidentified(seen, host));
        return v;
    }
  }

  // No usable boot id inside: rules 2 and 3.
  switch (kernel) {
    case KernelMatch::kSame:
      v.level = IsolationLevel::kSharedKernel;
      v.findings.push_back(hostKernelShared("its kernel is the host's; " + kernels));
      v.findings.push_back(makeFinding(
          kBootIdHidden, Severity::kInfo,
          "no boot id visible (" + bootIdText(seen.kernel.boot_id) +
              "); the kernel was identified by its strings: " + kernels,
          "none needed: the runtime hides /proc/sys/kernel/random/boot_id, the kernel is the "
          "host's all the same (see host-kernel-shared)"));
      return v;
    case KernelMatch::kOther:
      v.level = IsolationLevel::kApplicationKernel;
      return v;
    case KernelMatch::kUnknown:
      break;
  }
  v.level = IsolationLevel::kSharedKernel;
  v.findings.push_back(kernelUnidentified(seen, host));
  return v;
}

}  // namespace zp::agent::verdict_detail
