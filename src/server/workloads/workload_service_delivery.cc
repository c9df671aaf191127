// WorkloadService: the Unschedulable queue and delivery to the nodes
// (docs/architecture.md §8.3, §8.7).

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
// The queue

void WorkloadService::kickQueue() {
  if (stopped_ || table_.queueSize() == 0) return;
  if (queue_running_) {
    queue_again_ = true;
    return;
  }
  queue_running_ = true;
  spawn(processQueue());
}

asio::awaitable<void> WorkloadService::processQueue() {
  do {
    queue_again_ = false;
    std::vector<WorkloadLocks::Guard> guards;
    std::vector<Change> changes;
    for (const auto& id : table_.queued()) {
      if (locks_.held(id)) continue;
      guards.push_back(co_await locks_.acquire(id));
      const auto* entry = table_.find(id);
      if (entry == nullptr || !entry->committed || isPlaced(entry->record) ||
          isFinal(entry->record)) {
        continue;
      }
      const WorkloadRecord before = entry->record;
      const Decision decision = decide(before.spec);
      if (decision.placement) {
        WorkloadRecord after = withPlacement(before, decision, "");
        table_.update(id, after);  // counted now: the next one sees the capacity it took
        changes.push_back(Change{id, before, std::move(after)});
      } else if (decision.message != before.status.message) {
        WorkloadRecord after = before;
        after.status.message = decision.message;
        after.updated_at = clock_.now();
        table_.update(id, after);
        persist(after);
      }
    }
    if (!changes.empty()) {
      auto committed = co_await commitChanges(std::move(changes));
      if (!committed) queue_retry_ = true;
    }
  } while (queue_again_ && !stopped_);
  queue_running_ = false;
}

// ---------------------------------------------------------------------------
// Delivery

std::optional<std::string> WorkloadService::isolationShortfall(const WorkloadRecord& record) const {
  const api::IsolationRequirement required = admission_.requirement(record.spec);
  if (!required) return std::nullopt;
  const auto verified = fleet_.classIsolation(record.status.node, record.spec.runtime_class);
  if (verified && verified->satisfies(required)) return std::nullopt;
  std::string level = verified && verified->level != api::IsolationLevel::kUnverified
                          ? "verified " + std::string(api::isolationLevelName(verified->level))
                          : std::string("not verified");
  if (verified && verified->quarantined()) level += ", quarantined";
  // The stored spec always names its (effective) trust level.
  const std::string trust = record.spec.trust ? quoted(api::trustName(*record.spec.trust)) : "";
  return "class " + quoted(record.spec.runtime_class) + " on node " + quoted(record.status.node) +
         " is " + level + ", below the " + std::string(api::requirementName(required)) +
         " its trust level " + trust + " needs";
}

void WorkloadService::startDelivery(const std::string& id) {
  if (stopped_) return;
  const auto* entry = table_.find(id);
  std::string node = entry != nullptr ? entry->record.status.node : std::string();
  if (auto queued = queued_on_.find(id); queued != queued_on_.end()) {
    if (queued->second == node) return;  // already waits there
    // Placed elsewhere while it waited (its node lost, drained or too slow
    // to take it yet): it waits in the new node's queue instead; the old
    // queue's entry is skipped when reached.
    queued->second = node;
    enqueueDelivery(std::move(node), id);
    return;
  }
  if (!delivering_.insert(id).second) return;  // being delivered now
  queued_on_.emplace(id, node);
  enqueueDelivery(std::move(node), id);
}

void WorkloadService::enqueueDelivery(std::string node, const std::string& id) {
  DeliveryQueue& queue = delivery_queues_[node];
  queue.ids.push_back(id);
  if (queue.workers < options_.deliveries_per_node) {
    ++queue.workers;
    spawn(deliveryWorker(std::move(node)));
  }
}

asio::awaitable<void> WorkloadService::deliveryWorker(std::string node) {
  while (true) {
    auto it = delivery_queues_.find(node);
    if (it == delivery_queues_.end()) co_return;
    DeliveryQueue& queue = it->second;
    if (queue.ids.empty() || stopped_) {
      if (--queue.workers == 0) {
        // Stopping: what is left is delivered by the next start's resyncs.
        for (const auto& id : queue.ids) {
          auto queued = queued_on_.find(id);
          if (queued == queued_on_.end() || queued->second != node) continue;
          queued_on_.erase(queued);
          delivering_.erase(id);
        }
        delivery_queues_.erase(it);
      }
      co_return;
    }
    std::string id = std::move(queue.ids.front());
    queue.ids.pop_front();
    auto queued = queued_on_.find(id);
    if (queued == queued_on_.end() || queued->second != node) continue;  // moved to another node
    queued_on_.erase(queued);
    try {
      if (pacer_.enabled()) {
        // Paced across the fleet (delivery_pacer.h): the wait holds no lock
        // and no record; deliver() looks at the record as it is once admitted.
        auto admission = pacer_.admit();
        if (!co_await std::move(admission)) {
          delivering_.erase(id);  // stopping: the next start's resync delivers it
          continue;
        }
      }
      auto delivery = deliver(id);
      co_await std::move(delivery);
    } catch (const std::exception& e) {
      spdlog::error("workload service: a delivery failed: {}", e.what());
      delivering_.erase(id);  // nothing is under way for it now: tick() retries it
    }
    // Not delivered and nothing under way: tick() retries it when due.
    if (undelivered_.contains(id) && !delivering_.contains(id)) stalled_.insert(std::move(id));
  }
}

