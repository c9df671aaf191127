#pragma once
// FakeRuntime: an in-memory Runtime for WorkloadManager tests. Sandboxes,
// containers and images live in maps; the asynchronous calls (pulls, stops,
// readiness waits) can be held by the test and completed or cancelled later,
// and the whole runtime can be taken "down" (every call kUnavailable).
// Thread-safe: one mutex guards everything; callbacks run outside it.

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/runtime.h"

namespace zp::agent::testing {

class FakeRuntime final : public Runtime {
 public:
  struct Sandbox {
    WorkloadIdentity identity;
    ObjectState state = ObjectState::kReady;
  };
  struct Container {
    std::string sandbox_id;
    std::string workload_id;
    ObjectState state = ObjectState::kCreated;
    int exit_code = 0;
    std::string reason;
    std::string message;
    unsigned attempt = 0;
    // loseTrackOf(): how a StopContainer ends the container in kUnknown.
    std::optional<std::pair<int, std::string>> exit_after_stop;
    std::optional<TimePoint> started_at;
    std::optional<TimePoint> finished_at;
  };

  // ---- knobs (all thread-safe)
  // Where logPath() points (default "/fake/logs"); set before any workload.
  void setLogRoot(std::string root) { log_root_ = std::move(root); }
  void setDown(bool down);  // going up completes every held readiness wait
  // The runtime dies: down, and every held pull and stop ends with
  // kUnavailable (their holds are forgotten, as a restarted runtime would).
  void crash();
  void addImage(const std::string& image);
  // Pulls of `image` wait until completePull() or cancellation.
  void holdPulls(const std::string& image);
  // Pulls of `image` end with `error` (once if `once`, then succeed).
  void failPulls(const std::string& image, Error error, bool once = false);
  // Pulls in flight (held) of `image`, and how many were ever started/cancelled.
  int activePulls(const std::string& image) const;
  int startedPulls(const std::string& image) const;
  int cancelledPulls() const;
  void completePull(const std::string& image, Status outcome);
  // StopContainer of `container_id` waits (a grace period) until finishStop().
  void holdStops(const std::string& container_id);
  bool stopHeld(const std::string& container_id) const;
  void finishStop(const std::string& container_id);
  // The next RunPodSandbox creates the sandbox but reports kUnavailable;
  // with `then_down`, the runtime is down from then on (setDown(false) ends it).
  void loseNextRunSandboxReply(bool then_down = false);
  // FindSandbox calls so far (answered or not).
  int findSandboxCalls() const;
  // The next StartContainer is cut short by a runtime restart: it reports
  // kUnavailable, and the container stays created with its task left behind,
  // so every later StartContainer of it is kAlreadyExists (containerd 1.6).
  // With `then_fail_create`, the next CreateContainer after it fails so.
  void interruptNextStart(std::optional<Error> then_fail_create = std::nullopt);
  // The next StartContainer is cut short by a runtime restart that finds the
  // task stopped before it was started: it reports kUnavailable, and the
  // container reads exited with `code`, `reason` and `message` and no start
  // time (containerd 1.6 reloading a stopped task: code 1, no reason).
  // `answer`: what that StartContainer reports instead (e.g. containerd's
  // refusal of a container another, cancelled start has just ended).
  void cutNextStartToExit(int code, std::string reason = {}, std::string message = {},
                          std::optional<Error> answer = std::nullopt);
  // The next `times` calls of `call` ("runSandbox", "findSandbox",
  // "createContainer", "startContainer", "stopContainer", "stopSandbox" or
  // "removeWorkload")
  // fail with `error`, changing nothing.
  void failNext(const std::string& call, Error error, int times = 1);
  // snapshot() and containerSnapshot() fail with `error` (nullopt: work again).
  void failSnapshot(std::optional<Error> error);
  // snapshot() alone (the listing with the sandboxes) fails with `error`
  // (nullopt: works again), as a sandbox listing too large to send would.
  void failSandboxListing(std::optional<Error> error);
  // Calls of snapshot() (with the sandboxes) that listed, so far.
  int fullSnapshots() const;
  // Calls of snapshot() and containerSnapshot() so far.
  int listings() const;
  // Whether a watchContainers() watch is live; reports a container event
  // to it (as a runtime that streams events would).
  bool watched() const;
  void emitContainerEvent(ContainerNews news = ContainerNews::kEvent);
  // Changes a container's state as if its process exited after running for
  // `ran`; `message` is what the runtime says about the exit.
  void exitContainer(const std::string& container_id, int code, std::string reason = {},
                     std::chrono::milliseconds ran = std::chrono::milliseconds(100),
                     std::string message = {});
  // The runtime loses track of the container (containerd after a restart
  // that could not load its task: CONTAINER_UNKNOWN). Its state reads
  // kUnknown until a StopContainer, which ends it as containerd does: exited
  // with `code_after_stop` and `reason_after_stop` (the real exit when the
  // task was still there; 255 when it was not). `never_started`: the
  // runtime has no record of its start (a start cut short by its restart).
  void loseTrackOf(const std::string& container_id, int code_after_stop,
                   std::string reason_after_stop = {}, bool never_started = false);
  // StopContainer calls made for the container (held or not).
  int stopCalls(const std::string& container_id) const;
  // Puts a sandbox (and optionally a container of `attempt`) in place, as if
  // left by an earlier agent. Returns the sandbox id.
  std::string addSandbox(const WorkloadIdentity& identity, std::optional<ObjectState> container,
                         unsigned attempt = 0, int exit_code = 0,
                         ObjectState sandbox_state = ObjectState::kReady);
  // Adds a container of `attempt` to an existing sandbox; returns its id.
  std::string addContainer(const std::string& sandbox_id, ObjectState state, unsigned attempt,
                           int exit_code = 0);

