#pragma once
// `zoneplane get ID --wait STATE`: waiting for a workload to reach a state,
// by watching it (docs/architecture.md §7), or by polling a server that
// cannot watch. Runs on the caller's thread.

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
  std::chrono::milliseconds interval = kDefaultPollInterval;  // when polling
};

enum class WaitOutcome {
  kReached,            // status.state == target
  kTimedOut,           // the timeout passed first
  kWrongTerminalState  // the workload became Succeeded/Failed, not the target
};

struct WaitResult {
  WaitOutcome outcome = WaitOutcome::kReached;
  nlohmann::json workload;  // the last state seen ({"spec","status"})
  std::string message;      // for kTimedOut / kWrongTerminalState: what to tell the user
};

// GET /workloads/ID once; unless that decides, watches the workload
// (GET /workloads?watch=true&id=ID) until an outcome. Falls back to polling
// (below) when the server refuses the watch (HTTP 400/422: a server without
// watch) or ends it before an outcome. A failed request, a malformed reply or
// the workload's deletion (kNotFound) ends the wait as an error; outcomes
// are values.
Result<WaitResult> waitForState(ApiClient& api, const std::string& id, const WaitOptions& options);

// Polls GET /workloads/ID every `options.interval` (at least once, and once
// more at the deadline) until an outcome or `deadline`.
Result<WaitResult> pollForState(ApiClient& api, const std::string& id, const WaitOptions& options,
                                std::chrono::steady_clock::time_point deadline);

}  // namespace zp::cli
