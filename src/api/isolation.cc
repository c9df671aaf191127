#include "api/isolation.h"

#include <array>

namespace zp::api {
namespace {

constexpr std::array kLevels = {IsolationLevel::kUnverified, IsolationLevel::kSharedKernel,
                                IsolationLevel::kApplicationKernel, IsolationLevel::kHypervisor};
constexpr std::array kSeverities = {Severity::kInfo, Severity::kLow, Severity::kMedium,
                                    Severity::kHigh};
constexpr std::string_view kAny = "any";

}  // namespace

std::string_view isolationLevelName(IsolationLevel level) {
  switch (level) {
    case IsolationLevel::kUnverified: return "unverified";
    case IsolationLevel::kSharedKernel: return "shared-kernel";
    case IsolationLevel::kApplicationKernel: return "application-kernel";
    case IsolationLevel::kHypervisor: return "hypervisor";
  }
  return "unverified";
}

std::optional<IsolationLevel> parseIsolationLevel(std::string_view name) {
  for (auto level : kLevels) {
    if (isolationLevelName(level) == name) return level;
  }
  return std::nullopt;
}

std::optional<IsolationLevel> parseIsolationClaim(std::string_view name) {
  auto level = parseIsolationLevel(name);
  if (!level || *level == IsolationLevel::kUnverified) return std::nullopt;
  return level;
}

std::string_view requirementName(const IsolationRequirement& requirement) {
  return requirement ? isolationLevelName(*requirement) : kAny;
}

std::optional<IsolationRequirement> parseIsolationRequirement(std::string_view name) {
  if (name == kAny) return IsolationRequirement{};
  auto level = parseIsolationClaim(name);
  if (!level) return std::nullopt;
  return IsolationRequirement{*level};
}

std::string_view severityName(Severity severity) {
  switch (severity) {
    case Severity::kInfo: return "info";
    case Severity::kLow: return "low";
    case Severity::kMedium: return "medium";
    case Severity::kHigh: return "high";
  }
  return "info";
}

std::optional<Severity> parseSeverity(std::string_view name) {
  for (auto severity : kSeverities) {
    if (severityName(severity) == name) return severity;
  }
  return std::nullopt;
}

const ClassIsolation* findIsolation(const std::vector<ClassIsolation>& classes,
                                    std::string_view runtime_class) {
  for (const auto& c : classes) {
    if (c.runtime_class == runtime_class) return &c;
  }
  return nullptr;
}

}  // namespace zp::api