  // Called after every successful startContainer (outside the lock), with the
  // container's id and its sandbox's identity: a test may write the
  // container's log and exit it, as the process would.
  using StartHook = std::function<void(const std::string& container_id, const WorkloadIdentity&)>;
  void setStartHook(StartHook hook);

  // ExecSync: `hook` answers each exec in a container that exists (default:
  // exit 0, no output). Held execs (holdExecs) wait for finishExecs(), which
  // answers them with the hook, or for their cancellation.
  using ExecHook = std::function<Result<ExecOutput>(const std::string& container_id,
                                                    const std::vector<std::string>& command,
                                                    std::chrono::milliseconds timeout)>;
  void setExecHook(ExecHook hook);
  void holdExecs(bool hold);
  void finishExecs();
  int heldExecs() const;
  int execCalls() const;

  std::map<std::string, Sandbox> sandboxes() const;
  std::map<std::string, Container> containers() const;
  // The id of the workload's container with the highest attempt ("" if none).
  std::string containerOf(const std::string& workload_id) const;
  // Containers ever created by createContainer().
  int createdContainers() const;

  // ---- Runtime
  Result<std::optional<ImageFacts>> imageStatus(std::string_view runtime_class,
                                                std::string_view image) override;
  std::shared_ptr<PendingCall> pullImage(std::string_view runtime_class, std::string_view image,
                                         std::chrono::milliseconds timeout,
                                         std::function<void(Status)> done) override;
  Result<std::string> runSandbox(const WorkloadIdentity& identity) override;
  Result<std::optional<std::string>> findSandbox(const WorkloadIdentity& identity) override;
  Result<std::string> createContainer(const WorkloadIdentity& identity,
                                      std::string_view sandbox_id, unsigned attempt) override;
  Result<std::optional<std::string>> findContainer(std::string_view runtime_class,
                                                   std::string_view sandbox_id,
                                                   unsigned attempt) override;
  Status removeContainer(const WorkloadIdentity& identity, std::string_view container_id,
                         unsigned attempt) override;
  Status startContainer(std::string_view runtime_class, std::string_view container_id) override;
  Result<ContainerDetail> inspectContainer(std::string_view runtime_class,
                                           std::string_view container_id) override;
  std::shared_ptr<PendingCall> stopContainer(std::string_view runtime_class,
                                             std::string_view container_id,
                                             std::chrono::seconds grace,
                                             std::function<void(Status)> done) override;
  std::shared_ptr<PendingCall> execSync(std::string_view runtime_class,
                                        std::string_view container_id,
                                        std::vector<std::string> command,
                                        std::chrono::milliseconds timeout,
                                        std::function<void(Result<ExecOutput>)> done) override;
  Status stopSandbox(std::string_view runtime_class, std::string_view sandbox_id) override;
  Status removeWorkload(const WorkloadIdentity& identity, std::string_view sandbox_id) override;
  // Workloads only: sandboxes of probe identities (and their containers)
  // are listed by probeSandboxes().
  Result<Snapshot> snapshot() override;
  Result<Snapshot> containerSnapshot() override;
  std::unique_ptr<ContainerWatch> watchContainers(
      std::function<void(ContainerNews)> changed) override;
  Result<std::vector<ProbeSandboxObservation>> probeSandboxes() override;
  std::shared_ptr<PendingCall> waitReady(std::string_view runtime_class,
                                         std::chrono::milliseconds timeout,
                                         std::function<void(Status)> done) override;
  std::string logPath(const WorkloadIdentity& identity, unsigned attempt = 0) const override;
  std::string handlerFor(std::string_view runtime_class) const override;
  // Nothing lives outside the fake runtime.
  Status pruneHostState(const Snapshot&) override { return ok(); }

