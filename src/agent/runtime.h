#pragma once
// The Runtime seam: what the agent needs from the machinery that runs
// workloads. The production implementation is CriRuntime (any CRI v1 runtime:
// Edera Protect, containerd); a simulated one may serve scale tests.
//
// Every method is thread-safe. Most block for a short runtime call with a
// deadline: call them from worker threads, never from the agent's network
// executor. The ones that may take long (pullImage, stopContainer, waitReady)
// are asynchronous and hold no thread: their `done` is called exactly once,
// on a thread of the runtime client's or on the calling thread before the
// method returns, so it must only hand the outcome over (post it to an
// executor) and never block or take the caller's locks. The PendingCall they
// return cancels them (`done` then gets kCancelled).
//
// Errors: kUnavailable means the runtime could not be reached (or is still
// starting): transient, never an answer about the workload. kDeadlineExceeded
// means it did not answer in time.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/workload.h"
#include "common/pending_call.h"
#include "common/status.h"
#include "common/time.h"

namespace zp::agent {

// Labels and annotations the agent puts on every sandbox and container. The
// agent never touches an object without its own node id and either
// kLabelManaged (a workload's) or kLabelProbe (an isolation probe's, never
// listed as a workload: docs/architecture.md §10.2).
inline constexpr std::string_view kLabelWorkloadId = "zoneplane.io/workload-id";
inline constexpr std::string_view kLabelNodeId = "zoneplane.io/node-id";
inline constexpr std::string_view kLabelManaged = "zoneplane.io/managed";
// On a probe's sandbox and container instead of kLabelManaged and
// kLabelWorkloadId; the value is the runtime class probed.
inline constexpr std::string_view kLabelProbe = "zoneplane.io/probe";
inline constexpr std::string_view kLabelUid = "zoneplane.io/uid";
// The user and group the container runs as (WorkloadIdentity), when decided.
inline constexpr std::string_view kLabelRunAsUser = "zoneplane.io/run-as-user";
inline constexpr std::string_view kLabelRunAsGroup = "zoneplane.io/run-as-group";
inline constexpr std::string_view kAnnotationSpec = "zoneplane.io/spec";
inline constexpr std::string_view kSandboxNamespace = "zoneplane";
inline constexpr std::string_view kContainerName = "main";

// Everything needed to (re)create a workload's sandbox and container, and all
// that is written onto them so a restarted agent can rebuild its registry.
struct WorkloadIdentity {
  api::WorkloadSpec spec;
  std::string uid;       // unique per submission; sandbox metadata uid
  unsigned attempt = 0;  // sandbox metadata attempt
  // The user and group the container runs as, decided by the node once the
  // image is known (the spec's, else the image's non-root user, else one the
  // node allocates under `restricted`). nullopt: the image's own (baseline).
  std::optional<std::int64_t> run_as_user;
  std::optional<std::int64_t> run_as_group;
  // SHA-256 of the whole spec (spec_annotation.h), set when read back from a
  // sandbox. `spec_complete` is false when the sandbox could only carry the
  // spec without command, args and env (a big spec): then `spec` lacks them
  // and the workload's container cannot be created from it.
  std::string spec_digest;
  bool spec_complete = true;
  // An isolation probe of spec.runtime_class rather than a workload: its
  // objects carry kLabelProbe (not kLabelManaged), so snapshot() never lists
  // them, and its log lives apart from the workloads'.
  bool probe = false;
};

// A submission uid names host paths (log directory, pod cgroup): only
// [0-9a-z-], 1 to 64 characters. Anything read back from the runtime is
// checked with this before it is used.
inline bool isValidSubmissionUid(std::string_view uid) {
  if (uid.empty() || uid.size() > 64) return false;
  for (char c : uid) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-')) return false;
  }
  return true;
}

// What the runtime reports about a present image (CRI ImageStatus).
struct ImageFacts {
  std::optional<std::int64_t> uid;  // the image's user, when it is numeric
  std::string username;             // the image's user, when it is a name
};

enum class ObjectState { kCreated, kReady, kRunning, kExited, kNotReady, kUnknown };

