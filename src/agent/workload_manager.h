#pragma once
// WorkloadManager: the agent's registry of workloads and every operation on
// them. It owns the registry and the per-registry pull limiter; it uses (does
// not own) a Runtime, a Clock, an executor for start pipelines and one for
// telling the observer.
//
// Threading: all public methods are thread-safe (sweep() with the others, not
// with itself). start(), status(), list()
// and nodeInfo() only touch memory: the network executor may call them.
// stop() and remove() are coroutines for a pool executor; recover() and
// sweep() block (runtime listings): call them from the daemon's own sweeper
// thread, so a sweep never waits behind stops or pulls. The observer
// (setObserver) is called on the `events` executor, never on the workers:
// their threads may all be blocked in runtime calls (a hung runtime holds
// each until its deadline), and a status change must not wait for them.
//
// Restarts (restart_policy, restarts.cc): an exit the policy restarts shows
// Pending/BackOff; the sweep launches the start pipeline again once the
// back-off is over by the injected Clock, and the pipeline creates the next
// attempt's container in the same sandbox, removes its predecessor, starts it.
//
// No thread waits for anything slow. The start pipeline (a coroutine on the
// workers executor) and stop()/remove() run short runtime calls with
// deadlines inline, and wait asynchronously for the slow things: an image
// pull, a free pull slot of the image's registry, a stop's grace period, and
// an unreachable runtime coming back. Between those waits they hold no thread.
//
// Faults: a runtime that cannot be reached (or is still starting) is
// transient: the pipeline shows the workload Pending/RuntimeUnavailable and
// retries with backoff once the runtime answers again; only the runtime's own
// answer about the image or the container fails a workload. A sweep that
// cannot reach the runtime shows every live workload it would have refreshed
// as Unknown/RuntimeUnavailable (the last state in the message) until a sweep
// reaches it again; a sweep whose listing fails otherwise (e.g. too large)
// falls back to one ContainerStatus call per workload.
//
// Locking: `mutex_` guards the registry, every Entry field, `pending_` and
// `stopping_`. Each Entry also has `op`, held across one synchronous runtime
// step on that workload (create the sandbox, create or start the container,
// read its ids, stop or remove the sandbox, inspect it in a sweep), never
// across an asynchronous wait; so steps on one workload are serialized while
// different workloads proceed in parallel. Order: `op` before `mutex_`;
// `mutex_` is never held during a runtime call.
//
// Cancellation: stop()/remove() count themselves in the entry's `cancels`
// and cancel the pipeline's pending wait (pull, pull slot, readiness wait);
// the pipeline checks `cancels` under `op` before every step, so once a stop
// has read the workload's runtime ids under `op`, nothing new is created.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/pull_limiter.h"
#include "agent/runtime.h"
#include "agent/user_resolution.h"
#include "api/node.h"
#include "api/workload.h"
#include "common/backoff.h"
#include "common/status.h"
#include "common/time.h"

namespace zp::agent {

class WorkloadManager {
 public:
  struct Options {
    std::string node_id;
    api::Resources capacity;
    std::vector<std::string> runtime_classes;  // offered classes
    std::string version;
    UidRange uid_range;  // uids for restricted workloads whose image runs as root
    // Deadline of one image pull (agent config `pull_timeout_seconds`).
    std::chrono::milliseconds pull_timeout{std::chrono::minutes(5)};
    // Pulls in flight per registry (agent config `max_pulls_per_registry`).
    std::size_t max_pulls_per_registry = 3;
    // Delays between attempts while the runtime is unreachable: from
    // `retry_initial`, doubling up to `retry_max`; each attempt also waits (up
    // to `ready_wait`, without a thread) for the runtime to answer.
    std::chrono::milliseconds retry_initial{200};
    std::chrono::milliseconds retry_max{2000};
    std::chrono::milliseconds ready_wait{std::chrono::seconds(30)};
    // restart_policy (docs/architecture.md §4): an exited container whose
    // policy restarts it is replaced after `restart_backoff_initial`,
    // doubling per restart up to `restart_backoff_max`; a container that ran
    // for `restart_backoff_reset` restarts after the initial delay again.
    std::chrono::milliseconds restart_backoff_initial{std::chrono::seconds(1)};
    std::chrono::milliseconds restart_backoff_max{std::chrono::seconds(60)};
    std::chrono::milliseconds restart_backoff_reset{std::chrono::minutes(10)};
    // A container the runtime (reachable and answering) keeps reporting in
    // an unknown state (CRI CONTAINER_UNKNOWN) for this long, by the injected
    // Clock, is stopped (SIGKILL after `unknown_stop_grace`) so that its end
    // becomes known, as the kubelet does; then its exit is handled as any
    // other (restart_policy). Never while the runtime cannot be reached.
    std::chrono::milliseconds unknown_grace{std::chrono::seconds(10)};
    std::chrono::seconds unknown_stop_grace{std::chrono::seconds(5)};
    // How often a sweep also lists the sandboxes to find orphans (a
    // RunPodSandbox whose reply was lost); the other sweeps list only the
    // containers, about a quarter cheaper for the agent and the runtime.
    std::chrono::milliseconds orphan_scan_interval{std::chrono::seconds(1)};
  };