 private:
  class Held;
  Status downError() const;  // call with mutex_ held
  // snapshot() (with the sandboxes) or containerSnapshot().
  Result<Snapshot> list(bool with_sandboxes);
  // What a completed StopContainer does to the container; call with mutex_ held.
  static void endByStop(Container& c);
  // Registers a held call; call with mutex_ held.
  std::shared_ptr<PendingCall> hold(std::string key, std::function<void(Status)> done);
  std::function<void(Status)> takeHeld(const std::string& key, std::uint64_t id);

  mutable std::mutex mutex_;
  bool down_ = false;
  std::set<std::string> images_;
  std::set<std::string> held_images_;
  std::map<std::string, std::pair<Error, bool>> failing_images_;
  std::map<std::string, int> started_pulls_;
  int cancelled_ = 0;
  std::set<std::string> held_stops_;
  std::map<std::string, int> stop_calls_;
  bool lose_run_reply_ = false;
  bool down_after_lost_reply_ = false;
  int find_sandbox_calls_ = 0;
  bool interrupt_start_ = false;
  std::optional<Error> fail_create_after_interrupt_;
  struct CutExit {
    int code = 0;
    std::string reason, message;
    std::optional<Error> answer;
  };
  std::optional<CutExit> cut_start_to_exit_;
  std::set<std::string> unstartable_;  // containers an interrupted start left
  std::map<std::string, std::pair<Error, int>> fail_next_;  // failNext(): error, calls left
  // The failure failNext() set for `call`, taken; ok() if none. Call with mutex_ held.
  Status takeFailure(const std::string& call);
  std::optional<Error> snapshot_error_;
  int full_snapshots_ = 0;
  std::optional<Error> sandbox_listing_error_;
  int listings_ = 0;
  std::function<void(ContainerNews)> watcher_;  // the live watch's
  std::uint64_t watch_id_ = 0;     // of the live watch
  std::map<std::string, Sandbox> sandboxes_;
  std::map<std::string, Container> containers_;
  int created_containers_ = 0;
  std::string log_root_ = "/fake/logs";
  StartHook start_hook_;
  ExecHook exec_hook_;
  bool hold_execs_ = false;
  int exec_calls_ = 0;
  // Held asynchronous calls: key ("pull:<image>", "stop:<id>", "ready") -> id -> done.
  std::map<std::string, std::map<std::uint64_t, std::function<void(Status)>>> held_;
  std::uint64_t next_id_ = 1;
};

}  // namespace zp::agent::testing
