#include "server/workloads/workload_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <charconv>
#include <exception>
#include <map>

#include "api/validate.h"
#include "server/commit.h"
#include "server/concurrently.h"
#include "server/workloads/workload_ids.h"

namespace zp::server {

namespace asio = boost::asio;
using store::WorkloadRecord;

namespace {

constexpr int kGeneratedIdAttempts = 5;
// Rounds of re-checking a resync's listed copies after its fences (§8.6).
constexpr int kResyncRechecks = 3;
// Grace a fenced copy gets between SIGTERM and SIGKILL (a drained one: the default too).
constexpr std::chrono::seconds kFenceGrace{protocol::kDefaultStopTimeoutSeconds};

std::string quoted(std::string_view text) { return "\"" + std::string(text.substr(0, 80)) + "\""; }

std::string seconds(std::chrono::milliseconds wait) {
  return std::to_string((wait.count() + 999) / 1000) + "s";
}

bool isFinal(const WorkloadRecord& record) { return api::isTerminal(record.status.state); }
bool isPlaced(const WorkloadRecord& record) { return !record.status.node.empty(); }

// Ended by the server, not by its container: no copy of it should run.
bool endedByServer(const api::WorkloadStatus& status) {
  return api::isTerminal(status.state) &&
         (status.reason == api::reason::kNodeLost || status.reason == api::reason::kDrained ||
          status.reason == api::reason::kDeliveryFailed);
}

bool reschedules(const api::WorkloadSpec& spec) {
  return spec.restart_policy != api::RestartPolicy::kNever;
}

std::unexpected<Error> alreadyExists(const std::string& id) {
  return fail(Code::kAlreadyExists, "workload " + quoted(id) + " already exists", "id");
}

std::unexpected<Error> notFound(std::string_view id) {
  return fail(Code::kNotFound, "no workload " + quoted(id));
}

// The continue token of a list position: "<created_at ns>.<id>" (ids have no '.').
std::string encodePosition(const WorkloadTable::OrderKey& key) {
  return std::to_string(key.first.time_since_epoch().count()) + "." + key.second;
}

std::optional<WorkloadTable::OrderKey> decodePosition(std::string_view token) {
  const auto dot = token.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  TimePoint::rep ticks = 0;
  const char* end = token.data() + dot;
  auto [ptr, ec] = std::from_chars(token.data(), end, ticks);
  if (ec != std::errc{} || ptr != end) return std::nullopt;
  std::string id(token.substr(dot + 1));
  if (!api::isDns1123Label(id)) return std::nullopt;
  return WorkloadTable::OrderKey{TimePoint{TimePoint::duration{ticks}}, std::move(id)};
}

}  // namespace

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
      backoff_(options_.delivery_backoff) {}

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
    if (needs_uid) persist(record);
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

WorkloadRecord WorkloadService::shown(const WorkloadRecord& record) const {
  if (!isPlaced(record) || isFinal(record) || awaitsRemoval(record)) return record;
  auto node = fleet_.node(record.status.node);
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

std::vector<std::string> WorkloadService::offeredClasses() const {
  std::vector<std::string> offered;
  for (const auto& node : fleet_.schedulingNodes()) {
    for (const auto& cls : node.runtime_classes) {
      // Few distinct classes, many nodes: copy each name once.
      if (std::find(offered.begin(), offered.end(), cls) == offered.end()) offered.push_back(cls);
    }
  }
  std::sort(offered.begin(), offered.end());
  return offered;
}

Decision WorkloadService::decide(const api::WorkloadSpec& spec) const {
  auto classes = admission_.candidateClasses(spec, offeredClasses());
  if (!classes) return Decision{std::nullopt, classes.error().message};
  return options_.scheduler.place(spec, *classes, fleet_.schedulingNodes());
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
    status.message = why + "scheduled to node " + quoted(status.node);
  } else {
    status.reason = std::string(api::reason::kUnschedulable);
    status.message = why + decision.message;
  }
  record.status = std::move(status);
  record.updated_at = clock_.now();
  return record;
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
  auto classes = admission_.candidateClasses(*admitted, offeredClasses());
  if (!classes) co_return fail(classes.error());
  const Decision decision =
      options_.scheduler.place(*admitted, *classes, fleet_.schedulingNodes());
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
    co_return fail(Code::kUnavailable, "workload " + quoted(id) +
                                           " was not accepted: the store failed (" +
                                           stored.error().message + "); nothing was started");
  }
  table_.markCommitted(id);
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
// Removal and drain

asio::awaitable<Result<WorkloadRecord>> WorkloadService::remove(std::string id,
                                                                std::chrono::seconds grace) {
  auto guard = co_await locks_.acquire(id);
  const auto* entry = table_.find(id);
  if (entry == nullptr || !entry->committed) co_return notFound(id);
  const WorkloadRecord record = entry->record;
  const std::string node = record.status.node;
  if (isPlaced(record) && !endedByServer(record.status)) {
    auto view = fleet_.node(node);
    if (!view || view->state == NodeState::kLost) {
      spdlog::warn(
          "deleting workload \"{}\" of node \"{}\", which is {}; its copy is fenced if the "
          "node returns",
          id, node, view ? "lost" : "not known");
    } else {
      // The intent first, durably: whatever happens next (no answer, a
      // crash, a failed delete), the record is never delivered again and its
      // deletion is finished later.
      if (record.status.reason != api::reason::kTerminating) {
        std::string message =
            "being deleted: its copy is removed from node " + quoted(node) + ", then the record";
        auto marked = co_await mark(id, api::reason::kTerminating, std::move(message));
        if (!marked) {
          co_return fail(Code::kUnavailable, "workload " + quoted(id) +
                                                 " could not be deleted: " +
                                                 marked.error().message + "; nothing was changed");
        }
      }
      auto removed = co_await removeCopy(id, node, record.status.uid, grace);
      if (!removed) {
        const Error& error = removed.error();
        const auto wait = backoff_.failed(id, clock_.now());
        const std::string later = "; it stays Terminating and is deleted once the node has "
                                  "removed it (next attempt in " +
                                  seconds(wait) + ")";
        if (error.code == Code::kUnavailable || error.code == Code::kDeadlineExceeded) {
          co_return fail(Code::kUnavailable, "node " + quoted(node) +
                                                 " is unreachable, so workload " + quoted(id) +
                                                 " was not removed yet" + later + ": " +
                                                 error.message);
        }
        co_return fail(error.code, "node " + quoted(node) + " could not remove workload " +
                                       quoted(id) + later + ": " + error.message);
      }
    }
  }
  auto deleted = co_await deleteRecord(id);
  if (!deleted) {
    backoff_.failed(id, clock_.now());
    co_return fail(deleted.error());
  }
  co_return deleted;
}

asio::awaitable<Status> WorkloadService::drain(std::string node) {
  const std::vector<std::string> ids = table_.activeOn(node);
  int failed = 0;
  std::optional<Error> first;
  const auto failedOne = [&](const std::string& id, const Error& error) {
    ++failed;
    if (!first) first = error;
    backoff_.failed(id, clock_.now());
    spdlog::warn("drain of node \"{}\": workload \"{}\" not drained yet: {}", node, id,
                 error.toString());
  };
  for (const auto& id : ids) {
    auto guard = co_await locks_.acquire(id);
    const auto* entry = table_.find(id);
    if (entry == nullptr || !entry->committed || entry->record.status.node != node ||
        isFinal(entry->record) || entry->record.status.reason == api::reason::kTerminating) {
      continue;  // gone, moved, ended, or being deleted
    }
    const std::string uid = entry->record.status.uid;
    if (entry->record.status.reason != api::reason::kDraining) {
      // Durably first: the copy is never delivered again, and the drain is
      // finished even if the server stops before it is.
      std::string message =
          "being drained from node " + quoted(node) + ": its copy is removed, then it is " +
          (reschedules(entry->record.spec) ? "placed again" : "ended Drained");
      auto marked = co_await mark(id, api::reason::kDraining, std::move(message));
      if (!marked) {
        failedOne(id, marked.error());
        continue;
      }
    }
    auto removed = co_await removeCopy(id, node, uid, kFenceGrace);
    if (!removed) {
      failedOne(id, removed.error());
      continue;
    }
    auto completed = co_await completeDrain(id);
    if (!completed) failedOne(id, completed.error());
  }
  if (failed > 0) {
    co_return fail(first->code, std::to_string(failed) + " of " + std::to_string(ids.size()) +
                                    " workloads could not be drained from node " + quoted(node) +
                                    ": " + first->message);
  }
  co_return ok();
}

// ---------------------------------------------------------------------------
// Removals: marked Terminating or Draining, the copy removed, then the record
// deleted or placed again / ended.

asio::awaitable<Status> WorkloadService::mark(std::string id, std::string_view reason,
                                              std::string message) {
  const WorkloadRecord before = table_.find(id)->record;
  WorkloadRecord after = before;
  after.status.reason = std::string(reason);
  after.status.message = std::move(message);
  after.updated_at = clock_.now();
  table_.update(id, after);  // from now on: not delivered, its copy's pushes ignored
  const bool was_undelivered = undelivered_.erase(id) > 0;
  backoff_.clear(id);
  std::vector<store::Write> batch{store::PutWorkload{after}};
  auto stored = co_await commit(commits_, std::move(batch));
  if (!stored) {
    spdlog::error("workload \"{}\" cannot be marked {}: {}", id, reason,
                  stored.error().toString());
    if (table_.contains(id)) table_.update(id, before);
    if (was_undelivered) undelivered_.insert(id);
    co_return fail(Code::kUnavailable, "the store failed (" + stored.error().message + ")");
  }
  spdlog::info("workload \"{}\" {}", id, after.status.message);
  publish(WatchEventType::kModified, after);
  co_return ok();
}

asio::awaitable<Status> WorkloadService::removeCopy(std::string id, std::string node,
                                                    std::string uid, std::chrono::seconds grace) {
  protocol::RequestBody request = protocol::RemoveWorkload{id, grace.count(), uid};
  // The agent may use the whole grace period before it answers.
  const auto timeout =
      options_.remove_timeout + std::chrono::duration_cast<std::chrono::milliseconds>(grace);
  auto reply = co_await fleet_.call(node, std::move(request), timeout);
  if (!reply && reply.error().code != Code::kNotFound) co_return fail(reply.error());
  co_return ok();
}

asio::awaitable<Result<WorkloadRecord>> WorkloadService::deleteRecord(std::string id) {
  // Pushes of its copy are ignored from here on (nothing may write the record again).
  deleting_.insert(id);
  std::vector<store::Write> batch{store::DeleteWorkload{id}};
  auto deleted = co_await commit(commits_, std::move(batch));
  deleting_.erase(id);
  const auto* current = table_.find(id);
  if (!deleted) {
    const bool marked = current != nullptr && awaitsRemoval(current->record);
    spdlog::error("workload \"{}\" could not be deleted from the store{}: {}", id,
                  marked ? " (it stays Terminating; retried)" : "", deleted.error().toString());
    co_return fail(Code::kUnavailable,
                   "workload " + quoted(id) + " could not be deleted: the store failed (" +
                       deleted.error().message + ")" +
                       (marked ? "; it stays Terminating and its deletion is retried" : "; retry"));
  }
  const WorkloadRecord last = current->record;
  const std::string node = last.status.node;
  table_.erase(id);
  undelivered_.erase(id);
  backoff_.clear(id);
  publish(WatchEventType::kDeleted, last);
  spdlog::info("workload \"{}\" removed{}", id, node.empty() ? "" : " from node \"" + node + "\"");
  if (isPlaced(last) && !isFinal(last)) kickQueue();
  co_return last;
}

asio::awaitable<Status> WorkloadService::completeDrain(std::string id) {
  const auto* entry = table_.find(id);
  if (entry == nullptr || entry->record.status.reason != api::reason::kDraining) co_return ok();
  const WorkloadRecord before = entry->record;
  const std::string why = "removed from node " + quoted(before.status.node) + " by a drain";
  WorkloadRecord after;
  if (reschedules(before.spec)) {
    after = withPlacement(before, decide(before.spec), why + "; ");
  } else {
    after = before;
    after.status.state = api::WorkloadState::kFailed;
    after.status.reason = std::string(api::reason::kDrained);
    after.status.message = why;
    after.status.finished_at = clock_.now();
    after.updated_at = clock_.now();
  }
  table_.update(id, after);
  std::vector<Change> changes{Change{id, before, after}};
  co_return co_await commitChanges(std::move(changes));  // on failure: Draining still
}

void WorkloadService::startRemoval(const std::string& id) {
  if (stopped_ || finishing_.contains(id)) return;
  finishing_.insert(id);
  spawn(finishRemoval(id));
}

asio::awaitable<void> WorkloadService::finishRemoval(std::string id) {
  auto guard = co_await locks_.acquire(id);
  const auto* entry = table_.find(id);
  if (entry == nullptr || !entry->committed || !awaitsRemoval(entry->record)) {
    finishing_.erase(id);
    co_return;
  }
  const WorkloadRecord record = entry->record;
  const std::string& node = record.status.node;
  auto view = fleet_.node(node);
  if (view && view->state != NodeState::kLost) {
    auto removed = co_await removeCopy(id, node, record.status.uid, kFenceGrace);
    if (!removed) {
      const auto wait = backoff_.failed(id, clock_.now());
      spdlog::warn("workload \"{}\" ({}): its copy on node \"{}\" not removed yet (next attempt "
                   "in {}): {}",
                   id, record.status.reason, node, seconds(wait), removed.error().toString());
      finishing_.erase(id);
      co_return;
    }
  }  // else: a returning node's resync fences the copy
  Status done = ok();
  if (record.status.reason == api::reason::kTerminating) {
    auto deleted = co_await deleteRecord(id);
    if (!deleted) done = fail(deleted.error());
  } else {
    done = co_await completeDrain(id);
  }
  if (!done) backoff_.failed(id, clock_.now());
  finishing_.erase(id);
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
    co_return fail(Code::kUnavailable, "the store failed: " + stored.error().message);
  }
  bool freed = false;
  for (const auto& change : changes) {
    const WorkloadRecord& before = change.before;
    const WorkloadRecord& after = change.after;
    if (isPlaced(before) && !isFinal(before) &&
        (isFinal(after) || after.status.node != before.status.node)) {
      // Capacity others can use: on a Ready, schedulable node.
      auto node = fleet_.node(before.status.node);
      freed = freed || (node && node->state == NodeState::kReady && node->schedulable);
    }
    if (after.status.uid != before.status.uid || isFinal(after)) {
      backoff_.clear(change.id);
      undelivered_.erase(change.id);
    }
    publish(WatchEventType::kModified, after);
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

void WorkloadService::persist(const WorkloadRecord& record) {
  ++inflight_;
  std::vector<store::Write> batch{store::PutWorkload{record}};
  // The completion runs on the commit thread: it holds the executor busy
  // until its handler has run there, and the handler touches the service
  // only while it exists.
  auto work = std::make_shared<asio::executor_work_guard<asio::any_io_executor>>(executor_);
  commits_.submit(std::move(batch), [executor = executor_, work, alive = alive_, this,
                                     record](Status status) {
    asio::post(executor, [alive, this, record, status = std::move(status)] {
      if (!alive->load()) return;
      --inflight_;
      if (!status) {
        spdlog::error("cannot store the status of workload \"{}\": {}", record.spec.id,
                      status.error().toString());
        return;
      }
      // Gone or being deleted: its DELETED says the rest.
      if (!table_.contains(record.spec.id) || deleting_.contains(record.spec.id)) return;
      publish(WatchEventType::kModified, record);
    });
  });
}

void WorkloadService::publish(WatchEventType type, const WorkloadRecord& record) {
  // What get() would answer now: watchers and readers see the same view.
  if (watch_ != nullptr) watch_->publish(WatchEvent{type, shown(record)});
}

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

void WorkloadService::applyStatus(const std::string& node, api::WorkloadStatus status) {
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
  table_.update(id, next);
  persist(next);
  if (isFinal(next)) kickQueue();
}

void WorkloadService::onStatus(const std::string& node, const api::WorkloadStatus& status) {
  applyStatus(node, status);
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

void WorkloadService::publishNode(const std::string& node) {
  for (const auto& id : table_.activeOn(node)) {
    const auto* entry = table_.find(id);
    if (!awaitsRemoval(entry->record)) publish(WatchEventType::kModified, entry->record);
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
  const auto view = fleet_.node(node);
  if (view && view->state != NodeState::kLost) {  // back (or added again) meanwhile
    evacuating_.erase(node);
    co_return;
  }
  // Every workload of the node at once: one transaction for all.
  std::vector<WorkloadLocks::Guard> guards;
  std::vector<Change> changes;
  const std::string why = "node " + quoted(node) + (view ? " was lost" : " was removed");
  for (const auto& id : table_.activeOn(node)) {
    if (locks_.held(id)) continue;  // busy: the next tick() finds it again
    guards.push_back(co_await locks_.acquire(id));
    const auto* entry = table_.find(id);
    if (entry == nullptr || entry->record.status.node != node || isFinal(entry->record) ||
        awaitsRemoval(entry->record)) {
      continue;
    }
    const WorkloadRecord before = entry->record;
    WorkloadRecord after;
    if (reschedules(before.spec)) {
      // The node is not Ready (or gone): the scheduler does not pick it.
      after = withPlacement(before, decide(before.spec), why + "; ");
    } else {
      after = before;
      after.status.state = api::WorkloadState::kFailed;
      after.status.reason = std::string(api::reason::kNodeLost);
      after.status.message = why + " (last known state " +
                             std::string(api::stateName(before.status.state)) +
                             "); restart_policy Never: not placed again";
      after.status.finished_at = clock_.now();
      after.updated_at = clock_.now();
    }
    table_.update(id, after);
    changes.push_back(Change{id, before, after});
  }
  if (!changes.empty()) {
    spdlog::warn("{}: {} workload(s) placed again or ended", why, changes.size());
    co_await commitChanges(std::move(changes));  // on failure: kept; the next tick() retries
  }
  evacuating_.erase(node);
}

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

void WorkloadService::startDelivery(const std::string& id) {
  if (stopped_ || delivering_.contains(id)) return;
  delivering_.insert(id);
  spawn(deliver(id));
}

asio::awaitable<void> WorkloadService::deliver(std::string id) {
  auto guard = co_await locks_.acquire(id);
  const auto* entry = table_.find(id);
  if (entry == nullptr || !entry->committed || !undelivered_.contains(id) ||
      !isPlaced(entry->record) || isFinal(entry->record) || awaitsRemoval(entry->record)) {
    delivering_.erase(id);
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
  std::vector<std::string> deliveries;
  for (const auto& id : undelivered_) {
    if (delivering_.contains(id) || !backoff_.due(id, now)) continue;
    const auto* entry = table_.find(id);
    if (entry == nullptr) continue;
    if (stateOf(entry->record.status.node) == NodeState::kReady) deliveries.push_back(id);
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

void WorkloadService::stop() { stopped_ = true; }

}  // namespace zp::server