asio::awaitable<void> WorkloadService::deliver(std::string id) {
  auto guard = co_await locks_.acquire(id);
  const auto* entry = table_.find(id);
  if (entry == nullptr || !entry->committed || !undelivered_.contains(id) ||
      !isPlaced(entry->record) || isFinal(entry->record) || awaitsRemoval(entry->record)) {
    delivering_.erase(id);
    co_return;
  }
  if (auto below = isolationShortfall(entry->record)) {
    // The class no longer verifies as the trust level needs (a restarted
    // agent not probed yet, a reconfigured handler, a quarantine): never
    // start it there. It is placed again, as on a lost node (its class kept).
    delivering_.erase(id);
    backoff_.clear(id);
    undelivered_.erase(id);
    const WorkloadRecord before = entry->record;
    spdlog::warn("workload \"{}\" is not delivered to node \"{}\": {}", id,
                 before.status.node, *below);
    WorkloadRecord next = withPlacement(before, decide(before.spec), *below + "; ");
    table_.update(id, next);  // counted now, as in processQueue()
    // Durable before it is delivered (§8.4): commitChanges starts the
    // delivery of a new placement once it is stored, or puts `before` back.
    std::vector<Change> changes;
    changes.push_back(Change{id, before, std::move(next)});
    auto committed = co_await commitChanges(std::move(changes));
    if (!committed) {
      // Still placed as before: tick() retries it once its back-off is over.
      undelivered_.insert(id);
      stalled_.insert(id);
      (void)backoff_.failed(id, clock_.now());
    }
    co_return;
  }
  const WorkloadRecord sent = entry->record;
  const std::string node = sent.status.node;
  protocol::RequestBody request = protocol::StartWorkload{sent.spec, sent.status.uid};
  auto reply = co_await fleet_.call(node, std::move(request), options_.start_timeout);
  delivering_.erase(id);
  entry = table_.find(id);
  if (entry == nullptr || entry->record.status.uid != sent.status.uid) co_return;

  Result<api::WorkloadStatus> status = fail(Code::kInternal, "");
  if (!reply) {
    status = fail(reply.error());
  } else if (auto* body = std::get_if<api::WorkloadStatus>(&*reply)) {
    status = std::move(*body);
  } else if (auto* error = std::get_if<protocol::ErrorReply>(&*reply)) {
    status = fail(error->error);
  } else {
    status = fail(Code::kInternal, "the node answered StartWorkload with " +
                                       std::string(protocol::typeName(*reply)));
  }
  if (status) {
    backoff_.clear(id);
    undelivered_.erase(id);
    // A push may already have said more than this reply: keep the newer.
    if (entry->record.status != sent.status) co_return;
    status->id = id;
    status->uid = sent.status.uid;
    applyStatus(node, std::move(*status));
    co_return;
  }
  const Error& error = status.error();
  if (error.code == Code::kCancelled) co_return;  // stopping; the next start delivers it
  WorkloadRecord next = entry->record;
  next.updated_at = clock_.now();
  const int attempts = backoff_.failures(id) + 1;
  if (isPermanentRefusal(error) ||
      (error.code == Code::kInternal && attempts >= kMaxInternalErrorAttempts)) {
    // An internal error may pass (a node restarting), but one that persists
    // across attempts is as final as a refusal: never retry forever.
    spdlog::warn("node \"{}\" refused workload \"{}\": {}", node, id, error.toString());
    backoff_.clear(id);
    undelivered_.erase(id);
    next.status.state = api::WorkloadState::kFailed;
    next.status.reason = std::string(api::reason::kDeliveryFailed);
    next.status.message =
        "node " + quoted(node) + " refused the workload (" + std::string(codeName(error.code)) +
        (attempts > 1 ? ", " + std::to_string(attempts) + " attempts" : "") + "): " + error.message;
    next.status.finished_at = clock_.now();
    table_.update(id, next);
    persist(next);
    kickQueue();
    co_return;
  }
  const auto wait = backoff_.failed(id, clock_.now());
  spdlog::info("workload \"{}\" not yet delivered to node \"{}\" (attempt {}; next in {}): {}", id,
               node, attempts, seconds(wait), error.message);
  next.status.state = api::WorkloadState::kPending;
  next.status.reason = std::string(api::reason::kScheduled);
  next.status.message = "not yet delivered to node " + quoted(node) + " (attempt " +
                        std::to_string(attempts) + " failed; next attempt in " + seconds(wait) +
                        "): " + error.message;
  table_.update(id, next);
  persist(next);
}

void WorkloadService::fence(const std::string& node, const std::string& id,
                            const std::string& uid) {
  const std::string key = node + "/" + id + "/" + uid;
  if (stopped_ || fencing_.contains(key)) return;
  fencing_.insert(key);
  spawn(fenceNow(node, id, uid));
}

asio::awaitable<void> WorkloadService::fenceNow(std::string node, std::string id, std::string uid) {
  spdlog::info("fencing the copy \"{}\" of workload \"{}\" on node \"{}\"", uid, id, node);
  protocol::RequestBody request = protocol::RemoveWorkload{id, kFenceGrace.count(), uid};
  const std::chrono::milliseconds timeout = options_.remove_timeout + kFenceGrace;
  auto reply = co_await fleet_.call(node, std::move(request), timeout);
  if (!reply && reply.error().code != Code::kNotFound) {
    spdlog::warn("cannot fence the copy \"{}\" of workload \"{}\" on node \"{}\": {}", uid, id,
                 node, reply.error().toString());
  }
  fencing_.erase(node + "/" + id + "/" + uid);
}

}  // namespace zp::server