  // `workers` runs start pipelines; `events` only the observer's calls (it
  // must not be an executor whose threads wait for the runtime).
  WorkloadManager(Options options, Runtime& runtime, const Clock& clock,
                  boost::asio::any_io_executor workers, boost::asio::any_io_executor events);
  WorkloadManager(const WorkloadManager&) = delete;
  WorkloadManager& operator=(const WorkloadManager&) = delete;

  // Told every change of a workload's status (any field: state, reason,
  // message, exit code, restart count, runtime ids, user), once per change
  // and in the order the changes happened. Called on the events executor,
  // one call at a time and outside every lock of the manager; it must return
  // quickly (hand the status over) and may call the manager. Not told when a
  // workload is forgotten (removed). Set once, before recover() and before
  // serving; never changed afterwards.
  using Observer = std::function<void(const api::WorkloadStatus&)>;
  void setObserver(Observer observer);

  // Accepts a workload and starts it in the background (image, sandbox,
  // container). `uid` names the submission (labels, sandbox metadata uid, log
  // directory, pod cgroup); empty: the agent makes one. Idempotent on
  // (id, uid): a known id with the same uid (or no uid) and the same spec
  // returns its current status and creates nothing (a spec recovered without
  // its command/args/env is compared by digest); the same id with another
  // uid or another spec is kAlreadyExists naming the existing uid, and so is
  // a uid another workload holds. A malformed uid is kInvalidArgument.
  Result<api::WorkloadStatus> start(const api::WorkloadSpec& spec, const std::string& uid = {});
  Result<api::WorkloadStatus> status(const std::string& id) const;
  // One page of the registry, ordered by id: at most `limit` workloads whose
  // id sorts after `after` ("" = from the start), and no more than fit in
  // `max_bytes` of encoded statuses (but at least one); `next` is the last
  // id of the page when more follow, "" otherwise.
  struct Page {
    std::vector<api::WorkloadStatus> items;
    std::string next;
  };
  // Half the protocol's line (protocol::kMaxLineBytes, 1 MiB): a page always
  // fits in a WorkloadList line (statuses' messages are capped, §3).
  static constexpr std::size_t kListPageBytes = 512 * 1024;
  Page list(const std::string& after, std::size_t limit,
            std::size_t max_bytes = kListPageBytes) const;
  api::NodeInfo nodeInfo() const;
  // This agent's node id (Options::node_id). Immutable.
  const std::string& nodeId() const { return options_.node_id; }

  // Where an exec in workload `id` runs: its class and running container.
  struct ExecTarget {
    std::string runtime_class;
    std::string container_id;
  };
  // kNotFound when the node has no workload `id`; kFailedPrecondition when
  // its copy is of another submission than `uid` (when set) or it is not
  // Running (exec_target.cc). Memory only.
  Result<ExecTarget> execTarget(const std::string& id, const std::string& uid) const;

  // Stops the workload's container (SIGKILL after `grace`, waited for without
  // a thread) and its sandbox; the record stays, in a final state. A pull in
  // progress is cancelled. A runtime that restarts meanwhile, or hangs (a
  // call past its deadline), is waited for (Options::ready_wait past the
  // grace period), then the step is repeated.
  boost::asio::awaitable<Result<api::WorkloadStatus>> stop(std::string id,
                                                           std::chrono::seconds grace);
  // Stops and removes sandbox, container and logs, then forgets the workload.
  // A pull in progress is cancelled and frees its slot at once. A runtime
  // that restarts or hangs meanwhile is waited for (Options::ready_wait); on
  // another runtime error the workload is kept (and resumed). With `uid` set, only
  // that submission is removed: a workload of another uid is left untouched
  // and the result is OK (the fence of docs/architecture.md §8.6).
  boost::asio::awaitable<Status> remove(std::string id, std::chrono::seconds grace,
                                        std::string uid = {});

