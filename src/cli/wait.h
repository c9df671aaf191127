#pragma once
// `zoneplane get ID --wait STATE`: polling a workload until it reaches a state.
// Runs on the caller's thread and sleeps between polls.

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "api/workload.h"
#include "cli/api_client.h"
#include "common/status.h"

namespace zp::cli {

inline constexpr std::chrono::milliseconds kDefaultWaitTimeout{60'000};
inline constexpr std::chrono::milliseconds kDefaultPollInterval{300};

struct WaitOptions {
  api::WorkloadState target = api::WorkloadState::kRunning;
  std::chrono::milliseconds timeout = kDefaultWaitTimeout;
  std::chrono::milliseconds interval = kDefaultPollInterval;
};

enum class WaitOutcome {
  kReached,            // status.state == target
  kTimedOut,           // the timeout passed first
  kWrongTerminalState  // the workload became Succeeded/Failed, not the target
};

struct WaitResult {
  WaitOutcome outcome = WaitOutcome::kReached;
  nlohmann::json workload;  // the last reply seen
  std::string message;      // for kTimedOut / kWrongTerminalState: what to tell the user
};

// Polls GET /workloads/ID every `interval` (at least once, and once more at
// the deadline) until an outcome. A failed request or a malformed reply ends
// the wait as an error; outcomes are values.
Result<WaitResult> waitForState(ApiClient& api, const std::string& id, const WaitOptions& options);

}  // namespace zp::cli
