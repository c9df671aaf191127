#include "api/workload.h"

#include <array>
#include <utility>

namespace zp::api {
namespace {
constexpr std::array<std::pair<WorkloadState, std::string_view>, 5> kStates{{
    {WorkloadState::kPending, "Pending"},
    {WorkloadState::kRunning, "Running"},
    {WorkloadState::kSucceeded, "Succeeded"},
    {WorkloadState::kFailed, "Failed"},
    {WorkloadState::kUnknown, "Unknown"},
}};
}  // namespace

std::string_view stateName(WorkloadState state) {
  for (const auto& [s, name] : kStates) {
    if (s == state) return name;
  }
  return "Unknown";
}

std::optional<WorkloadState> parseState(std::string_view name) {
  for (const auto& [s, n] : kStates) {
    if (n == name) return s;
  }
  return std::nullopt;
}

std::string_view profileName(Profile profile) {
  return profile == Profile::kBaseline ? "baseline" : "restricted";
}

std::optional<Profile> parseProfile(std::string_view name) {
  if (name == "restricted") return Profile::kRestricted;
  if (name == "baseline") return Profile::kBaseline;
  return std::nullopt;
}

bool isAtLeast(Profile profile, Profile minimum) {
  return profile == Profile::kRestricted || minimum == Profile::kBaseline;
}

std::string_view trustName(TrustLevel trust) {
  switch (trust) {
    case TrustLevel::kUntrusted: return "untrusted";
    case TrustLevel::kMultiTenant: return "multi_tenant";
    case TrustLevel::kInternal: return "internal";
  }
  return "untrusted";
}

std::optional<TrustLevel> parseTrust(std::string_view name) {
  for (auto level : kAllTrustLevels) {
    if (trustName(level) == name) return level;
  }
  return std::nullopt;
}

bool isTerminal(WorkloadState state) {
  return state == WorkloadState::kSucceeded || state == WorkloadState::kFailed;
}

}  // namespace zp::api
