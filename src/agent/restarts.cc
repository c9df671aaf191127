// WorkloadManager: the restart policy (docs/architecture.md §4), applied on
// the node like the kubelet does. An exited container whose policy restarts
// it shows Pending/BackOff with its exit code; once the back-off is over (by
// the injected Clock, checked by every sweep) a pipeline creates the next
// attempt in the same sandbox, removes its predecessor and starts it. See
// workload_manager.h for the locking rules.

#include <spdlog/spdlog.h>

#include <string>

#include "agent/status_mapping.h"
#include "agent/workload_manager.h"

namespace zp::agent {
namespace {

std::string describe(std::chrono::milliseconds delay) {
  if (delay.count() % 1000 == 0) return std::to_string(delay.count() / 1000) + " s";
  return std::to_string(delay.count()) + " ms";
}

std::string exitText(int code, bool lost) {
  return lost ? "ended with its exit status lost by the runtime"
              : "exited with code " + std::to_string(code);
}

}  // namespace

void WorkloadManager::planRestartLocked(Entry& entry, const ContainerDetail& detail) {
  if (entry.cancels > 0) return;  // stopped or being removed: the exit is final
  // A lost exit status counts as a failure (code -1): OnFailure restarts it.
  const bool lost = exitStatusLost(detail);
  const int code = lost ? -1 : detail.exit_code.value_or(-1);
  const bool oom = detail.reason == api::reason::kOOMKilled;
  if (!api::shouldRestart(entry.identity.spec.restart_policy, code, oom)) return;
  if (!entry.restart_at) {
    auto delay = entry.next_restart_delay.count() > 0 ? entry.next_restart_delay
                                                      : options_.restart_backoff_initial;
    // A container that ran long enough has earned a quick restart again.
    if (detail.started_at && detail.finished_at &&
        *detail.finished_at - *detail.started_at >= options_.restart_backoff_reset) {
      delay = options_.restart_backoff_initial;
    }
    entry.restart_delay = delay;
    entry.restart_at = clock_.now() + delay;
    entry.next_restart_delay = std::min(delay * 2, options_.restart_backoff_max);
    spdlog::info("workload \"{}\": container {}{}; restarting in {} (attempt {})",
                 entry.identity.spec.id, exitText(code, lost), oom ? " (OOM killed)" : "",
                 describe(delay), entry.attempt + 1);
  }
  auto& st = entry.status;
  st.state = api::WorkloadState::kPending;
  st.reason = api::reason::kBackOff;
  st.message = std::string("back-off ") + describe(entry.restart_delay) +
               " restarting the container, which " + exitText(code, lost) +
               (oom ? " after an OOM kill" : "") + " (restart_policy " +
               std::string(api::restartPolicyName(entry.identity.spec.restart_policy)) + ")";
}

void WorkloadManager::startDueRestarts() {
  std::vector<EntryPtr> due;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    const auto now = clock_.now();
    for (const auto& [id, entry] : entries_) {
      auto& e = *entry;
      if (!e.restart_at || *e.restart_at > now || e.cancels > 0 || e.pipeline) continue;
      // Only from BackOff: a status shown Unknown (runtime unreachable) waits
      // until a sweep has seen the container again.
      if (e.status.state != api::WorkloadState::kPending || e.status.reason != api::reason::kBackOff) {
        continue;
      }
      e.restart_at.reset();
      e.previous.emplace_back(e.container_id, e.attempt);
      e.container_id.clear();
      e.observed = ObjectState::kUnknown;
      ++e.attempt;
      e.status.restart_count = static_cast<int>(e.attempt);
      e.status.container_id.clear();
      e.status.message = "restarting the container (restart " + std::to_string(e.attempt) + ")";
      changedLocked(e);
      due.push_back(entry);
    }
  }
  for (const auto& entry : due) {
    spdlog::info("workload \"{}\": restart {}", entry->identity.spec.id, entry->attempt);
    launchPipeline(entry);
  }
}

void WorkloadManager::removePrevious(const EntryPtr& entry) {
  std::vector<std::pair<std::string, unsigned>> previous;
  {
    std::lock_guard lock(mutex_);
    previous.swap(entry->previous);
  }
  std::vector<std::pair<std::string, unsigned>> left;
  for (const auto& [container_id, attempt] : previous) {
    Status removed = ok();
    {
      std::lock_guard op(entry->op);
      removed = runtime_.removeContainer(entry->identity, container_id, attempt);
    }
    if (!removed) {
      spdlog::warn("workload \"{}\": cannot remove container {} of attempt {}: {}",
                   entry->identity.spec.id, container_id, attempt, removed.error().message);
      left.emplace_back(container_id, attempt);
    }
  }
  if (left.empty()) return;
  std::lock_guard lock(mutex_);
  entry->previous.insert(entry->previous.begin(), left.begin(), left.end());
}

}  // namespace zp::agent
