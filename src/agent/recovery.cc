// WorkloadManager: rebuilding the registry from the runtime after a restart,
// and the periodic status sweep. See workload_manager.h for the locking rules.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "agent/status_mapping.h"
#include "agent/workload_manager.h"

namespace zp::agent {
namespace {

// The workload's current container in the sandbox: the latest attempt (a
// restart interrupted after creating its container leaves its predecessor
// too); among equals, a running one.
const ContainerObservation* containerOf(const Snapshot& snapshot, std::string_view sandbox_id) {
  const ContainerObservation* best = nullptr;
  for (const auto& c : snapshot.containers) {
    if (c.sandbox_id != sandbox_id) continue;
    if (best == nullptr || c.attempt > best->attempt ||
        (c.attempt == best->attempt && c.state == ObjectState::kRunning)) {
      best = &c;
    }
  }
  return best;
}

}  // namespace

Status WorkloadManager::recover() {
  auto snapshot = runtime_.snapshot();
  if (!snapshot) return fail(snapshot.error());

  // Group this node's sandboxes by workload; keep one per workload and remove
  // the others, so nothing is ever duplicated.
  std::map<std::string, std::vector<const SandboxObservation*>> by_workload;
  for (const auto& sb : snapshot->sandboxes) {
    if (!sb.identity) {
      spdlog::warn("sandbox {} carries this node's labels but an unreadable spec; leaving it alone",
                   sb.sandbox_id);
      continue;
    }
    by_workload[sb.workload_id].push_back(&sb);
  }
  std::vector<EntryPtr> to_finish;
  for (auto& [id, sandboxes] : by_workload) {
    // One with a container first (it holds the workload's run), then ready,
    // then the newest.
    std::sort(sandboxes.begin(), sandboxes.end(), [&](const auto* a, const auto* b) {
      const bool a_runs = containerOf(*snapshot, a->sandbox_id) != nullptr;
      const bool b_runs = containerOf(*snapshot, b->sandbox_id) != nullptr;
      if (a_runs != b_runs) return a_runs;
      if ((a->state == ObjectState::kReady) != (b->state == ObjectState::kReady)) {
        return a->state == ObjectState::kReady;
      }
      return a->created_at > b->created_at;
    });
    for (std::size_t i = 1; i < sandboxes.size(); ++i) {
      spdlog::warn("workload \"{}\": removing duplicate sandbox {}", id, sandboxes[i]->sandbox_id);
      if (auto s = runtime_.removeWorkload(*sandboxes[i]->identity, sandboxes[i]->sandbox_id); !s) {
        spdlog::warn("workload \"{}\": {}", id, s.error().message);
      }
    }
    adoptSandbox(*sandboxes.front(), *snapshot, to_finish);
  }
  // Pod cgroups of submissions that no sandbox is left of (a crash between
  // RemovePodSandbox and their release); before any pipeline runs again.
  if (auto s = runtime_.pruneHostState(*snapshot); !s) spdlog::warn("{}", s.error().message);
  for (const auto& entry : to_finish) launchPipeline(entry);
  std::size_t registered = 0;
  {
    std::lock_guard lock(mutex_);
    registered = entries_.size();
  }
  spdlog::info("recovered {} workload(s) from the runtime ({} to finish)", registered,
               to_finish.size());
  return ok();
}

void WorkloadManager::adoptSandbox(const SandboxObservation& sandbox, const Snapshot& snapshot,
                                   std::vector<EntryPtr>& to_finish) {
  const auto* container = containerOf(snapshot, sandbox.sandbox_id);
  if (container == nullptr ||
      (container->attempt == 0 && container->state == ObjectState::kCreated &&
       sandbox.state != ObjectState::kReady)) {
    // Nothing of the workload ever ran: the agent went away between
    // RunPodSandbox and StartContainer, or a stop before the container ran
    // could not remove the sandbox (docs/architecture.md §4). The two look
    // alike, and only the first is to run: the sandbox is removed and the
    // workload not registered. The server delivers every accepted workload
    // its node does not list again, and the agent then creates it anew. (A
    // restart's container, attempt > 0, follows attempts that ran.)
    spdlog::warn(
        "workload \"{}\": nothing ran in its sandbox {} (created before a restart, or left by a "
        "stop); removing it (the server delivers the workload again if it is wanted)",
        sandbox.workload_id, sandbox.sandbox_id);
    if (auto s = runtime_.removeWorkload(*sandbox.identity, sandbox.sandbox_id); !s) {
      // The orphan scan removes it later; a delivery of the same submission
      // before then looks for it first (its name is taken).
      spdlog::warn("workload \"{}\": {}", sandbox.workload_id, s.error().message);
      std::lock_guard lock(mutex_);
      leftovers_[sandbox.workload_id] = sandbox.identity->uid;
      // Its user stays the submission's: a delivery that runs the workload
      // in this sandbox gets the user its labels name.
      if (sandbox.identity->run_as_user) {
        uids_.reserve(sandbox.identity->uid, *sandbox.identity->run_as_user);
      }
    }
    return;
  }
  auto entry = std::make_shared<Entry>();
  entry->identity = *sandbox.identity;
  const auto& id = entry->identity.spec.id;
  auto& st = entry->status;
  st.id = id;
  st.uid = entry->identity.uid;
  st.node = options_.node_id;
  st.created_at = sandbox.created_at;
  st.runtime_handler = sandbox.runtime_handler;
  st.log_path = runtime_.logPath(entry->identity);
  st.profile = api::profileName(entry->identity.spec.security.profile);
  st.run_as_user = entry->identity.run_as_user;
  st.run_as_group = entry->identity.run_as_group;
  entry->sandbox_id = sandbox.sandbox_id;
  st.sandbox_id = sandbox.sandbox_id;
  entry->container_id = container->container_id;
  entry->attempt = container->attempt;
  st.container_id = container->container_id;
  st.restart_count = static_cast<int>(container->attempt);
  st.log_path = runtime_.logPath(entry->identity, container->attempt);
  // Predecessors a restart had not removed yet.
  for (const auto& c : snapshot.containers) {
    if (c.sandbox_id != sandbox.sandbox_id || c.container_id == container->container_id) continue;
    spdlog::info("workload \"{}\": removing container {} of attempt {}", id, c.container_id,
                 c.attempt);
    if (auto s = runtime_.removeContainer(entry->identity, c.container_id, c.attempt); !s) {
      spdlog::warn("workload \"{}\": {}", id, s.error().message);
    }
  }
  if (auto detail =
          runtime_.inspectContainer(entry->identity.spec.runtime_class, container->container_id);
      detail && startCutShort(*detail)) {
    // Killed during StartContainer: the runtime cancelled the start, the
    // process never ran. The pipeline replaces the container and starts it.
    entry->observed = ObjectState::kCreated;
    st.state = api::WorkloadState::kPending;
    st.reason = api::reason::kCreating;
    st.message = "resuming the start cut short by an agent restart";
    to_finish.push_back(entry);
  } else if (detail) {
    noteObservedLocked(*entry, detail->state);
    applyContainerDetail(*detail, st);
    // An exit its policy restarts: the restart is resumed after the initial back-off.
    if (detail->state == ObjectState::kExited) planRestartLocked(*entry, *detail);
    if (detail->state == ObjectState::kCreated) to_finish.push_back(entry);
  } else {
    st.state = api::WorkloadState::kUnknown;
    st.reason = detail.error().code == Code::kUnavailable
                    ? std::string(api::reason::kRuntimeUnavailable)
                    : std::string(api::reason::kContainerUnknown);
    st.message = detail.error().message;
    entry->stale = true;  // the next sweep looks again
  }
  std::lock_guard lock(mutex_);
  entries_[id] = entry;
  changedLocked(*entry);
  // The uid it runs as stays taken (labels carry it across restarts).
  if (entry->identity.run_as_user) uids_.reserve(entry->identity.uid, *entry->identity.run_as_user);
}

std::vector<WorkloadManager::EntryPtr> WorkloadManager::sweepable() const {
  std::lock_guard lock(mutex_);
  std::vector<EntryPtr> out;
  for (const auto& [id, entry] : entries_) {
    // A running pipeline owns its workload's status.
    // So does settleUnknown() while it stops an unknown container, and the
    // pipeline while an ended container waits for its replacement.
    if (api::isTerminal(entry->status.state) || entry->container_id.empty() || entry->pipeline ||
        entry->settling || entry->replace_ended) {
      continue;
    }
    out.push_back(entry);
  }
  return out;
}

void WorkloadManager::markStale(const EntryPtr& entry, const Error& error) {
  std::lock_guard lock(mutex_);
  auto& st = entry->status;
  if (api::isTerminal(st.state) || entry->pipeline) return;
  // The unknown-state grace counts only while the runtime answers.
  entry->unknown_since.reset();
  if (!entry->stale) {
    std::string last = std::string(api::stateName(st.state));
    if (!st.reason.empty()) last += " (" + st.reason + ")";
    st.message = "the container runtime cannot be reached; last observed state: " + last + ": " +
                 error.message;
    st.state = api::WorkloadState::kUnknown;
    st.reason = api::reason::kRuntimeUnavailable;
    entry->stale = true;
    changedLocked(*entry);
    spdlog::warn("workload \"{}\": status unknown: {}", entry->identity.spec.id, st.message);
  }
}

bool WorkloadManager::refresh(const EntryPtr& entry) {
  std::unique_lock op(entry->op, std::try_to_lock);
  if (!op.owns_lock()) return true;  // an operation is in progress; it sets the status
  const std::string container_id = runtimeIds(entry).second;
  auto detail = runtime_.inspectContainer(entry->identity.spec.runtime_class, container_id);
  if (detail) {
    applyDetail(entry, *detail);
  } else if (detail.error().code == Code::kNotFound) {
    setFailed(entry, api::reason::kContainerMissing,
              "container " + container_id + " disappeared from the runtime");
  } else if (noAnswer(detail.error())) {
    markStale(entry, detail.error());
    return false;
  } else {
    spdlog::warn("workload \"{}\": ContainerStatus: {}", entry->identity.spec.id,
                 detail.error().message);
  }
  return true;
}

Status WorkloadManager::sweep() {
  const TimePoint now = clock_.now();
  // (A clock set back also scans: its interval would otherwise last until
  // the clock caught up.)
  bool orphan_scan = !last_orphan_scan_ || now < *last_orphan_scan_ ||
                     now - *last_orphan_scan_ >= options_.orphan_scan_interval;
  auto snapshot = orphan_scan ? runtime_.snapshot() : runtime_.containerSnapshot();
  if (orphan_scan) {
    last_orphan_scan_ = now;  // done or failed, the next scan is an interval away
    if (!snapshot && !noAnswer(snapshot.error())) {
      // The sandboxes could not be listed (say, too large a listing): the
      // containers may still be.
      spdlog::warn("status sweep: listing the sandboxes failed ({}); listing the containers alone",
                   snapshot.error().message);
      orphan_scan = false;
      snapshot = runtime_.containerSnapshot();
    }
  }
  if (!snapshot) {
    const Error error = snapshot.error();
    auto entries = sweepable();
    if (noAnswer(error)) {
      // Nothing can be read (the runtime is unreachable, or silent past the
      // listing's deadline): what the registry holds is no longer fresh.
      // Checking each workload would wait out a deadline per workload.
      for (const auto& entry : entries) markStale(entry, error);
      return fail(error);
    }
    // The listing failed otherwise (too large, a runtime bug): degrade to one
    // ContainerStatus per workload instead of freezing every status.
    spdlog::warn("status sweep: listing failed ({}); checking {} workload(s) one by one",
                 error.message, entries.size());
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (!refresh(entries[i])) {
        for (std::size_t j = i + 1; j < entries.size(); ++j) markStale(entries[j], error);
        break;
      }
    }
    return fail(error);
  }
  std::map<std::string, const ContainerObservation*> containers;
  for (const auto& c : snapshot->containers) containers[c.container_id] = &c;

