// WorkloadService: construction, submissions and reads, placement, writes,
// background work and time. Removal, node events and delivery live in
// workload_service_removal.cc, _nodes.cc and _delivery.cc.

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

WorkloadService::WorkloadService(asio::any_io_executor executor, Fleet& fleet,
                                 store::CommitQueue& commits, const Admission& admission,
                                 const Clock& clock, WatchSink* watch,
                                 WorkloadServiceOptions options)
    : executor_(std::move(executor)),
      fleet_(fleet),
      commits_(commits),
      admission_(admission),
      clock_(clock),
      watch_(watch),
      options_(std::move(options)),
      table_(fleet_, options_.scheduler),
      backoff_(options_.delivery_backoff),
      pacer_(executor_, options_.pacing) {
  options_.deliveries_per_node = std::max<std::size_t>(options_.deliveries_per_node, 1);
}

WorkloadService::~WorkloadService() { alive_->store(false); }

// ---------------------------------------------------------------------------
// Start, reads

Status WorkloadService::load(store::Store& store) {
  auto records = store.loadWorkloads();
  if (!records) return fail(records.error());
  for (const auto& node : fleet_.nodes()) ready_[node.id] = node.state == NodeState::kReady;
  std::size_t placed = 0;
  std::size_t queued = 0;
  for (auto& record : *records) {
    if (table_.contains(record.spec.id)) continue;
    // A placement stored without a uid (before uids existed) gets one, so its
    // copy can be told apart: the node's resync fences the old copy and
    // delivers this one.
    const bool needs_uid = isPlaced(record) && !isFinal(record) && record.status.uid.empty();
    if (needs_uid) record.status.uid = generateUid();
    table_.insert(record, /*committed=*/true);
    if (needs_uid) persist(record, store::CommitQueue::Urgency::kPrompt);
    if (isPlaced(record) && !isFinal(record)) ++placed;
    if (!isPlaced(record) && !isFinal(record)) ++queued;
  }
  spdlog::info(
      "loaded {} workloads ({} placed and not final, {} waiting to be placed, {} being deleted "
      "or drained)",
      records->size(), placed, queued, table_.awaitingRemoval().size());
  return ok();
}

Result<WorkloadRecord> WorkloadService::get(std::string_view id) const {
  const auto* entry = table_.find(id);
  if (entry == nullptr || !entry->committed) return notFound(id);
  return shown(entry->record);
}

Result<ListPage> WorkloadService::list(const ListFilter& filter, std::optional<std::size_t> limit,
                                       std::string_view after) const {
  if (limit && *limit == 0)
    return fail(Code::kInvalidArgument, "limit must be at least 1", "limit");
  auto it = table_.order().begin();
  if (!after.empty()) {
    auto position = decodePosition(after);
    if (!position) {
      return fail(Code::kInvalidArgument,
                  "continue " + quoted(after) + " is not a position from a previous page",
                  "continue");
    }
    it = table_.order().upper_bound(*position);
  }
  ListPage page;
  for (; it != table_.order().end(); ++it) {
    const auto* entry = table_.find(it->second);
    if (entry == nullptr || !entry->committed) continue;
    const WorkloadRecord& record = entry->record;
    if (!filter.node.empty() && record.status.node != filter.node) continue;
    if (!filter.runtime_class.empty() && record.spec.runtime_class != filter.runtime_class) {
      continue;
    }
    WorkloadRecord view = shown(record);
    if (filter.state && view.status.state != *filter.state) continue;
    if (limit && page.items.size() == *limit) {  // one more matches: there is a next page
      page.next = encodePosition(WorkloadTable::orderKey(page.items.back()));
      break;
    }
    page.items.push_back(std::move(view));
  }
  return page;
}

std::optional<api::ClassIsolation> WorkloadService::isolation(const WorkloadRecord& record) const {
  if (!isPlaced(record) || record.spec.runtime_class.empty()) return std::nullopt;
  return fleet_.classIsolation(record.status.node, record.spec.runtime_class);
}

