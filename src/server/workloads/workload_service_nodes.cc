// WorkloadService: what the nodes say (pushes, resyncs) and node events
// (loss, evacuation, re-adds) (docs/architecture.md §8.5, §8.6).

#include "server/workloads/workload_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <exception>
#include <map>

#include "api/validate.h"
#include "server/commit.h"
#include "server/concurrently.h"
#include "server/workloads/workload_ids.h"
#include "server/workloads/workload_service_detail.h"

namespace zp::server {

namespace asio = boost::asio;
using store::WorkloadRecord;
using namespace service_detail;

// ---------------------------------------------------------------------------
// Status from the nodes

bool WorkloadService::wantedOn(std::string_view id, std::string_view node,
                               std::string_view uid) const {
  const auto* entry = table_.find(id);
  if (entry == nullptr || !entry->committed) return false;
  const api::WorkloadStatus& status = entry->record.status;
  return status.node == node && status.uid == uid && !endedByServer(status);
}

bool WorkloadService::removalPending(std::string_view id, std::string_view node,
                                     std::string_view uid) const {
  const auto* entry = table_.find(id);
  if (entry == nullptr || !entry->committed) return false;
  const api::WorkloadStatus& status = entry->record.status;
  return status.node == node && status.uid == uid && awaitsRemoval(entry->record);
}

void WorkloadService::countStatus(const api::WorkloadStatus& before,
                                  const api::WorkloadStatus& after, bool pushed) {
  if (options_.metrics == nullptr || before.uid != after.uid) return;
  if (after.restart_count > before.restart_count) {
    options_.metrics->restarts.inc(after.restart_count - before.restart_count);
  }
  if (pushed && after.finished_at && after.finished_at != before.finished_at) {
    const auto delay = std::chrono::duration<double>(clock_.now() - *after.finished_at).count();
    options_.metrics->push_delay.observe(std::max(delay, 0.0));
  }
}

void WorkloadService::applyStatus(const std::string& node, api::WorkloadStatus status,
                                  bool pushed) {
  if (!wantedOn(status.id, node, status.uid)) {
    fence(node, status.id, status.uid);
    return;
  }
  // Being deleted, or its copy being removed: nothing may write the record
  // but that removal (it would put a deleted record back, or undo the mark).
  if (deleting_.contains(status.id) || removalPending(status.id, node, status.uid)) return;
  if (status.reason == api::reason::kTerminating || status.reason == api::reason::kDraining) {
    spdlog::warn("node \"{}\" reported workload \"{}\" with the server's reason {}: ignored", node,
                 status.id, status.reason);
    return;
  }
  const WorkloadRecord& current = table_.find(status.id)->record;
  if (isFinal(current)) return;  // final is final; its copy stays until the workload is deleted
  WorkloadRecord next = current;
  status.node = current.status.node;
  status.created_at = current.status.created_at;
  next.status = std::move(status);
  const std::string id = next.spec.id;
  // The node has this copy: it needs no (further) delivery.
  undelivered_.erase(id);
  backoff_.clear(id);
  if (next.status == current.status) return;
  next.updated_at = clock_.now();
  countStatus(current.status, next.status, pushed);
  const WorkloadRecord& stored = table_.update(id, std::move(next)).record;
  persist(stored);
  if (isFinal(stored)) kickQueue();
}

void WorkloadService::onStatus(const std::string& node, const api::WorkloadStatus& status) {
  applyStatus(node, status, /*pushed=*/true);
}

asio::awaitable<void> WorkloadService::onResync(std::string node,
                                                std::vector<api::WorkloadStatus> items) {
  std::map<std::string, std::string> present;  // id -> uid of the copies on the node
  std::vector<std::pair<std::string, std::string>> kept;  // (id, uid) wanted when listed
  std::vector<Task> fences;
  const auto fenceTask = [&](const std::string& id, const std::string& uid) {
    const std::string key = node + "/" + id + "/" + uid;
    if (fencing_.contains(key)) return;
    fencing_.insert(key);
    fences.push_back([this, node, id, uid]() -> asio::awaitable<void> {
      std::string n = node, i = id, u = uid;
      co_await fenceNow(std::move(n), std::move(i), std::move(u));
    });
  };
  int applied = 0;
  int removing = 0;
  for (auto& item : items) {
    present[item.id] = item.uid;
    if (removalPending(item.id, node, item.uid)) {
      ++removing;  // finished below, not applied
      continue;
    }
    if (!wantedOn(item.id, node, item.uid)) {
      fenceTask(item.id, item.uid);
      continue;
    }
    ++applied;
    kept.emplace_back(item.id, item.uid);
    applyStatus(node, std::move(item));
  }
  std::size_t fenced = fences.size();
  if (fenced > 0) {
    spdlog::info("node \"{}\" runs {} copies no record places there: removing them", node, fenced);
  }
  co_await runConcurrently(std::move(fences));

  // While the fences ran, records may have moved away (the node was declared
  // Lost and evacuated, a workload was deleted or placed again): fence the
  // listed copies no longer wanted, until none is left or after a few rounds
  // (then in the background).
  for (int round = 0; round <= kResyncRechecks && !kept.empty(); ++round) {
    fences.clear();
    for (auto it = kept.begin(); it != kept.end();) {
      const auto& [id, uid] = *it;
      if ((wantedOn(id, node, uid) && !deleting_.contains(id)) || removalPending(id, node, uid)) {
        ++it;
        continue;
      }
      present.erase(id);  // if it is wanted here again, it is delivered again
      if (round < kResyncRechecks) {
        fenceTask(id, uid);
      } else {
        fence(node, id, uid);
      }
      it = kept.erase(it);
    }
    if (fences.empty()) break;
    spdlog::info("node \"{}\": {} listed copies are no longer wanted there: removing them", node,
                 fences.size());
    fenced += fences.size();
    co_await runConcurrently(std::move(fences));
    fences.clear();
  }

  int redelivered = 0;
  for (const auto& id : table_.activeOn(node)) {
    const auto* entry = table_.find(id);
    if (awaitsRemoval(entry->record)) continue;
    auto it = present.find(id);
    if (it != present.end() && it->second == entry->record.status.uid) continue;
    ++redelivered;
    undelivered_.insert(id);
    startDelivery(id);
  }
  // Deletions and drains waiting for this node: finished now (their copies
  // are removed whether listed or not).
  for (const auto& id : table_.awaitingRemoval()) {
    const auto* entry = table_.find(id);
    if (entry == nullptr || entry->record.status.node != node) continue;
    backoff_.clear(id);
    startRemoval(id);
  }
  spdlog::info(
      "node \"{}\" resynced: {} copies, {} statuses applied, {} fenced, {} to deliver, {} being "
      "removed",
      node, items.size(), applied, fenced, redelivered, removing);
}

// ---------------------------------------------------------------------------
// Nodes

void WorkloadService::onNodeChanged(const NodeView& node) {
  // A node added again after its removal: what is placed on it counts again.
  table_.recountNode(node.id);
  const bool ready = node.state == NodeState::kReady;
  auto [known, added] = ready_.try_emplace(node.id, false);  // unheard of: shown as not Ready
  if (known->second != ready) {
    known->second = ready;
    publishNode(node.id);
  }
  if (ready && node.schedulable) kickQueue();
  if (node.state == NodeState::kLost && !stopped_ && !evacuating_.contains(node.id) &&
      evacuable(node.id)) {
    evacuating_.insert(node.id);
    spawn(evacuate(node.id));
  }
}

void WorkloadService::onIsolationChanged(const std::string& node,
                                         const std::vector<std::string>& classes) {
  publishNode(node, &classes);
}

void WorkloadService::onNodeRemoved(const std::string& node) {
  // The fleet no longer counts anything on it.
  table_.forgetNode(node);
  auto known = ready_.find(node);
  if (known != ready_.end()) {
    const bool was_ready = known->second;
    ready_.erase(known);
    if (was_ready) publishNode(node);  // now shown as on an unknown node
  }
  if (stopped_ || evacuating_.contains(node) || !evacuable(node)) return;
  evacuating_.insert(node);
  spawn(evacuate(node));
}

void WorkloadService::publishNode(const std::string& node,
                                  const std::vector<std::string>* classes) {
  for (const auto& id : table_.activeOn(node)) {
    const auto* entry = table_.find(id);
    if (awaitsRemoval(entry->record)) continue;
    if (classes != nullptr && !std::binary_search(classes->begin(), classes->end(),
                                                  entry->record.spec.runtime_class)) {
      continue;
    }
    publish(WatchEventType::kModified, entry->record);
  }
}

bool WorkloadService::evacuable(const std::string& node) const {
  // Records awaiting removal are finished by finishRemoval(), not evacuated.
  for (const auto& id : table_.activeOn(node)) {
    if (!awaitsRemoval(table_.find(id)->record)) return true;
  }
  return false;
}

asio::awaitable<void> WorkloadService::evacuate(std::string node) {
  const auto state = fleet_.state(node);
  if (state && *state != NodeState::kLost) {  // back (or added again) meanwhile
    evacuating_.erase(node);
    co_return;
  }
  // Every workload of the node at once: one transaction for all.
  std::vector<WorkloadLocks::Guard> guards;
  std::vector<Change> changes;
  const std::string why = "node " + quoted(node) + (state ? " was lost" : " was removed");
  for (const auto& id : table_.activeOn(node)) {
    if (locks_.held(id)) continue;  // busy: the next tick() finds it again
    guards.push_back(co_await locks_.acquire(id));
    const auto* entry = table_.find(id);
    if (entry == nullptr || entry->record.status.node != node || isFinal(entry->record) ||
        awaitsRemoval(entry->record)) {
      continue;
    }
    const WorkloadRecord before = entry->record;
    // The node is not Ready (or gone): the scheduler does not pick it.
    const WorkloadRecord after =
        movedOff(before, why, api::reason::kNodeLost,
                 why + " (last known state " + std::string(api::stateName(before.status.state)) +
                     "); restart_policy Never: not placed again");
    table_.update(id, after);
    changes.push_back(Change{id, before, after});
  }
  if (!changes.empty()) {
    spdlog::warn("{}: {} workload(s) placed again or ended", why, changes.size());
    co_await commitChanges(std::move(changes));  // on failure: kept; the next tick() retries
  }
  evacuating_.erase(node);
}

}  // namespace zp::server