  // Rebuilds the registry from the runtime (sandboxes with this node's
  // labels): removes duplicates, finishes a start cut short once the
  // container exists, and removes a workload nothing of which ever ran (a
  // sandbox without a container, or a created container in a stopped
  // sandbox) without registering it: the server delivers it again if it is
  // still wanted (docs/architecture.md §4). Call once, before serving.
  // Blocking.
  Status recover();
  // One status sweep for the whole node: a single listing of its
  // containers, then ContainerStatus only for containers whose state changed
  // (or whose status is stale). The first sweep, and then the first one once
  // Options::orphan_scan_interval has passed (by the injected Clock), lists
  // the sandboxes too and removes this node's sandboxes that belong to no
  // known workload. Starts the restarts whose back-off is over. Blocking;
  // see the class comment for its failure modes. Not concurrently with
  // itself: sweeps come from one thread, one after another.
  Status sweep();

  // For shutdown: refuses new work and cancels every asynchronous wait
  // (pulls, slot and readiness waits, stops' grace periods), so operations
  // end promptly. Workloads keep running; the runtime keeps the truth.
  void shutdown();

  // Number of runtime operations in flight (pipelines, stops, removes).
  int operationsInFlight() const;

 private:
  struct Entry {
    // Immutable once registered, except the user fields, which settleUser()
    // writes under `mutex_` before anything reads them (no pipeline step runs
    // on the workload until then, and a cancelled one never sets them).
    WorkloadIdentity identity;
    std::string sandbox_id;
    std::string container_id;
    unsigned attempt = 0;  // CRI attempt of `container_id` (= restarts so far)
    // Restarts' predecessors (exited): {container id, attempt}, removed once
    // the successor exists (kept for another try if the removal fails).
    std::vector<std::pair<std::string, unsigned>> previous;
    // Restart policy: when the pending restart is due (status Pending/BackOff),
    // the back-off it waits out, and the one the next exit will wait out.
    std::optional<TimePoint> restart_at;
    std::chrono::milliseconds restart_delay{0};
    std::chrono::milliseconds next_restart_delay{0};  // 0: the initial one
    api::WorkloadStatus status;
    ObjectState observed = ObjectState::kUnknown;  // container state at the last sweep
    int cancels = 0;        // stops/removes in progress or done: the pipeline ends
    bool pipeline = false;  // a start pipeline runs for it (and owns its status)
    std::uint64_t cancel_epoch = 0;  // counts cancelPipeline() calls
    bool stale = false;     // shown as Unknown: the runtime could not be reached
    // Since when (Clock) the runtime has answered that the container's state
    // is unknown; reset by any other answer and while it cannot be reached.
    std::optional<TimePoint> unknown_since;
    bool settling = false;  // settleUnknown() runs for it (and owns its status)
    // Its container ended never started (a start a runtime restart cut short,
    // learned by settleUnknown): the pipeline's start step replaces it. Set
    // until that is settled (replaced, made anew, or its exit left to stand);
    // meanwhile the sweep leaves the status to the pipeline, and a pipeline a
    // failed stop cancelled is launched again.
    bool replace_ended = false;
    // A sandbox may exist that sandbox_id does not record: recovery could
    // not remove the submission's sandbox (WorkloadManager::leftovers_), or
    // a RunPodSandbox has no reply yet or lost it.
    // The pipeline's sandbox step then looks first (findSandbox removes a
    // not-ready one, returns a ready one) instead of running a sandbox whose
    // name is taken; a stop or removal looks the same way (removeSandbox).
    bool look_for_sandbox = false;
    api::WorkloadStatus published;  // the status last handed to the observer
    std::mutex op;          // held across one synchronous runtime step
  };
  using EntryPtr = std::shared_ptr<Entry>;
  // Counts a runtime operation for its whole duration (see operationsInFlight).
  class InFlight {
   public:
    explicit InFlight(WorkloadManager& m) : m_(m) {
      std::lock_guard lock(m_.mutex_);
      ++m_.in_flight_;
    }
    ~InFlight() {
      std::lock_guard lock(m_.mutex_);
      --m_.in_flight_;
    }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;

   private:
    WorkloadManager& m_;
  };
  class PipelineScope;
  // An asynchronous wait in flight: cancelled by stop()/remove() of its
  // workload when it belongs to the pipeline, and by shutdown() always.
  struct Pending {
    EntryPtr entry;
    bool pipeline = false;
    bool cancelled = false;
    std::shared_ptr<PendingCall> call;  // null until started
  };
  // Starts an asynchronous operation that calls `done` exactly once.
  using StartCall = std::function<std::shared_ptr<PendingCall>(std::function<void(Status)> done)>;

