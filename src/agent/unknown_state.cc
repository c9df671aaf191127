// WorkloadManager: containers the runtime keeps reporting in an unknown state.
//
// containerd 1.6 reports a container CONTAINER_UNKNOWN when, on its restart,
// it could not load the container's task state (say, the task had exited
// while containerd was down and deleting it failed). It keeps the container
// so until a StopContainer: no exit monitor watches it any more. The kubelet
// kills such a container before anything else; so does the agent, once the
// runtime (reachable and answering) has reported the state unknown for
// Options::unknown_grace. After the stop the runtime reports an exit: the
// real one when the task was still there, otherwise its placeholder
// (markLostAfterUnknownStop), shown as ExitStatusLost. The exit then goes
// the way of every other (status push, restart_policy).
//
// A container whose state cannot be read because the runtime cannot be
// reached is never stopped: that is Unknown/RuntimeUnavailable, and the
// grace only counts while the runtime answers. See workload_manager.h for
// the locking rules.

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <string>

#include "agent/status_mapping.h"
#include "agent/workload_manager.h"

namespace zp::agent {
namespace {

namespace asio = boost::asio;

// An exit of a container the runtime never recorded as started.
bool neverStarted(const ContainerDetail& detail) {
  return detail.state == ObjectState::kExited && !detail.started_at;
}

std::string wholeSeconds(std::chrono::milliseconds d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " s";
}

}  // namespace

void WorkloadManager::settleDueUnknowns() {
  std::vector<std::pair<EntryPtr, std::string>> due;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    const auto now = clock_.now();
    for (const auto& [id, entry] : entries_) {
      auto& e = *entry;
      if (e.observed != ObjectState::kUnknown || !e.unknown_since || e.stale || e.settling ||
          e.pipeline || e.cancels > 0 || e.container_id.empty() ||
          api::isTerminal(e.status.state) || now - *e.unknown_since < options_.unknown_grace) {
        continue;
      }
      e.settling = true;
      due.emplace_back(entry, e.container_id);
    }
  }
  for (auto& [entry, container_id] : due) {
    spdlog::warn(
        "workload \"{}\": the runtime has reported container {} in an unknown state for {} or "
        "more; stopping it to learn its end",
        entry->identity.spec.id, container_id, wholeSeconds(options_.unknown_grace));
    asio::co_spawn(workers_, settleUnknown(entry, container_id), asio::detached);
  }
}

asio::awaitable<void> WorkloadManager::settleUnknown(EntryPtr entry, std::string container_id) {
  InFlight counted(*this);
  // However this ends (an exception from the runtime included), the sweep
  // looks after the entry again afterwards.
  struct SettlingScope {
    WorkloadManager& manager;
    Entry& entry;
    ~SettlingScope() {
      std::lock_guard lock(manager.mutex_);
      entry.settling = false;
    }
  } settling{*this, *entry};
  const std::string cls = entry->identity.spec.runtime_class;
  const auto& id = entry->identity.spec.id;
  const auto grace = options_.unknown_stop_grace;
  auto stopping = awaitPending(entry, /*pipeline=*/false,
                               [this, cls, container_id, grace](std::function<void(Status)> done) {
                                 return runtime_.stopContainer(cls, container_id, grace,
                                                               std::move(done));
                               });
  Status stopped = co_await std::move(stopping);
  Result<ContainerDetail> detail = fail(Code::kInternal, "not inspected");
  if (stopped) {
    std::lock_guard op(entry->op);
    detail = runtime_.inspectContainer(cls, container_id);
  }
  // A stop or removal that began meanwhile (or a pipeline a failed one
  // resumed) owns the status now. Call with mutex_ held.
  const auto ownedElsewhere = [&] {
    return entry->cancels > 0 || entry->pipeline || stopping_ ||
           entry->container_id != container_id;
  };
  if (stopped && detail && neverStarted(*detail)) {
    // The runtime never recorded the container as started: its start was
    // cut short by the runtime's restart (containerd reports it unknown,
    // then an exit without a start time, e.g. code 1). Like every start cut
    // short, it is replaced (same attempt) and started again, by the
    // pipeline, which retries a runtime that fails meanwhile: never taken
    // for the workload's own exit.
    {
      std::lock_guard lock(mutex_);
      if (ownedElsewhere()) co_return;
      noteObservedLocked(*entry, ObjectState::kExited);
      entry->stale = false;
      entry->replace_ended = true;
      entry->status.state = api::WorkloadState::kPending;
      entry->status.reason = api::reason::kCreating;
      entry->status.message = "starting the container again: its start was cut short by a "
                              "runtime restart";
      changedLocked(*entry);
    }
    launchPipeline(entry);
    co_return;
  }
  std::lock_guard lock(mutex_);
  if (ownedElsewhere()) co_return;
  if (!stopped || !detail) {
    const Error& error = !stopped ? stopped.error() : detail.error();
    // Not found: the next sweep reports the container missing. Unreachable:
    // the next sweep shows it so, and the grace starts again once the
    // runtime answers. Anything else: tried again after another grace.
    spdlog::warn("workload \"{}\": stopping container {} in unknown state: {}", id, container_id,
                 error.message);
    entry->unknown_since = clock_.now();
    if (error.code == Code::kNotFound) entry->stale = true;
    co_return;
  }
  ContainerDetail ended = *detail;
  markLostAfterUnknownStop(ended);
  const auto before = entry->status.state;
  applyContainerDetail(ended, entry->status);
  noteObservedLocked(*entry, ended.state);
  entry->stale = false;
  if (ended.state == ObjectState::kExited) {
    planRestartLocked(*entry, ended);
    if (api::isTerminal(entry->status.state)) {
      entry->status.message += " (stopped by the node after the runtime had reported its state "
                               "unknown for " +
                               wholeSeconds(options_.unknown_grace) + ")";
    }
  } else if (ended.state == ObjectState::kUnknown) {
    // Stopped, and still unknown to the runtime: another try after another grace.
    spdlog::warn("workload \"{}\": container {} is still in an unknown state after its stop",
                 id, container_id);
    entry->unknown_since = clock_.now();
  }
  if (before != entry->status.state) {
    spdlog::info("workload \"{}\": {} -> {} ({})", id, api::stateName(before),
                 api::stateName(entry->status.state), entry->status.reason);
  }
  changedLocked(*entry);
}

}  // namespace zp::agent
