// WorkloadService: removal and drain, and finishing the removals marked
// Terminating or Draining (docs/architecture.md §8.8).

#include "server/workloads/workload_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <exception>
#include <map>
#include <optional>
#include <set>

#include "api/validate.h"
#include "server/commit.h"
#include "server/concurrently.h"
#include "server/workloads/workload_ids.h"
#include "server/workloads/workload_service_detail.h"

namespace zp::server {

namespace asio = boost::asio;
using store::WorkloadRecord;
using namespace service_detail;

namespace {

// One DELETE's grace period in WorkloadService::waiting_deletes_ for the
// life of this object.
class WaitingDelete {
 public:
  using Waiting = std::map<std::string, std::multiset<std::chrono::seconds>>;
  WaitingDelete(Waiting& waiting, const std::string& id, std::chrono::seconds grace)
      : waiting_(waiting), of_id_(waiting.try_emplace(id).first) {
    mine_ = of_id_->second.insert(grace);
  }
  WaitingDelete(const WaitingDelete&) = delete;
  WaitingDelete& operator=(const WaitingDelete&) = delete;
  ~WaitingDelete() {
    of_id_->second.erase(mine_);
    if (of_id_->second.empty()) waiting_.erase(of_id_);
  }

 private:
  Waiting& waiting_;
  Waiting::iterator of_id_;  // stays valid: its set holds mine_ until this ends
  std::multiset<std::chrono::seconds>::iterator mine_;
};

}  // namespace

// ---------------------------------------------------------------------------
// Removal and drain

asio::awaitable<Result<WorkloadRecord>> WorkloadService::remove(std::string id,
                                                                std::chrono::seconds grace) {
  // A DELETE of a workload that exists when it arrives answers with it, also
  // when another DELETE that held the id's lock deleted it meanwhile (or
  // deleted it and the id was submitted again: that workload is not this
  // request's to delete).
  std::optional<WorkloadRecord> seen;
  if (const auto* arrived = table_.find(id); arrived != nullptr && arrived->committed) {
    seen = arrived->record;
  }
  // Until it holds the id's lock, this DELETE's grace is known to a
  // removeCopy() that starts meanwhile, and it hurries one in flight:
  // whoever holds the lock may wait for the node for the whole of a longer
  // grace period.
  auto waiting = std::make_optional<WaitingDelete>(waiting_deletes_, id, grace);
  auto hurrying = hurryRemoval(id, grace);
  co_await std::move(hurrying);
  auto guard = co_await locks_.acquire(id);
  waiting.reset();
  const auto* entry = table_.find(id);
  if (entry == nullptr || !entry->committed) {
    if (seen) co_return *seen;
    co_return notFound(id);
  }
  if (seen && seen->status.created_at != entry->record.status.created_at) co_return *seen;
  const WorkloadRecord record = entry->record;
  const std::string node = record.status.node;
  if (isPlaced(record) && !endedByServer(record.status)) {
    const auto state = fleet_.state(node);
    if (!state || *state == NodeState::kLost) {
      spdlog::warn(
          "deleting workload \"{}\" of node \"{}\", which is {}; its copy is fenced if the "
          "node returns",
          id, node, state ? "lost" : "not known");
    } else {
      // The intent first, durably, with the grace period asked for:
      // whatever happens next (no answer, a crash, a failed delete), the
      // record is never delivered again and its deletion is finished later
      // with that grace period (a later DELETE's replaces it).
      if (record.status.reason != api::reason::kTerminating ||
          record.termination_grace != grace) {
        std::string message =
            "being deleted: its copy is removed from node " + quoted(node) + ", then the record";
        const std::optional<std::chrono::seconds> kept = grace;
        auto marking = mark(id, api::reason::kTerminating, std::move(message), kept);
        auto marked = co_await std::move(marking);
        if (!marked) {
          co_return fail(marked.error().code, "workload " + quoted(id) +
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
        // The node answered but could not remove it yet (its runtime busy:
        // a container still starting cannot be removed). Retried as above,
        // so the request's outcome is the same: not done yet, done later.
        co_return fail(Code::kUnavailable, "node " + quoted(node) +
                                               " could not remove workload " + quoted(id) +
                                               " yet" + later + ": " +
                                               std::string(codeName(error.code)) + ": " +
                                               error.message);
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

asio::awaitable<void> WorkloadService::hurryRemoval(std::string id, std::chrono::seconds grace) {
  auto busy = removing_.find(id);
  if (busy == removing_.end() || grace >= busy->second.wanted) co_return;
  busy->second.wanted = grace;
  if (busy->second.hurrying) co_return;  // the hurry in flight asks for it next
  busy->second.hurrying = true;
  const std::string node = busy->second.node;
  const std::string uid = busy->second.uid;
  const std::uint64_t generation = busy->second.generation;
  // The entry of the removeCopy() this hurries, while it lasts.
  const auto current = [this, &id, generation]() -> CopyRemoval* {
    auto it = removing_.find(id);
    return it != removing_.end() && it->second.generation == generation ? &it->second : nullptr;
  };
  for (;;) {
    CopyRemoval* copy = current();
    if (copy == nullptr) co_return;  // that removal ended: nothing left to hurry
    if (copy->wanted >= copy->asked) {
      copy->hurrying = false;
      co_return;
    }
    const std::chrono::seconds asking = copy->wanted;
    spdlog::info(
        "workload \"{}\": its removal is in progress; asking node \"{}\" again with "
        "a grace period of {}s",
        id, node, asking.count());
    auto call = askRemoval(id, node, uid, asking);
    const Status done = co_await std::move(call);
    copy = current();
    if (copy == nullptr) co_return;
    if (!done) {
      spdlog::warn("workload \"{}\": the shorter removal was not answered: {}", id,
                   done.error().toString());
      // Not asked after all: a later DELETE with a shorter grace than the
      // one asked asks again.
      copy->wanted = copy->asked;
      copy->hurrying = false;
      co_return;
    }
    copy->asked = std::min(copy->asked, asking);
  }
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
      // Unreachable, or the node cannot remove it yet: either way it stays
      // Draining and the drain is finished later, so the answer is the same.
      const Error& error = removed.error();
      failedOne(id, error.code == Code::kUnavailable
                        ? error
                        : Error{Code::kUnavailable,
                                std::string(codeName(error.code)) + ": " + error.message, ""});
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
                                              std::string message,
                                              std::optional<std::chrono::seconds> grace) {
  const WorkloadRecord before = table_.find(id)->record;
  WorkloadRecord after = before;
  after.status.reason = std::string(reason);
  after.status.message = std::move(message);
  after.termination_grace = grace;
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
    if (was_undelivered) {
      undelivered_.insert(id);
      stalled_.insert(id);  // tick() delivers it
    }
    co_return storeFailed(stored.error(), "the store failed (" + stored.error().message + ")");
  }
  spdlog::info("workload \"{}\" {}", id, after.status.message);
  publish(WatchEventType::kModified, after);
  co_return ok();
}

asio::awaitable<Status> WorkloadService::removeCopy(std::string id, std::string node,
                                                    std::string uid, std::chrono::seconds grace) {
  // Callers hold the id's lock: one removeCopy per id at a time. A DELETE
  // waiting for that lock may want a shorter grace: the node is asked with
  // the shortest. The entry goes however this frame ends (also destroyed
  // unfinished).
  if (auto waiting = waiting_deletes_.find(id);
      waiting != waiting_deletes_.end() && !waiting->second.empty()) {
    grace = std::min(grace, *waiting->second.begin());
  }
  const std::uint64_t generation = ++removal_generation_;
  removing_.insert_or_assign(id, CopyRemoval{node, uid, generation, grace, grace});
  struct Untrack {
    std::map<std::string, CopyRemoval>& removing;
    const std::string& id;
    std::uint64_t generation;
    ~Untrack() {
      if (auto it = removing.find(id);
          it != removing.end() && it->second.generation == generation) {
        removing.erase(it);
      }
    }
  } untrack{removing_, id, generation};
  auto asking = askRemoval(id, std::move(node), std::move(uid), grace);
  Status removed = co_await std::move(asking);
  co_return removed;
}

asio::awaitable<Status> WorkloadService::askRemoval(std::string id, std::string node,
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
    co_return storeFailed(deleted.error(),
                          "workload " + quoted(id) + " could not be deleted: the store failed (" +
                              deleted.error().message + ")" +
                              (marked ? "; it stays Terminating and its deletion is retried"
                                      : "; retry"));
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
  const WorkloadRecord after = movedOff(before, why, api::reason::kDrained, why);
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
  const auto state = fleet_.state(node);
  if (state && *state != NodeState::kLost) {
    // A deletion keeps the grace period its DELETE asked for; a drain (and
    // a mark stored before the grace was kept) uses the default.
    const std::chrono::seconds grace =
        record.status.reason == api::reason::kTerminating && record.termination_grace
            ? *record.termination_grace
            : kFenceGrace;
    auto removed = co_await removeCopy(id, node, record.status.uid, grace);
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

}  // namespace zp::server