  // After a change of `entry.status`: queues it for the observer when it
  // differs from the last one queued and the entry is registered, and
  // schedules a delivery. Call with `mutex_` held, right after the change.
  void changedLocked(Entry& entry);
  // Hands the queued statuses to the observer, in order (on events_).
  void deliverChanges();

  // The runtime gave no answer: it could not be reached, or the call
  // outlasted its deadline (a runtime that hangs, e.g. a stopped containerd).
  // Nothing was decided about the container: stop and remove repeat the
  // step once the runtime answers again, and a sweep shows its workloads
  // Unknown.
  static bool noAnswer(const Error& error);

  EntryPtr find(const std::string& id) const;
  // find(), or kNotFound naming the node.
  Result<EntryPtr> existing(const std::string& id) const;
  // {sandbox_id, container_id}, read under the lock.
  std::pair<std::string, std::string> runtimeIds(const EntryPtr& entry) const;
  // Entry::look_for_sandbox, read under the lock.
  bool looksForSandbox(const EntryPtr& entry) const;
  // The entry records no sandbox and has none to look for. Call with `mutex_` held.
  static void dropSandboxLocked(Entry& entry);
  // Drops `entry` from the registry (if it is still the one registered).
  void forget(const EntryPtr& entry);
  bool cancelled(const EntryPtr& entry) const;
  // stop()/remove() begin: counts them and cancels the pipeline's waits.
  void cancelPipeline(const EntryPtr& entry);
  // After a failed stop/remove: uncounts it; restarts the pipeline if the
  // workload still needs one.
  void resume(const EntryPtr& entry);
  // Whether `entry` is live, uncancelled and unfinished with no pipeline
  // running for it. Call with `mutex_` held.
  bool needsPipeline(const Entry& entry) const;

  // ---- asynchronous waits (workload_manager.cc)
  boost::asio::awaitable<Status> awaitPending(EntryPtr entry, bool pipeline, StartCall start);
  std::uint64_t reservePending(const EntryPtr& entry, bool pipeline);
  void armPending(std::uint64_t id, std::shared_ptr<PendingCall> call);
  void releasePending(std::uint64_t id);
  // Stops the container (asynchronously, `grace`) then the sandbox. A
  // runtime that goes away meanwhile is waited for (ready_wait past the grace
  // period), then the stop is repeated with what is left of the grace period.
  // Without a container it stops nothing: the caller removes the sandbox
  // (removeSandbox), which is never left stopped without a container.
  boost::asio::awaitable<Status> halt(EntryPtr entry, std::chrono::seconds grace);
  // Removes the workload's sandbox (with its containers and host state) and
  // forgets its id, also one no id records (look_for_sandbox); a
  // runtime that goes away meanwhile is waited for up to ready_wait. Returns
  // the id removed ("" when there was none). Publishes nothing.
  boost::asio::awaitable<Result<std::string>> removeSandbox(EntryPtr entry);
  using SteadyTime = std::chrono::steady_clock::time_point;
  // For stop/remove after kUnavailable: waits (backoff, then until the runtime
  // answers) without a thread. False when shutting down or past `until`.
  boost::asio::awaitable<bool> awaitRuntime(EntryPtr entry, SteadyTime until, Backoff& backoff);
  // The step both waits for the runtime share: sleep `pause` (no thread
  // held), then wait up to `limit` for the runtime of `entry`'s class to
  // answer (cancellable as a pipeline wait when `pipeline`). OK once it
  // answers. Callers check their own stop conditions around it.
  boost::asio::awaitable<Status> pauseThenAwaitReady(EntryPtr entry, bool pipeline,
                                                     std::chrono::milliseconds pause,
                                                     std::chrono::milliseconds limit);

