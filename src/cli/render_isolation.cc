#include "cli/render_isolation.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "cli/render.h"
#include "cli/table.h"

namespace zp::cli {
namespace {

std::string levelName(api::IsolationLevel level) {
  return std::string(api::isolationLevelName(level));
}

// The findings of one class, most severe first (the agent's order otherwise).
std::string renderFindings(std::vector<api::Finding> findings) {
  std::stable_sort(
      findings.begin(), findings.end(),
      [](const api::Finding& a, const api::Finding& b) { return a.severity > b.severity; });
  std::string out;
  for (const auto& f : findings) {
    out += "  [" + std::string(api::severityName(f.severity)) + "] " + sanitize(f.id) + "\n";
    out += "    evidence: " + sanitize(orNone(f.evidence)) + "\n";
    out += "    remedy:   " + sanitize(orNone(f.remedy)) + "\n";
  }
  return out;
}

std::string renderClass(const ClassIsolationView& view) {
  const api::ClassIsolation& c = view.isolation;
  std::string quarantined = c.quarantined() ? "yes (verified below its claim)" : "no";
  std::string age = view.age_seconds ? formatAge(std::chrono::seconds(*view.age_seconds)) + " ago"
                                     : std::string("- (never verified)");
  std::string error = "-";
  if (!c.error.empty()) {
    error = c.error;
    if (c.attempted_at) error += " (at " + formatRfc3339(*c.attempted_at) + ")";
  }
  std::string out = renderKeyValues({
      {"CLASS", c.runtime_class},
      {"CLAIM", c.claim ? levelName(*c.claim) : "-"},
      {"LEVEL", levelName(c.level)},
      {"SCORE", std::to_string(c.score)},
      {"QUARANTINED", quarantined},
      {"VERIFIED", age},
      {"PROBE", orNone(c.probe_version)},
      {"LAST ERROR", error},
      {"FINDINGS", c.findings.empty() ? "none" : std::to_string(c.findings.size())},
  });
  return out + renderFindings(c.findings);
}

}  // namespace

std::string renderNodeClasses(const NodeView& node) {
  if (node.runtime_classes.empty()) return "-";
  std::string out;
  for (const auto& cls : node.runtime_classes) {
    if (!out.empty()) out += ",";
    out += cls;
    if (!node.isolation) continue;  // a server without §10
    const ClassIsolationView* found =
        api::findIsolation(*node.isolation, cls, &ClassIsolationView::isolation);
    if (found == nullptr || found->isolation.level == api::IsolationLevel::kUnverified) {
      out += ":unverified";
      continue;
    }
    out += ":" + levelName(found->isolation.level) + "/" + std::to_string(found->isolation.score);
    if (found->isolation.quarantined()) out += "!";
  }
  return out;
}

std::string renderWorkloadIsolation(const WorkloadView& view, TimePoint now) {
  if (!view.isolation) return "-";
  const WorkloadIsolationView& shown = *view.isolation;
  if (shown.level == api::IsolationLevel::kUnverified) return "unverified";
  std::string out = levelName(shown.level) + ", score " + std::to_string(shown.score);
  if (shown.verified_at) out += ", verified " + formatAge(now - *shown.verified_at) + " ago";
  if (shown.quarantined) out += ", QUARANTINED (below its claim)";
  return out;
}

Result<std::string> renderNodeIsolation(const nlohmann::json& reply,
                                        const std::optional<std::string>& only_class) {
  auto decoded = decodeNodeIsolation(reply);
  if (!decoded) return fail(decoded.error());
  const std::string node = sanitize(decoded->node);
  std::vector<const ClassIsolationView*> shown;
  for (const auto& c : decoded->classes) {
    if (!only_class || c.isolation.runtime_class == *only_class) shown.push_back(&c);
  }
  if (only_class && shown.empty()) {
    return fail(Code::kNotFound,
                "node \"" + node + "\" reports no runtime class \"" + sanitize(*only_class) + "\"");
  }
  if (shown.empty()) {
    return "Node \"" + node +
           "\" reports no isolation yet (its agent has not probed its classes, or does not "
           "probe).\n";
  }
  std::string out;
  for (const auto* c : shown) {
    if (!out.empty()) out += "\n";
    out += renderClass(*c);
  }
  return out;
}

}  // namespace zp::cli