  // Decide under the lock what changed; inspect outside it.
  std::vector<EntryPtr> changed;
  {
    auto candidates = sweepable();
    std::lock_guard lock(mutex_);
    for (const auto& entry : candidates) {
      const auto it = containers.find(entry->container_id);
      if (entry->stale || it == containers.end() || it->second->state != entry->observed) {
        changed.push_back(entry);  // stale, vanished (confirmed below) or changed
      }
    }
  }
  for (const auto& entry : changed) {
    if (!refresh(entry)) break;  // the runtime went away meanwhile; the next sweep retries
  }
  if (orphan_scan) removeOrphans(*snapshot);
  settleDueUnknowns();
  startDueRestarts();
  return ok();
}

void WorkloadManager::noteObservedLocked(Entry& entry, ObjectState state) {
  entry.observed = state;
  if (state != ObjectState::kUnknown) {
    entry.unknown_since.reset();
  } else if (!entry.unknown_since) {
    entry.unknown_since = clock_.now();
  }
}

// Sandboxes with this node's labels that no workload owns (e.g. a
// RunPodSandbox whose reply was lost) are removed; everything else is left alone.
void WorkloadManager::removeOrphans(const Snapshot& snapshot) {
  for (const auto& sb : snapshot.sandboxes) {
    if (!sb.identity) continue;
    EntryPtr owner;
    {
      std::lock_guard lock(mutex_);
      const auto it = entries_.find(sb.workload_id);
      if (it != entries_.end()) owner = it->second;
    }
    std::unique_lock<std::mutex> op;
    if (owner) {
      op = std::unique_lock(owner->op, std::try_to_lock);
      if (!op.owns_lock()) continue;
      std::lock_guard lock(mutex_);
      if (owner->sandbox_id == sb.sandbox_id) continue;
      // The owner's own sandbox may not be recorded yet while its pipeline is
      // still to run. Once the owner is final without a sandbox (say, a
      // RunPodSandbox whose reply timed out), a sandbox of its uid is an orphan.
      if (owner->identity.uid == sb.identity->uid && owner->sandbox_id.empty() &&
          !api::isTerminal(owner->status.state)) {
        continue;
      }
    }
    spdlog::warn("removing orphan sandbox {} of workload \"{}\"", sb.sandbox_id, sb.workload_id);
    if (auto s = runtime_.removeWorkload(*sb.identity, sb.sandbox_id); !s) {
      spdlog::warn("orphan sandbox {}: {}", sb.sandbox_id, s.error().message);
      continue;
    }
    // A leftover of recovery that no delivery took: its user is free again.
    std::lock_guard lock(mutex_);
    if (const auto left = leftovers_.find(sb.workload_id);
        left != leftovers_.end() && left->second == sb.identity->uid) {
      leftovers_.erase(left);
      uids_.release(sb.identity->uid);
    }
  }
}

}  // namespace zp::agent
