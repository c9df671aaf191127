#pragma once
// WorkloadService: the core of the control plane for workloads
// (docs/architecture.md §8.1, §8.3–§8.7). Owns the in-memory table of
// workload records (loaded once from the store; every read is answered from
// it), admission and scheduling of submissions, the Unschedulable queue,
// delivery to the nodes with backoff, node-loss rescheduling, drain and
// fencing, and reports every durable change to a WatchSink.
//
// Threading: everything runs on the one executor given at construction;
// nothing is thread-safe. Background work (deliveries, fences, queue passes,
// evacuations) runs as coroutines spawned on that executor; idle() says when
// none is left. Writes go through the CommitQueue in program order: placements
// and removal marks are awaited before anything is sent to a node (§8.4),
// status changes are not (their failures are logged). A queued status write
// keeps the executor busy until its completion has run, so io_context::run()
// does not return under it; a completion that arrives after the service is
// destroyed touches nothing. The service must outlive its coroutines: stop()
// it, let the executor run out, then destroy it.
//
// Waiting is driven by tick(now) from the server's timer loop (delivery
// retries, records left on lost or unknown nodes, queue retries after a
// failed commit), so tests drive it with a fake clock.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "api/workload.h"
#include "common/status.h"
#include "common/time.h"
#include "server/admission.h"
#include "server/nodes/fleet.h"
#include "server/workloads/delivery_backoff.h"
#include "server/workloads/delivery_pacer.h"
#include "server/workloads/scheduler.h"
#include "server/workloads/watch_sink.h"
#include "server/workloads/workload_locks.h"
#include "server/workloads/workload_metrics.h"
#include "server/workloads/workload_table.h"
#include "store/commit_queue.h"
#include "store/store.h"

