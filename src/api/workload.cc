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

bool isTerminal(WorkloadState state) {
  return state == WorkloadState::kSucceeded || state == WorkloadState::kFailed;
}

}  // namespace zp::api