// A sandbox of this node, as listed by the runtime.
struct SandboxObservation {
  std::string sandbox_id;
  std::string workload_id;
  std::string uid;                           // submission uid (label kLabelUid), "" if missing
  std::optional<WorkloadIdentity> identity;  // nullopt if the annotation is unreadable
  std::string runtime_class;  // class whose endpoint listed it (first, if shared)
  std::string runtime_handler;
  ObjectState state = ObjectState::kUnknown;  // kReady or kNotReady
  TimePoint created_at{};
};

// A container of this node, as listed by the runtime.
struct ContainerObservation {
  std::string container_id;
  std::string sandbox_id;
  std::string workload_id;
  ObjectState state = ObjectState::kUnknown;  // kCreated, kRunning, kExited, kUnknown
  unsigned attempt = 0;                       // CRI metadata attempt: restarts before it
};

// A probe's sandbox of this node, as listed by the runtime (probeSandboxes()).
// `identity` is enough to remove it: probe set, spec.id and spec.runtime_class
// (the class whose endpoint listed it when the label names no offered class),
// and the uid, "" when it is not a valid submission uid (then only the
// sandbox itself is removed).
struct ProbeSandboxObservation {
  std::string sandbox_id;
  WorkloadIdentity identity;
};

// One listing of every workload this node's agent owns, across all endpoints.
struct Snapshot {
  std::vector<SandboxObservation> sandboxes;
  std::vector<ContainerObservation> containers;
};

// Details of one container (from ContainerStatus).
struct ContainerDetail {
  ObjectState state = ObjectState::kUnknown;
  std::optional<int> exit_code;  // set once exited
  std::string reason;            // runtime's reason, e.g. "Completed", "OOMKilled"
  std::string message;
  std::optional<TimePoint> started_at;
  std::optional<TimePoint> finished_at;
};

// What a command run in a container ended with (CRI ExecSync): its exit
// code and its whole output, as bytes (the runtime caps each stream at 16 MiB).
struct ExecOutput {
  int exit_code = 0;
  std::string stdout_bytes;
  std::string stderr_bytes;
};

// What made a Runtime::watchContainers() call: one container event (more
// may follow within moments: the caller may wait a little so that they
// share one sweep), or one listing's findings, whole (nothing to wait for).
enum class ContainerNews { kEvent, kListing };

// What Runtime::watchContainers() started; destroying it ends it.
class ContainerWatch {
 public:
  virtual ~ContainerWatch() = default;
};

class Runtime {
 public:
  virtual ~Runtime() = default;

