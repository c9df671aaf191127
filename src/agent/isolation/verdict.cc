#include "agent/isolation/verdict.h"

#include <algorithm>
#include <tuple>

#include "agent/isolation/exposure_findings.h"
#include "agent/isolation/process_findings.h"
#include "agent/isolation/verdict_parts.h"
#include "agent/isolation/verdict_text.h"

namespace zp::agent {
namespace verdict_detail {

api::Finding makeFinding(std::string_view id, api::Severity severity, std::string evidence,
                         std::string remedy) {
  return api::Finding{std::string(id), severity, bounded(std::move(evidence)),
                      bounded(std::move(remedy))};
}

std::vector<api::Finding> postureFindings(const probe::Report& seen, const probe::Report& host,
                                          api::IsolationLevel level) {
  const std::optional<api::Finding> candidates[] = {
      hostNamespaceFinding(seen, host, level),
      hostCgroupNamespaceFinding(seen, host, level),
      capabilitiesFinding(seen.process),
      seccompFinding(seen.process, level),
      noNewPrivsFinding(seen.process, level),
      runsAsRootFinding(seen.process, level),
      postureUnknownFinding(seen, host, level),
      procSysWritableFinding(seen.writable, level),
      sysWritableFinding(seen.writable, level),
      procUnmaskedFinding(seen, level),
      hostDevicesFinding(seen, level),
      runtimeSocketFinding(seen),
      endpointReachableFinding(seen),
      noMemoryLimitFinding(seen.cgroup, level),
      networkHostKernelFinding(seen.network, level),
  };
  std::vector<api::Finding> findings;
  for (const auto& candidate : candidates) {
    if (candidate) findings.push_back(*candidate);
  }
  return findings;
}

}  // namespace verdict_detail

namespace {

// High first, then by id (then evidence, so equal ids stay in one order).
bool findingBefore(const api::Finding& a, const api::Finding& b) {
  return std::tuple(b.severity, a.id, a.evidence) < std::tuple(a.severity, b.id, b.evidence);
}

}  // namespace

api::ClassIsolation judge(std::string_view runtime_class, const probe::Report& seen,
                          const probe::Report& host,
                          std::optional<api::IsolationLevel> claim) {
  using namespace verdict_detail;
  api::ClassIsolation result;
  result.runtime_class = std::string(runtime_class);
  // kUnverified is no claim (api::parseIsolationClaim refuses it).
  if (claim && *claim != api::IsolationLevel::kUnverified) result.claim = claim;

  LevelVerdict verdict = verifyLevel(seen, host);
  result.level = verdict.level;
  result.findings = std::move(verdict.findings);
  if (result.claim && result.level < *result.claim) {
    result.findings.push_back(makeFinding(
        kClaimNotMet, api::Severity::kHigh,
        "the class claims " + std::string(api::isolationLevelName(*result.claim)) +
            " but verifies as " + std::string(api::isolationLevelName(result.level)),
        "give the class a runtime handler that provides " +
            std::string(api::isolationLevelName(*result.claim)) +
            ", or set its isolation claim to what it gives; until then it is quarantined "
            "and serves only trust levels that require nothing"));
  }
  for (auto& finding : postureFindings(seen, host, result.level)) {
    result.findings.push_back(std::move(finding));
  }
  std::ranges::sort(result.findings, findingBefore);
  if (result.findings.size() > api::kMaxFindings) result.findings.resize(api::kMaxFindings);
  result.score = isolationScore(result.level, result.findings);
  result.probe_version = printable(trim(seen.probe_version), 64);
  return result;
}

int isolationScore(api::IsolationLevel level, const std::vector<api::Finding>& findings) {
  int base = 0;
  switch (level) {
    case api::IsolationLevel::kUnverified: return 0;
    case api::IsolationLevel::kSharedKernel: base = 40; break;
    case api::IsolationLevel::kApplicationKernel: base = 70; break;
    case api::IsolationLevel::kHypervisor: base = 90; break;
  }
  long score = base + 10;
  for (const auto& finding : findings) {
    switch (finding.severity) {
      case api::Severity::kHigh: score -= 25; break;
      case api::Severity::kMedium: score -= 10; break;
      case api::Severity::kLow: score -= 3; break;
      case api::Severity::kInfo: break;
    }
  }
  return static_cast<int>(std::clamp(score, 0L, 100L));
}

}  // namespace zp::agent