namespace zp::server {

struct WorkloadServiceOptions {
  Scheduler scheduler{SchedulerPolicy::kBinpack, defaultMemoryFloors()};
  BackoffOptions delivery_backoff;
  std::chrono::milliseconds start_timeout{10'000};   // StartWorkload
  std::chrono::milliseconds remove_timeout{30'000};  // RemoveWorkload, plus its grace period
  // How much longer than the command's own timeout an ExecSync call waits
  // for the node's answer (the runtime's answer to a command it ended).
  std::chrono::milliseconds exec_margin{10'000};
  // StartWorkload calls under way at once per node (the agent link's calls
  // in flight); the rest wait in the node's delivery queue as ids.
  std::size_t deliveries_per_node = 32;
  // StartWorkload calls across the fleet, paced by the core's loop lag
  // (delivery_pacer.h); lag_target zero (the default here; the server's
  // config turns it on): unpaced. Pacing runs on the real steady clock, not
  // on `clock`: paced tests take real milliseconds.
  DeliveryPacingOptions pacing;
  // Where submissions, placements, restarts, reschedules and status push
  // delays are counted; null: nowhere. Must outlive the service.
  WorkloadMetrics* metrics = nullptr;
};

// GET /workloads filters; empty/unset matches everything. `state` matches the
// state as shown (Unknown while the node is not Ready).
struct ListFilter {
  std::optional<api::WorkloadState> state;
  std::string node;
  std::string runtime_class;
};

// What an exec (POST /workloads/{id}/exec) came to, and where it ran.
struct ExecAnswer {
  std::string node;  // the workload's node ("" when it is not placed)
  Result<protocol::ExecResult> result;
};

struct ListPage {
  std::vector<store::WorkloadRecord> items;
  std::string next;  // "continue": pass it back for the next page; empty on the last
};

class WorkloadService final : public FleetListener {
 public:
  // Borrows everything; all must outlive the service. `watch` may be null.
  WorkloadService(boost::asio::any_io_executor executor, Fleet& fleet, store::CommitQueue& commits,
                  const Admission& admission, const Clock& clock, WatchSink* watch,
                  WorkloadServiceOptions options = {});
  ~WorkloadService() override;
  WorkloadService(const WorkloadService&) = delete;
  WorkloadService& operator=(const WorkloadService&) = delete;

  // Reads every record once, at start, before any other call: counts the
  // allocations of placed, non-final records on their nodes and queues the
  // unplaced ones. (Records are delivered again by each node's resync; those
  // marked Terminating or Draining have their removal finished instead.)
  Status load(store::Store& store);

  // Admits and places a submission (docs/architecture.md §6, §8.3, §8.4):
  // fills in the id (generated) and defaults, validates, applies admission,
  // picks a class and a node. Returns the record once it is durable;
  // StartWorkload is then sent in the background. A workload no node can
  // take now is accepted Pending/Unschedulable and queued. Errors:
  // kInvalidArgument (validation, admission, no node offers an allowed
  // class; naming the field), kAlreadyExists (id taken), kUnavailable (the
  // store failed: nothing was kept or sent).
  boost::asio::awaitable<Result<store::WorkloadRecord>> submit(api::WorkloadSpec spec);

  // The record as the API shows it: while its node is not Ready (or not
  // known), a non-final workload is Unknown/NodeUnreachable in the copy
  // returned (the stored state is kept). kNotFound when absent.
  Result<store::WorkloadRecord> get(std::string_view id) const;

  // The verification of a placed record's class on its node now, without
  // findings (docs/architecture.md §10.3; shown as status.isolation); a
  // class the node has no entry for is unverified. nullopt when the record
  // is not placed or its node is not known.
  std::optional<api::ClassIsolation> isolation(const store::WorkloadRecord& record) const;

  // Records in creation order (created_at, then id) as get() shows them,
  // those matching `filter`, at most `limit` (unset: all) after the position
  // `after` (a previous page's `next`; kInvalidArgument field "continue" when
  // malformed). Pages are stable under inserts and removals.
  Result<ListPage> list(const ListFilter& filter, std::optional<std::size_t> limit,
                        std::string_view after) const;

  // Removes a workload (docs/architecture.md §8.5): when its copy is to be
  // removed from a node, first marks the record Terminating (durably; the
  // state is kept), then RemoveWorkload {id, uid, grace} on its node, then
  // deletes the record (durably), releases its capacity, publishes DELETED
  // and retries the queue. Returns the removed record. A node that is not
  // known or Lost is not asked (a returning node fences the copy). A node
  // that does not answer or cannot remove the copy yet: kUnavailable, and the record
  // is kept marked Terminating, with `grace` stored alongside; the deletion
  // is finished later (tick(), the node's resync, or the node being lost),
  // asking the node for that same grace period, and never undone. A DELETE
  // of a record already Terminating replaces the stored grace period; one
  // asking for a shorter grace while the node is still being asked to remove
  // the copy asks it again at once with that grace. kNotFound when
  // absent; kUnavailable with nothing changed when the mark cannot be stored.
  boost::asio::awaitable<Result<store::WorkloadRecord>> remove(std::string id,
                                                               std::chrono::seconds grace);

  // Runs `command` in the workload's running container on its node
  // (ExecSync, docs/architecture.md §3, §7) and answers with its exit code
  // and output (each stream at most protocol::kMaxExecOutputBytes of UTF-8).
  // Errors: kNotFound (no such workload), kFailedPrecondition (not placed,
  // not Running, or its node does not run this copy), kUnavailable (its node
  // is not Ready or does not answer; kResourceExhausted when the node runs
  // its most execs), kDeadlineExceeded (the command did not end within
  // `timeout`), kInvalidArgument (the command does not fit a protocol line).
  // Changes nothing (workload_service_exec.cc).
  boost::asio::awaitable<ExecAnswer> exec(std::string id, std::vector<std::string> command,
                                          std::chrono::seconds timeout);

  // Removes every workload from `node` (the caller cordons it first), one at
  // a time: marks the record Draining (durably), removes its copy, then
  // those with restart_policy OnFailure/Always are placed again elsewhere
  // with a new uid (or wait Unschedulable) and Never ones end
  // Failed/Drained. A workload whose removal fails stays on the node marked
  // Draining (its drain is finished later, as a deletion is); the first such
  // error is returned after the others are done.
  boost::asio::awaitable<Status> drain(std::string node);

  // Starts what is due at `now`: delivery retries whose backoff is over on
  // Ready nodes, removals (Terminating, Draining) whose backoff is over on
  // Ready, Lost or unknown nodes, evacuation of records left on Lost or
  // unknown nodes, a queue pass after a failed commit, and the capacity count
  // of a node the fleet knows again.
  void tick(TimePoint now);

  // No new background work from now on; what runs finishes.
  void stop();
  // True when no background coroutine or status write is in flight (the
  // pacer's probe is not counted: it ends on its own, delivery_pacer.h).
  bool idle() const { return inflight_ == 0; }

  // FleetListener (docs/architecture.md §8.5, §8.6, §10.3). onNodeChanged
  // also publishes MODIFIED for the node's non-final records when its
  // Ready-ness flips (their view changes, see get()), and counts the records
  // placed on a node added again after its removal; onIsolationChanged
  // publishes MODIFIED for the node's non-final records of those classes
  // (the isolation their status shows changed).
  boost::asio::awaitable<void> onResync(std::string node,
                                        std::vector<api::WorkloadStatus> items) override;
  void onStatus(const std::string& node, const api::WorkloadStatus& status) override;
  void onNodeChanged(const NodeView& node) override;
  void onIsolationChanged(const std::string& node,
                          const std::vector<std::string>& classes) override;
  void onNodeRemoved(const std::string& node) override;

  // Records by stored state and runtime class (for the metrics).
  const std::map<WorkloadTable::StateClass, std::size_t>& countsByStateAndClass() const {
    return table_.countsByStateAndClass();
  }
  // Committed records neither placed nor final (the Unschedulable queue).
  std::size_t queueSize() const { return table_.queueSize(); }

 private:
  // One record change awaiting its commit (the table already holds `after`).
  struct Change {
    std::string id;
    store::WorkloadRecord before;
    store::WorkloadRecord after;
  };

  // Background work.
  void spawn(boost::asio::awaitable<void> task);
  boost::asio::awaitable<void> tracked(boost::asio::awaitable<void> task);
  // Why the record's class on its node does not (any more) satisfy its trust
  // level's verified minimum (§10.3); nullopt when it does. Checked before
  // every delivery, so a workload is never started on a class that stopped
  // verifying after it was placed.
  std::optional<std::string> isolationShortfall(const store::WorkloadRecord& record) const;
  // Queues the delivery of `id` on its node's delivery queue (at most
  // options_.deliveries_per_node run at once per node, so a backlog waits as ids, not
  // as coroutines holding copies of their records).
  void startDelivery(const std::string& id);
  // Appends `id` to `node`'s queue, adding a worker if it has fewer than
  // options_.deliveries_per_node; queued_on_ says which queue's entry counts.
  void enqueueDelivery(std::string node, const std::string& id);
  boost::asio::awaitable<void> deliveryWorker(std::string node);
  boost::asio::awaitable<void> deliver(std::string id);
  void fence(const std::string& node, const std::string& id, const std::string& uid);
  boost::asio::awaitable<void> fenceNow(std::string node, std::string id, std::string uid);
  bool evacuable(const std::string& node) const;
  // Removals (Terminating, Draining); the caller holds the id's lock except
  // in startRemoval/finishRemoval.
  void startRemoval(const std::string& id);
  boost::asio::awaitable<void> finishRemoval(std::string id);
  // Marks the record `reason` (Terminating, Draining) durably; `grace` is
  // the deletion's grace period, stored with a Terminating mark.
  boost::asio::awaitable<Status> mark(std::string id, std::string_view reason, std::string message,
                                      std::optional<std::chrono::seconds> grace = std::nullopt);
  // Asks the node to remove the copy (id, uid) after its durable mark; the
  // copy is in removing_ meanwhile. askRemoval() only asks (kNotFound: ok).
  boost::asio::awaitable<Status> removeCopy(std::string id, std::string node, std::string uid,
                                            std::chrono::seconds grace);
  boost::asio::awaitable<Status> askRemoval(std::string id, std::string node, std::string uid,
                                            std::chrono::seconds grace);
  // Another DELETE (or a drain, or a deletion being finished) may be
  // waiting for the node to remove `id`'s copy, with the id's lock held (the
  // node takes up to the grace period to answer). When `grace` is shorter
  // than the one asked so far, asks the node again at once, so the stop in
  // progress ends by the earlier deadline (the agent kills then); when a
  // hurry is already asking, leaves the shorter grace for it to ask next;
  // otherwise does nothing. Called without the id's lock.
  boost::asio::awaitable<void> hurryRemoval(std::string id, std::chrono::seconds grace);
  boost::asio::awaitable<Result<store::WorkloadRecord>> deleteRecord(std::string id);
  boost::asio::awaitable<Status> completeDrain(std::string id);
  // Publishes MODIFIED for the node's non-final records (its Ready-ness
  // flipped), or only for those of `classes` (sorted) when given.
  void publishNode(const std::string& node, const std::vector<std::string>* classes = nullptr);
  void kickQueue();
  boost::asio::awaitable<void> processQueue();
  boost::asio::awaitable<void> evacuate(std::string node);

  // Writes: awaited (placements), or in the background (status changes;
  // they may wait for company, store::CommitQueue, unless `urgency` says
  // kPrompt).
  boost::asio::awaitable<Status> commitChanges(std::vector<Change> changes);
  void persist(const store::WorkloadRecord& record,
               store::CommitQueue::Urgency urgency = store::CommitQueue::Urgency::kBackground);
  // Counts a committed change's placement and reschedule (WorkloadMetrics).
  void countPlacement(const store::WorkloadRecord& before, const store::WorkloadRecord& after);
  // Counts what an applied status shows: restarts, and for a push the delay
  // from the container's exit to now.
  void countStatus(const api::WorkloadStatus& before, const api::WorkloadStatus& after,
                   bool pushed);
  void publish(WatchEventType type, const store::WorkloadRecord& record);

  // A pushed (`pushed`) or listed status of the copy `status.uid` on `node`.
  void applyStatus(const std::string& node, api::WorkloadStatus status, bool pushed = false);
  // Is the copy (id, uid) on `node` the record's current placement?
  bool wantedOn(std::string_view id, std::string_view node, std::string_view uid) const;
  // Is it the placement of a record that awaits its copy's removal?
  bool removalPending(std::string_view id, std::string_view node, std::string_view uid) const;

  // The scheduler's answer for an admitted spec; a candidate-class error
  // becomes the unplaced message.
  Decision decide(const api::WorkloadSpec& spec) const;
  // `record` placed anew per `decision` (fresh status, new uid) or unplaced.
  store::WorkloadRecord withPlacement(store::WorkloadRecord record, const Decision& decision,
                                      const std::string& why) const;
  // `before`, taken off its node (lost, drained): placed anew when its
  // restart policy allows it (`why` prefixes the placement's message),
  // otherwise Failed with `reason` and `message`.
  store::WorkloadRecord movedOff(const store::WorkloadRecord& before, const std::string& why,
                                 std::string_view reason, std::string message) const;
  store::WorkloadRecord shown(const store::WorkloadRecord& record) const;

  boost::asio::any_io_executor executor_;
  Fleet& fleet_;
  store::CommitQueue& commits_;
  const Admission& admission_;
  const Clock& clock_;
  WatchSink* watch_;
  WorkloadServiceOptions options_;

  WorkloadTable table_;
  WorkloadLocks locks_;
  DeliveryBackoff backoff_;
  DeliveryPacer pacer_;                // closed by stop()
  std::set<std::string> undelivered_;  // placed, not known to be on the node yet
  std::set<std::string> delivering_;   // queued in delivery_queues_ or being delivered
  // Queued ids and the node whose queue holds their live entry (an id placed
  // elsewhere while queued also has a stale entry in its old node's queue).
  std::map<std::string, std::string, std::less<>> queued_on_;
  // Undelivered ids no delivery is under way for (a failed attempt waits out
  // its backoff; a failed mark put one back): what tick() looks at. May hold
  // ids that are no longer so; tick() drops them.
  std::set<std::string> stalled_;
  // Deliveries waiting per node (by the node the record named when queued),
  // and the workers taking them in order.
  struct DeliveryQueue {
    std::deque<std::string> ids;
    std::size_t workers = 0;
  };
  std::map<std::string, DeliveryQueue, std::less<>> delivery_queues_;
  std::set<std::string> fencing_;      // node + '/' + id + '/' + uid being fenced
  std::set<std::string> evacuating_;   // nodes an evacuate() runs for
  std::set<std::string> finishing_;    // a finishRemoval() is spawned or running
  std::set<std::string> deleting_;     // the record's delete is committing
  // Copies a node is being asked to remove (a removeCopy() after a durable
  // mark, in flight). A DELETE asking for a shorter grace than the one
  // asked asks the node again at once (hurryRemoval()), one such call per
  // id at a time.
  struct CopyRemoval {
    std::string node;
    std::string uid;
    std::uint64_t generation = 0;  // tells this removeCopy() from a later one of the id
    std::chrono::seconds asked;    // the shortest grace the node was asked for (not failed)
    std::chrono::seconds wanted;   // the shortest a DELETE wants; below `asked`: to be asked
    bool hurrying = false;         // a hurryRemoval() is asking; it asks `wanted` next
  };
  std::map<std::string, CopyRemoval> removing_;
  std::uint64_t removal_generation_ = 0;
  // The grace periods of the DELETEs of each id from their arrival until
  // they hold the id's lock: a removeCopy() starting meanwhile asks with the
  // shortest of them and its own.
  std::map<std::string, std::multiset<std::chrono::seconds>> waiting_deletes_;
  // Whether each node was Ready when last heard of (its records' view follows).
  std::map<std::string, bool, std::less<>> ready_;
  // False once the service is destroyed; read by completions posted later.
  std::shared_ptr<std::atomic<bool>> alive_ = std::make_shared<std::atomic<bool>>(true);
  bool queue_running_ = false;
  bool queue_again_ = false;
  bool queue_retry_ = false;  // a queue pass failed to commit: tick() tries again
  bool stopped_ = false;
  std::size_t inflight_ = 0;
};

}  // namespace zp::server
