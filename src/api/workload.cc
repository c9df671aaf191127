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

std::string_view restartPolicyName(RestartPolicy policy) {
  switch (policy) {
    case RestartPolicy::kNever: return "Never";
    case RestartPolicy::kOnFailure: return "OnFailure";
    case RestartPolicy::kAlways: return "Always";
  }
  return "Never";
}

std::optional<RestartPolicy> parseRestartPolicy(std::string_view name) {
  for (auto policy : {RestartPolicy::kNever, RestartPolicy::kOnFailure, RestartPolicy::kAlways}) {
    if (restartPolicyName(policy) == name) return policy;
  }
  return std::nullopt;
}

bool shouldRestart(RestartPolicy policy, int exit_code, bool oom_killed) {
  switch (policy) {
    case RestartPolicy::kNever: return false;
    case RestartPolicy::kOnFailure: return exit_code != 0 || oom_killed;
    case RestartPolicy::kAlways: return true;
  }
  return false;
}

bool endedByServer(const WorkloadStatus& status) {
  return isTerminal(status.state) &&
         (status.reason == reason::kNodeLost || status.reason == reason::kDrained ||
          status.reason == reason::kDeliveryFailed);
}

bool isTerminal(WorkloadState state) {
  return state == WorkloadState::kSucceeded || state == WorkloadState::kFailed;
}

}  // namespace zp::api