  // What the runtime knows of `image` if it is present; nullopt if it is not.
  virtual Result<std::optional<ImageFacts>> imageStatus(std::string_view runtime_class,
                                                        std::string_view image) = 0;
  // Pulls `image` for the class (asynchronous); kDeadlineExceeded once
  // `timeout` has passed.
  virtual std::shared_ptr<PendingCall> pullImage(std::string_view runtime_class,
                                                 std::string_view image,
                                                 std::chrono::milliseconds timeout,
                                                 std::function<void(Status)> done) = 0;
  // Creates and starts the workload's sandbox with the class's handler; returns its id.
  virtual Result<std::string> runSandbox(const WorkloadIdentity& identity) = 0;
  // The ready sandbox this node made for the identity's submission and
  // attempt, if the runtime has one (after a call whose reply was lost). One
  // left not ready (its start interrupted by a runtime restart) is removed
  // as removeWorkload() removes one (host state included) and not returned,
  // so the caller runs the sandbox anew.
  virtual Result<std::optional<std::string>> findSandbox(const WorkloadIdentity& identity) = 0;
  // Creates the workload's container in `sandbox_id` with CRI metadata
  // `attempt` (restarts before it), logging to logPath(identity, attempt);
  // returns its id.
  virtual Result<std::string> createContainer(const WorkloadIdentity& identity,
                                              std::string_view sandbox_id, unsigned attempt) = 0;
  // The container of this node with `attempt` in `sandbox_id`, if any.
  virtual Result<std::optional<std::string>> findContainer(std::string_view runtime_class,
                                                           std::string_view sandbox_id,
                                                           unsigned attempt) = 0;
  // Removes one container of the workload (a restart's predecessor, with its
  // `attempt`) and that attempt's log file. Missing: OK. Idempotent.
  virtual Status removeContainer(const WorkloadIdentity& identity, std::string_view container_id,
                                 unsigned attempt) = 0;
  virtual Status startContainer(std::string_view runtime_class, std::string_view container_id) = 0;
  virtual Result<ContainerDetail> inspectContainer(std::string_view runtime_class,
                                                   std::string_view container_id) = 0;
  // Stops the container (asynchronous): SIGTERM, SIGKILL after `grace`. A
  // container that no longer exists counts as stopped (OK). Idempotent.
  virtual std::shared_ptr<PendingCall> stopContainer(std::string_view runtime_class,
                                                     std::string_view container_id,
                                                     std::chrono::seconds grace,
                                                     std::function<void(Status)> done) = 0;
  // Runs `command` (argv, no shell) in the running container (asynchronous:
  // holds no thread while it runs), as the container's process runs: same
  // user, capabilities, no_new_privs, seccomp and cgroup. `done` gets its
  // exit code and output; kDeadlineExceeded when it has not ended within
  // `timeout` (the runtime ends it); a command the runtime cannot start at
  // all (not found, not executable) is an ExecOutput with the exit code a
  // shell gives it (127, 126) and the runtime's message on stderr. Other
  // errors are the runtime's (kNotFound: no such container).
  virtual std::shared_ptr<PendingCall> execSync(std::string_view runtime_class,
                                                std::string_view container_id,
                                                std::vector<std::string> command,
                                                std::chrono::milliseconds timeout,
                                                std::function<void(Result<ExecOutput>)> done) = 0;
  // Stops the sandbox (what still runs in it is killed). Missing: OK. Idempotent.
  virtual Status stopSandbox(std::string_view runtime_class, std::string_view sandbox_id) = 0;
  // Removes the sandbox (and its containers), then the workload's logs unless
  // another sandbox of the same submission (uid) is left. Idempotent. Also
  // removes a probe (identity.probe) the same way.
  virtual Status removeWorkload(const WorkloadIdentity& identity, std::string_view sandbox_id) = 0;
  // Every workload of this node's agent (kLabelManaged; never a probe's
  // objects), in one listing per distinct endpoint. kUnavailable when a
  // runtime cannot be reached within about a second.
  virtual Result<Snapshot> snapshot() = 0;
  // snapshot() without the sandboxes (Snapshot::sandboxes empty): the
  // readiness probe and one ListContainers per endpoint, which is all a
  // status sweep needs between full snapshots. Fails as snapshot() does.
  virtual Result<Snapshot> containerSnapshot() = 0;
  // Calls `changed` (on a thread of the runtime's, quickly) whenever a
  // runtime reports that a container changed, for runtimes that stream
  // container events (CRI GetContainerEvents), and, for those that do not
  // (containerd 1.6), when a short-interval relist of the node's exited
  // containers finds one it did not list before (if the runtime is
  // configured to relist). A call only makes the status sweep come sooner:
  // the listings stay the source of truth. Until the returned watch is
  // destroyed; `changed` is not called after that.
  virtual std::unique_ptr<ContainerWatch> watchContainers(
      std::function<void(ContainerNews)> changed) = 0;
  // This node's probe sandboxes (kLabelProbe), across all endpoints: what a
  // probe cut short by a crash left. Remove each with removeWorkload().
  virtual Result<std::vector<ProbeSandboxObservation>> probeSandboxes() = 0;
  // Completes (asynchronous) with OK as soon as the class's runtime answers,
  // reconnecting at once rather than after a backoff; kDeadlineExceeded if it
  // did not within `timeout`.
  virtual std::shared_ptr<PendingCall> waitReady(std::string_view runtime_class,
                                                 std::chrono::milliseconds timeout,
                                                 std::function<void(Status)> done) = 0;
  // Host path of the log of the workload's container `attempt` (CRI log
  // format; one file per attempt).
  virtual std::string logPath(const WorkloadIdentity& identity, unsigned attempt = 0) const = 0;
  // The runtime handler that serves `runtime_class` ("" when unknown).
  virtual std::string handlerFor(std::string_view runtime_class) const = 0;
  // Frees what the node set up outside the runtime (pod cgroups) for
  // submissions with no sandbox in `snapshot`, as a crash leaves them. Call
  // only while no workload is being created (recovery).
  virtual Status pruneHostState(const Snapshot& snapshot) = 0;
};

}  // namespace zp::agent
