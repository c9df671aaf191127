// §10.2's findings about the probe's own process: namespaces, capabilities,
// seccomp, no_new_privs, user.

#include "agent/isolation/process_findings.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/isolation/verdict_text.h"

namespace zp::agent::verdict_detail {
namespace {

using api::IsolationLevel;
using api::Severity;

constexpr std::uint64_t bit(unsigned n) { return std::uint64_t{1} << n; }

// Capabilities that administer the kernel or reach past the container:
// SYS_ADMIN, SYS_MODULE, SYS_PTRACE, SYS_RAWIO, DAC_READ_SEARCH, NET_ADMIN,
// BPF, PERFMON, SYS_BOOT.
constexpr std::uint64_t kAdminCapabilities =
    bit(21) | bit(16) | bit(19) | bit(17) | bit(2) | bit(12) | bit(39) | bit(38) | bit(22);

std::string names(std::uint64_t mask) { return joinList(capabilityNames(mask), 12); }

// "4026531836" out of "pid:[4026531836]"; the whole link when it has no
// brackets (then the links are compared as they are).
std::string namespaceIdentity(std::string_view link) {
  std::string_view t = trim(link);
  auto open = t.find('[');
  auto close = t.rfind(']');
  if (open != std::string_view::npos && close != std::string_view::npos && close > open + 1) {
    return std::string(t.substr(open + 1, close - open - 1));
  }
  return std::string(t);
}

}  // namespace

namespace {

// The namespaces of `types` the workload shares with the host, quoted.
std::vector<std::string> sharedNamespaces(const probe::Report& seen, const probe::Report& host,
                                          std::initializer_list<std::string_view> types) {
  std::vector<std::string> shared;
  for (auto type : types) {
    auto in = seen.namespaces.find(std::string(type));
    auto out = host.namespaces.find(std::string(type));
    if (in == seen.namespaces.end() || out == host.namespaces.end()) continue;
    std::string inside = namespaceIdentity(in->second);
    if (inside.empty() || inside != namespaceIdentity(out->second)) continue;
    shared.push_back(std::string(type) + " " + quote(trim(in->second), 48));
  }
  return shared;
}

}  // namespace

std::optional<api::Finding> hostNamespaceFinding(const probe::Report& seen,
                                                 const probe::Report& host,
                                                 IsolationLevel level) {
  // Another kernel's namespace inode numbers are its own: nothing to compare.
  if (level != IsolationLevel::kSharedKernel) return std::nullopt;
  const auto shared = sharedNamespaces(seen, host, {"pid", "net", "ipc", "uts", "mnt"});
  if (shared.empty()) return std::nullopt;
  return makeFinding(kHostNamespace, Severity::kHigh,
                     "the workload is in the host's (the agent's) namespaces: " + joinList(shared),
                     "give every workload its own pid, net, ipc, uts and mnt namespaces: "
                     "no host namespaces in the runtime handler's configuration");
}

std::optional<api::Finding> hostCgroupNamespaceFinding(const probe::Report& seen,
                                                       const probe::Report& host,
                                                       IsolationLevel level) {
  if (level != IsolationLevel::kSharedKernel) return std::nullopt;
  const auto shared = sharedNamespaces(seen, host, {"cgroup"});
  if (shared.empty()) return std::nullopt;
  // It shows the host's cgroup paths in /proc/self/cgroup; the limits still
  // hold. containerd gives no cgroup namespace on cgroup v1 hosts.
  return makeFinding(kHostCgroupNamespace, Severity::kLow,
                     "the workload is in the host's cgroup namespace: " + joinList(shared) +
                         "; it sees the host's cgroup paths",
                     "run the node on cgroup v2 (containerd then gives every container its "
                     "own cgroup namespace)");
}

std::optional<api::Finding> capabilitiesFinding(const probe::ProcessFacts& p) {
  const std::uint64_t effective = p.cap_effective.value_or(0);
  // Permitted and ambient capabilities can be made effective at will, so
  // they count as held.
  const std::uint64_t raisable = (p.cap_permitted.value_or(0) | p.cap_ambient.value_or(0)) &
                                 ~effective;
  const std::uint64_t held = effective | raisable;
  const std::uint64_t bounding = p.cap_bounding.value_or(0);
  if (held == 0 && bounding == 0) return std::nullopt;

  Severity severity = (held & kAdminCapabilities) != 0 ? Severity::kHigh
                      : held != 0                     ? Severity::kMedium
                                                      : Severity::kLow;
  std::string evidence;
  if ((held & kAdminCapabilities) != 0) {
    evidence = "admin-class capabilities held: " + names(held & kAdminCapabilities) + "; ";
  }
  evidence += "CapEff " + hexMask(effective);
  if (effective != 0) evidence += " (" + names(effective) + ")";
  if (raisable != 0) evidence += "; raisable from CapPrm/CapAmb: " + names(raisable);
  evidence += "; CapBnd " + hexMask(bounding);
  if (bounding != 0) evidence += " (" + names(bounding) + ")";

  std::string remedy =
      severity == Severity::kLow
          ? "drop every capability from the bounding set too (drop ALL), so that no executable "
            "with file capabilities can regain one"
          : "drop capabilities: profile restricted (all dropped, at most NET_BIND_SERVICE "
            "added), never privileged; check that the runtime adds none of its own";
  return makeFinding(kCapabilities, severity, std::move(evidence), std::move(remedy));
}

std::optional<api::Finding> seccompFinding(const probe::ProcessFacts& p, IsolationLevel level) {
  if (!p.seccomp || *p.seccomp != 0) return std::nullopt;
  bool shared = level == IsolationLevel::kSharedKernel;
  return makeFinding(
      kSeccompOff, shared ? Severity::kMedium : Severity::kLow,
      "Seccomp: 0 in /proc/self/status: every system call reaches the " +
          std::string(shared ? "host's kernel" : "workload's kernel") + " unfiltered",
      "set seccomp RuntimeDefault and make sure the runtime applies it"
      " (gVisor applies a workload's profile only with runsc --oci-seccomp)");
}

std::optional<api::Finding> noNewPrivsFinding(const probe::ProcessFacts& p, IsolationLevel level) {
  if (!p.no_new_privs || *p.no_new_privs) return std::nullopt;
  return makeFinding(kNoNewPrivsOff,
                     level == IsolationLevel::kSharedKernel ? Severity::kMedium : Severity::kLow,
                     "NoNewPrivs: 0 in /proc/self/status: setuid executables and file "
                     "capabilities can raise the workload's privileges",
                     "set no_new_privs (allowPrivilegeEscalation: false)");
}

std::optional<api::Finding> runsAsRootFinding(const probe::ProcessFacts& p, IsolationLevel level) {
  if (p.uid != 0 && p.euid != 0) return std::nullopt;
  return makeFinding(kRunsAsRoot,
                     level == IsolationLevel::kSharedKernel ? Severity::kMedium : Severity::kLow,
                     "uid " + std::to_string(p.uid) + ", euid " + std::to_string(p.euid) +
                         ", gid " + std::to_string(p.gid) + ", egid " + std::to_string(p.egid),
                     "run as a non-root user: profile restricted, or a numeric non-root user in "
                     "the spec or the image");
}

namespace {

// The unreadable notes of the probe about `prefix` ("/proc/self/status: ..."),
// quoted: why a fact is missing, when the probe could tell.
std::vector<std::string> notesAbout(const probe::Report& seen, std::string_view prefix) {
  std::vector<std::string> notes;
  for (const auto& note : seen.unreadable) {
    if (trim(note).starts_with(prefix)) notes.push_back(quote(trim(note), 96));
  }
  return notes;
}

}  // namespace

std::optional<api::Finding> postureUnknownFinding(const probe::Report& seen,
                                                  const probe::Report& host, IsolationLevel level) {
  const probe::ProcessFacts& p = seen.process;
  // gVisor writes no CapAmb and no NoNewPrivs line: an application kernel's
  // silence about them hides nothing it would report.
  const bool application_kernel = level == IsolationLevel::kApplicationKernel;
  std::vector<std::string> missing;
  if (!p.cap_inheritable && !p.cap_permitted && !p.cap_effective && !p.cap_bounding &&
      !p.cap_ambient && !p.seccomp && !p.no_new_privs) {
    missing.emplace_back("/proc/self/status (no capability, Seccomp or NoNewPrivs line)");
  } else {
    const std::pair<bool, const char*> lines[] = {
        {!p.cap_permitted, "CapPrm"}, {!p.cap_effective, "CapEff"},
        {!p.cap_bounding, "CapBnd"},  {!p.cap_ambient && !application_kernel, "CapAmb"},
        {!p.seccomp, "Seccomp"},      {!p.no_new_privs && !application_kernel, "NoNewPrivs"},
    };
    for (const auto& [absent, name] : lines) {
      if (absent) missing.push_back(std::string(name) + " in /proc/self/status");
    }
  }
  if (p.uid < 0 || p.euid < 0) missing.emplace_back("uid/euid");
  std::vector<std::string> notes = notesAbout(seen, "/proc/self/status");
  // On the host's kernel the namespaces are compared with the host's
  // (host-namespace); another kernel's are not.
  if (level == IsolationLevel::kSharedKernel) {
    for (std::string_view type : {"pid", "net", "mnt"}) {
      for (const auto* side : {&seen, &host}) {
        auto link = side->namespaces.find(std::string(type));
        if (link == side->namespaces.end() || namespaceIdentity(link->second).empty()) {
          missing.push_back(std::string(type) + " namespace link (" +
                            (side == &seen ? "workload" : "host") + ")");
        }
      }
    }
    for (auto& note : notesAbout(seen, "/proc/self/ns/")) notes.push_back(std::move(note));
  }
  if (missing.empty()) return std::nullopt;
  std::string evidence = "could not be read: " + joinList(missing) +
                         "; the findings that rest on them (capabilities, seccomp-off, "
                         "no-new-privs-off, runs-as-root, host-namespace) could not be judged";
  if (!notes.empty()) evidence += "; the probe noted " + joinList(notes, 4);
  return makeFinding(kPostureUnknown, Severity::kMedium, std::move(evidence),
                     "let the probe read /proc/self/status and /proc/self/ns (and the agent its "
                     "own /proc/self/ns); a posture that cannot be read counts against the class");
}

}  // namespace zp::agent::verdict_detail