WorkloadRecord WorkloadService::shown(const WorkloadRecord& record) const {
  if (!isPlaced(record) || isFinal(record) || awaitsRemoval(record)) return record;
  // Every read and watch event goes through here: the state alone (no copy
  // of the node's view) while the node is Ready.
  auto node = fleet_.nodeStatus(record.status.node);
  if (node && node->state == NodeState::kReady) return record;
  WorkloadRecord view = record;
  std::string why =
      node ? "node " + quoted(record.status.node) + " is " + std::string(nodeStateName(node->state))
           : "node " + quoted(record.status.node) + " is not known";
  if (node && !node->reason.empty()) {
    why += " (" + node->reason + (node->message.empty() ? "" : ": " + node->message) + ")";
  }
  view.status.state = api::WorkloadState::kUnknown;
  view.status.reason = std::string(api::reason::kNodeUnreachable);
  view.status.message =
      why + "; last known state " + std::string(api::stateName(record.status.state));
  return view;
}

// ---------------------------------------------------------------------------
// Placement

Decision WorkloadService::decide(const api::WorkloadSpec& spec) const {
  const SchedulingIndex& nodes = fleet_.schedulingIndex();
  auto classes = admission_.candidateClasses(spec, nodes.offeredClasses());
  if (!classes) return Decision{std::nullopt, classes.error().message};
  return options_.scheduler.placeIndexed(spec, *classes, admission_.requirement(spec), nodes);
}

WorkloadRecord WorkloadService::withPlacement(WorkloadRecord record, const Decision& decision,
                                              const std::string& why) const {
  api::WorkloadStatus status;
  status.id = record.spec.id;
  status.created_at = record.status.created_at;
  status.state = api::WorkloadState::kPending;
  if (decision.placement) {
    record.spec.runtime_class = decision.placement->runtime_class;
    status.node = decision.placement->node;
    status.uid = generateUid();
    status.reason = std::string(api::reason::kScheduled);
    const auto& placement = *decision.placement;
    status.message = why + "scheduled to node " + quoted(status.node) + " (class " +
                     placement.runtime_class + ": " +
                     std::string(api::isolationLevelName(placement.level));
    if (placement.level != api::IsolationLevel::kUnverified) {
      status.message += ", score " + std::to_string(placement.score);
    }
    status.message += ")";
  } else {
    status.reason = std::string(api::reason::kUnschedulable);
    status.message = why + decision.message;
  }
  record.status = std::move(status);
  record.updated_at = clock_.now();
  return record;
}

WorkloadRecord WorkloadService::movedOff(const WorkloadRecord& before, const std::string& why,
                                         std::string_view reason, std::string message) const {
  if (reschedules(before.spec)) return withPlacement(before, decide(before.spec), why + "; ");
  WorkloadRecord after = before;
  after.status.state = api::WorkloadState::kFailed;
  after.status.reason = std::string(reason);
  after.status.message = std::move(message);
  after.status.finished_at = clock_.now();
  after.updated_at = clock_.now();
  return after;
}

asio::awaitable<Result<WorkloadRecord>> WorkloadService::submit(api::WorkloadSpec spec) {
  if (stopped_) co_return fail(Code::kUnavailable, "the server is stopping");
  const bool generated = spec.id.empty();
  if (generated) {
    spec.id = generateWorkloadId();
    for (int i = 1; i < kGeneratedIdAttempts && table_.contains(spec.id); ++i) {
      spec.id = generateWorkloadId();
    }
  }
  if (auto valid = api::validateWorkloadSpec(spec); !valid) co_return fail(valid.error());
  auto admitted = admission_.admit(std::move(spec));
  if (!admitted) co_return fail(admitted.error());
  const std::string id = admitted->id;
  if (table_.contains(id)) co_return alreadyExists(id);
  auto guard = co_await locks_.acquire(id);
  if (table_.contains(id)) co_return alreadyExists(id);

  // From here to the insert nothing suspends: the capacity it takes is counted
  // before another submission is scheduled.
  const SchedulingIndex& nodes = fleet_.schedulingIndex();
  auto classes = admission_.candidateClasses(*admitted, nodes.offeredClasses());
  if (!classes) co_return fail(classes.error());
  const Decision decision = options_.scheduler.placeIndexed(
      *admitted, *classes, admission_.requirement(*admitted), nodes);
  WorkloadRecord record;
  record.spec = std::move(*admitted);
  record.status.created_at = clock_.now();
  record = withPlacement(std::move(record), decision, "");
  table_.insert(record, /*committed=*/false);

  std::vector<store::Write> batch{store::PutWorkload{record}};
  auto stored = co_await commit(commits_, std::move(batch));
  if (!stored) {
    table_.erase(id);
    spdlog::error("workload \"{}\" not accepted: the store failed: {}", id,
                  stored.error().toString());
    co_return storeFailed(stored.error(), "workload " + quoted(id) +
                                              " was not accepted: the store failed (" +
                                              stored.error().message + "); nothing was started");
  }
  table_.markCommitted(id);
  if (options_.metrics != nullptr) {
    options_.metrics->submissions.inc();
    if (decision.placement) options_.metrics->placements.inc();
  }
  publish(WatchEventType::kAdded, record);
  if (decision.placement) {
    spdlog::info("workload \"{}\" ({}, trust {}, class {}) scheduled to node \"{}\"", id,
                 record.spec.image, api::trustName(*record.spec.trust), record.spec.runtime_class,
                 record.status.node);
    undelivered_.insert(id);
    startDelivery(id);
  } else {
    spdlog::info("workload \"{}\" waits to be placed: {}", id, record.status.message);
  }
  co_return record;
}