  // ---- start pipeline (pipeline.cc)
  void launchPipeline(const EntryPtr& entry);
  // Decides the container's user once the image is known, before its sandbox
  // exists (allocating a uid when needed); false when cancelled or failed.
  bool settleUser(const EntryPtr& entry, const ImageFacts& image);
  boost::asio::awaitable<void> runPipeline(EntryPtr entry);
  // Image present (pulled if needed); nullopt when the pipeline must end (the
  // status says why, or the workload was cancelled).
  boost::asio::awaitable<std::optional<ImageFacts>> ensureImage(EntryPtr entry);
  // One pull: a slot of the image's registry, then the pull itself.
  boost::asio::awaitable<Status> pullOnce(EntryPtr entry);
  // Runs `step` under `op` until it gives an answer that is not transient
  // (OK or the runtime's error); kCancelled once the workload is cancelled.
  boost::asio::awaitable<Status> untilAnswered(EntryPtr entry, std::string doing,
                                               std::function<Status()> step);
  // Reports Pending/RuntimeUnavailable, waits `backoff`, then for the runtime
  // to answer. False when the workload was cancelled meanwhile.
  boost::asio::awaitable<bool> waitForRuntime(EntryPtr entry, std::string doing, Error error,
                                              std::chrono::milliseconds backoff);
  // Moves a Pending workload to the next phase; false (and no change) once cancelled.
  bool enterPhase(const EntryPtr& entry, std::string_view reason, std::string message);
  void failPull(const EntryPtr& entry, const Error& error);
  void setFailed(const EntryPtr& entry, std::string_view reason, std::string message);
  void applyDetail(const EntryPtr& entry, const ContainerDetail& detail);
  // After `detail` (an exited container) was applied to `entry.status`: when
  // the restart policy restarts it and no stop or removal is under way,
  // shows Pending/BackOff and sets when the restart is due (kept if already
  // set for this container). Call with `mutex_` held, or before the entry
  // is shared.
  void planRestartLocked(Entry& entry, const ContainerDetail& detail);
  // Starts (as a pipeline) every restart whose back-off is over.
  void startDueRestarts();
  // Once a restart's container exists: removes its predecessors (and their
  // attempts' logs). Best effort: what is left is tried again after the next
  // restart, and goes with the sandbox in any case.
  void removePrevious(const EntryPtr& entry);
  // The pipeline's replacement of a container whose start the runtime
  // refuses or cancelled after an interrupted start (pipeline.cc). Call with
  // entry->op held.
  Result<std::string> replaceUnstartable(const EntryPtr& entry, const std::string& sandbox_id,
                                         const std::string& container_id, unsigned attempt,
                                         std::string_view why);

  // ---- recovery and sweeps (recovery.cc)
  void adoptSandbox(const SandboxObservation& sandbox, const Snapshot& snapshot,
                    std::vector<EntryPtr>& to_finish);
  // Live workloads with a container whose status a sweep refreshes.
  std::vector<EntryPtr> sweepable() const;
  // ContainerStatus of `entry`, applied; false when the runtime is unreachable.
  bool refresh(const EntryPtr& entry);
  // Shows a live workload as Unknown/RuntimeUnavailable until a sweep reaches
  // the runtime again.
  void markStale(const EntryPtr& entry, const Error& error);
  void removeOrphans(const Snapshot& snapshot);
  // Records what the runtime answered about the container's state for the
  // unknown-state grace (Entry::unknown_since). Call with `mutex_` held.
  void noteObservedLocked(Entry& entry, ObjectState state);

  // ---- containers the runtime reports unknown (unknown_state.cc)
  // Starts settleUnknown() for every workload whose container the runtime
  // has reported unknown for Options::unknown_grace. Called by a sweep whose
  // listing succeeded (the runtime answers).
  void settleDueUnknowns();
  // Stops the container (asynchronously) so its end becomes known, then
  // applies its exit like a sweep (an exit whose status containerd lost is
  // ExitStatusLost; restart_policy applies). Leaves the status to a stop or
  // removal that began meanwhile. A failed stop is tried again after
  // another grace.
  boost::asio::awaitable<void> settleUnknown(EntryPtr entry, std::string container_id);

  Options options_;
  Runtime& runtime_;
  const Clock& clock_;
  boost::asio::any_io_executor workers_;
  boost::asio::any_io_executor events_;
  PullLimiter pulls_;
  mutable std::mutex mutex_;
  std::map<std::string, EntryPtr> entries_;
  UidAllocator uids_;  // keyed by submission uid; released when the entry is forgotten
  // Workload id -> submission uid of a sandbox recover() could not remove
  // (the orphan scan does, later, and frees its user): a start of that
  // submission looks for it first instead of running one whose name is
  // taken, and runs as the user its labels name (uids_ holds it meanwhile).
  std::map<std::string, std::string> leftovers_;
  std::map<std::uint64_t, Pending> pending_;
  std::uint64_t next_pending_ = 1;
  int in_flight_ = 0;
  bool stopping_ = false;
  // When (Clock) a sweep last listed the sandboxes; sweeper thread only.
  std::optional<TimePoint> last_orphan_scan_;
  Observer observer_;
  std::deque<api::WorkloadStatus> changes_;  // queued for the observer
  bool delivering_ = false;                  // a deliverChanges() is scheduled or running
};

}  // namespace zp::agent
