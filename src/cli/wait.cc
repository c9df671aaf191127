#include "cli/wait.h"

#include <algorithm>
#include <optional>
#include <thread>
#include <utility>

#include "cli/decode.h"
#include "cli/table.h"

namespace zp::cli {
namespace {

using SteadyClock = std::chrono::steady_clock;

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

// The outcome `view` decides, if any.
std::optional<WaitResult> decide(const WorkloadView& view, const nlohmann::json& workload,
                                 api::WorkloadState target) {
  if (view.status.state == target) return WaitResult{WaitOutcome::kReached, workload, {}};
  if (api::isTerminal(view.status.state)) {
    return WaitResult{WaitOutcome::kWrongTerminalState, workload,
                      wrongTerminalMessage(view, target)};
  }
  return std::nullopt;
}

WaitResult timedOut(const std::string& id, const WaitOptions& options, const WorkloadView& last,
                    nlohmann::json workload) {
  std::string msg = "timed out after " + seconds(options.timeout) + " waiting for workload \"" +
                    sanitize(id) + "\" to be " + std::string(api::stateName(options.target)) +
                    " (it is " + std::string(api::stateName(last.status.state));
  if (!last.status.reason.empty()) msg += ", reason: " + sanitize(last.status.reason);
  msg += ")";
  return WaitResult{WaitOutcome::kTimedOut, std::move(workload), std::move(msg)};
}

}  // namespace

Result<WaitResult> pollForState(ApiClient& api, const std::string& id, const WaitOptions& options,
                                SteadyClock::time_point deadline) {
  while (true) {
    auto reply = api.getWorkload(id);
    if (!reply) return fail(reply.error());
    auto view = decodeWorkload(*reply);
    if (!view) return fail(view.error());
    if (auto decided = decide(*view, *reply, options.target)) return std::move(*decided);
    const auto now = SteadyClock::now();
    if (now >= deadline) return timedOut(id, options, *view, std::move(*reply));
    std::this_thread::sleep_for(std::min<SteadyClock::duration>(options.interval, deadline - now));
  }
}

Result<WaitResult> waitForState(ApiClient& api, const std::string& id, const WaitOptions& options) {
  const auto deadline = SteadyClock::now() + options.timeout;
  auto reply = api.getWorkload(id);
  if (!reply) return fail(reply.error());
  auto first = decodeWorkload(*reply);
  if (!first) return fail(first.error());
  if (auto decided = decide(*first, *reply, options.target)) return std::move(*decided);

  // The watch starts with the workload's current state (ADDED), so nothing
  // between the GET and the watch is missed.
  WorkloadView last = std::move(*first);
  nlohmann::json last_json = std::move(*reply);
  std::optional<WaitResult> outcome;
  std::optional<Error> problem;
  auto watched = api.watchWorkloads(
      {}, id,
      [&](const WatchEventView& event) {
        if (event.view.status.id != id) return true;
        if (event.type == "DELETED") {
          problem = Error{Code::kNotFound,
                          "workload \"" + sanitize(id) + "\" was deleted while waiting for it", ""};
          return false;
        }
        last = event.view;
        last_json = event.workload;
        outcome = decide(last, last_json, options.target);
        return !outcome.has_value();
      },
      StreamOptions{deadline});
  if (outcome) return std::move(*outcome);
  if (problem) return fail(*problem);
  if (!watched) {
    switch (watched.error().code) {
      case Code::kDeadlineExceeded:
        if (SteadyClock::now() >= deadline)
          return timedOut(id, options, last, std::move(last_json));
        return fail(watched.error());
      case Code::kInvalidArgument:
        break;  // a server without watch: poll
      default:
        return fail(watched.error());
    }
  }
  // The server refused or ended the watch (it is stopping, say): poll for the rest.
  return pollForState(api, id, options, deadline);
}

}  // namespace zp::cli