// ---------------------------------------------------------------------------
// Writes

asio::awaitable<Status> WorkloadService::commitChanges(std::vector<Change> changes) {
  std::vector<store::Write> batch;
  batch.reserve(changes.size());
  for (const auto& change : changes) batch.push_back(store::PutWorkload{change.after});
  auto stored = co_await commit(commits_, std::move(batch));
  if (!stored) {
    spdlog::error("cannot store the new state of {} workload(s) (kept as before): {}",
                  changes.size(), stored.error().toString());
    for (const auto& change : changes) {
      if (table_.contains(change.id)) table_.update(change.id, change.before);
    }
    co_return storeFailed(stored.error(), "the store failed: " + stored.error().message);
  }
  bool freed = false;
  for (const auto& change : changes) {
    const WorkloadRecord& before = change.before;
    const WorkloadRecord& after = change.after;
    if (isPlaced(before) && !isFinal(before) &&
        (isFinal(after) || after.status.node != before.status.node)) {
      // Capacity others can use: on a Ready, schedulable node.
      const NodeView* node = fleet_.schedulingIndex().find(before.status.node);
      freed = freed || (node != nullptr && node->state == NodeState::kReady && node->schedulable);
    }
    if (after.status.uid != before.status.uid || isFinal(after)) {
      backoff_.clear(change.id);
      undelivered_.erase(change.id);
    }
    publish(WatchEventType::kModified, after);
    countPlacement(before, after);
    if (isPlaced(after) && !isFinal(after) && after.status.uid != before.status.uid) {
      spdlog::info("workload \"{}\": {}", change.id, after.status.message);
      undelivered_.insert(change.id);
      startDelivery(change.id);
    } else if (!isPlaced(after) && !isFinal(after)) {
      spdlog::info("workload \"{}\" waits to be placed: {}", change.id, after.status.message);
    } else if (isFinal(after)) {
      spdlog::info("workload \"{}\" ended {}/{}: {}", change.id, api::stateName(after.status.state),
                   after.status.reason, after.status.message);
    }
  }
  if (freed) kickQueue();
  co_return ok();
}

void WorkloadService::countPlacement(const WorkloadRecord& before, const WorkloadRecord& after) {
  if (options_.metrics == nullptr || isFinal(after) || after.status.uid == before.status.uid) {
    return;
  }
  if (isPlaced(after)) options_.metrics->placements.inc();
  if (isPlaced(before)) options_.metrics->reschedules.inc();
}

