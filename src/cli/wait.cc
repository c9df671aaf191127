#include "cli/wait.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "cli/decode.h"
#include "cli/table.h"

namespace zp::cli {
namespace {

std::string seconds(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

std::string wrongTerminalMessage(const WorkloadView& view, api::WorkloadState target) {
  const auto& s = view.status;
  std::string msg = "workload \"" + sanitize(s.id) + "\" is " +
                    std::string(api::stateName(s.state)) + ", not " +
                    std::string(api::stateName(target));
  std::vector<std::string> details;
  if (!s.reason.empty()) details.push_back("reason: " + sanitize(s.reason));
  if (s.exit_code) details.push_back("exit code: " + std::to_string(*s.exit_code));
  if (!details.empty()) {
    msg += " (";
    for (std::size_t i = 0; i < details.size(); ++i) msg += (i ? ", " : "") + details[i];
    msg += ")";
  }
  if (!s.message.empty()) msg += ": " + sanitize(s.message);
  return msg;
}

}  // namespace

Result<WaitResult> waitForState(ApiClient& api, const std::string& id, const WaitOptions& options) {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + options.timeout;
  while (true) {
    auto reply = api.getWorkload(id);
    if (!reply) return fail(reply.error());
    auto view = decodeWorkload(*reply);
    if (!view) return fail(view.error());
    const auto state = view->status.state;
    if (state == options.target) return WaitResult{WaitOutcome::kReached, std::move(*reply), {}};
    if (api::isTerminal(state)) {
      return WaitResult{WaitOutcome::kWrongTerminalState, std::move(*reply),
                        wrongTerminalMessage(*view, options.target)};
    }
    const auto now = clock::now();
    if (now >= deadline) {
      std::string msg = "timed out after " + seconds(options.timeout) + " waiting for workload \"" +
                        sanitize(id) + "\" to be " + std::string(api::stateName(options.target)) +
                        " (it is " + std::string(api::stateName(state));
      if (!view->status.reason.empty()) msg += ", reason: " + sanitize(view->status.reason);
      msg += ")";
      return WaitResult{WaitOutcome::kTimedOut, std::move(*reply), std::move(msg)};
    }
    std::this_thread::sleep_for(std::min<clock::duration>(options.interval, deadline - now));
  }
}

}  // namespace zp::cli