void WorkloadService::persist(const WorkloadRecord& record, store::CommitQueue::Urgency urgency) {
  ++inflight_;
  std::vector<store::Write> batch{store::PutWorkload{record}};
  // Held once for the completion, which publishes it.
  auto written = std::make_shared<const WorkloadRecord>(record);
  // The completion runs on the commit thread: it holds the executor busy
  // until its handler has run there, and the handler touches the service
  // only while it exists.
  auto work = std::make_shared<asio::executor_work_guard<asio::any_io_executor>>(executor_);
  auto completed = [executor = executor_, work, alive = alive_, this,
                    written = std::move(written)](Status status) mutable {
    asio::post(executor, [alive, this, written = std::move(written), status = std::move(status)] {
      if (!alive->load()) return;
      --inflight_;
      const WorkloadRecord& record = *written;
      if (!status) {
        spdlog::error("cannot store the status of workload \"{}\": {}", record.spec.id,
                      status.error().toString());
        return;
      }
      // Gone or being deleted: its DELETED says the rest.
      if (!table_.contains(record.spec.id) || deleting_.contains(record.spec.id)) {
        return;
      }
      publish(WatchEventType::kModified, record);
    });
  };
  // Background unless told: it may wait for company (docs/architecture.md §8.4.1).
  commits_.submit(std::move(batch), std::move(completed), urgency);
}

void WorkloadService::publish(WatchEventType type, const WorkloadRecord& record) {
  // What get() would answer now: watchers and readers see the same view.
  if (watch_ != nullptr && watch_->listening()) watch_->publish(WatchEvent{type, shown(record)});
}

// ---------------------------------------------------------------------------
// Background work and time

void WorkloadService::spawn(asio::awaitable<void> task) {
  ++inflight_;
  asio::co_spawn(executor_, tracked(std::move(task)), asio::detached);
}

asio::awaitable<void> WorkloadService::tracked(asio::awaitable<void> task) {
  try {
    co_await std::move(task);
  } catch (const std::exception& e) {
    spdlog::error("workload service: a background task failed: {}", e.what());
  }
  --inflight_;
}

void WorkloadService::tick(TimePoint now) {
  if (stopped_) return;
  // Runs every tick on the one executor: no copies of the table or of node
  // views, only the ids that have something to start.
  const auto& nodes = fleet_.schedulingNodes();
  const auto stateOf = [&nodes](std::string_view id) -> std::optional<NodeState> {
    auto it = std::lower_bound(nodes.begin(), nodes.end(), id,
                               [](const NodeView& v, std::string_view key) { return v.id < key; });
    if (it == nodes.end() || it->id != id) return std::nullopt;
    return it->state;
  };
  // Only the ids whose delivery stalled (failed, or put back undelivered):
  // a backlog being delivered is not looked at.
  std::vector<std::string> deliveries;
  for (auto it = stalled_.begin(); it != stalled_.end();) {
    const std::string& id = *it;
    const auto* entry = table_.find(id);
    if (entry == nullptr || !undelivered_.contains(id) || delivering_.contains(id)) {
      it = stalled_.erase(it);
      continue;
    }
    if (backoff_.due(id, now) && stateOf(entry->record.status.node) == NodeState::kReady) {
      deliveries.push_back(id);
      it = stalled_.erase(it);
      continue;
    }
    ++it;
  }
  std::vector<std::string> removals;
  for (const auto& id : table_.awaitingRemoval()) {
    if (finishing_.contains(id) || !backoff_.due(id, now)) continue;
    // A NotReady node may answer again; a Lost or unknown one is not asked.
    if (stateOf(table_.find(id)->record.status.node) != NodeState::kNotReady) {
      removals.push_back(id);
    }
  }
  const std::vector<std::string> uncounted(table_.uncountedNodes().begin(),
                                           table_.uncountedNodes().end());
  for (const auto& node : uncounted) table_.recountNode(node);
  std::vector<std::string> lost;
  for (const auto& node : table_.nodesInUse()) {
    const auto state = stateOf(node);
    if ((state && *state != NodeState::kLost) || evacuating_.contains(node) || !evacuable(node)) {
      continue;
    }
    lost.push_back(node);
  }
  // Started after the scans: they may change the fleet's snapshot and the sets.
  for (const auto& id : deliveries) startDelivery(id);
  for (const auto& id : removals) startRemoval(id);
  for (const auto& node : lost) {
    evacuating_.insert(node);
    spawn(evacuate(node));
  }
  if (queue_retry_) {
    queue_retry_ = false;
    kickQueue();
  }
}

void WorkloadService::stop() {
  stopped_ = true;
  pacer_.close();
}

}  // namespace zp::server
