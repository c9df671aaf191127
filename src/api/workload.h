#pragma once
// The Workload: what a user asks to run (WorkloadSpec) and what became of it
// (WorkloadStatus). Shared by the server, the agent, the protocol and the CLI.
// Plain values; no I/O, no threads.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.h"

namespace zp::api {

// Bounds on resource requests. Below the minimum memory runc cannot start a
// container; below 10 millicores the CFS quota drops under 1 ms per period.
inline constexpr std::int64_t kMinMemoryMb = 8;
inline constexpr std::int64_t kMaxMemoryMb = 1 << 20;  // 1 TiB
inline constexpr std::int64_t kMinCpuMillicores = 10;
inline constexpr std::int64_t kMaxCpuMillicores = 256'000;
// What a submission gets when it leaves the resources out. An explicit value
// outside the bounds (0 included) is an error, never replaced by a default.
inline constexpr std::int64_t kDefaultMemoryMb = 128;
inline constexpr std::int64_t kDefaultCpuMillicores = 250;
// Processes (and threads) a workload's pod may have at once.
inline constexpr std::int64_t kDefaultPidsLimit = 1024;
inline constexpr std::int64_t kMinPidsLimit = 16;
inline constexpr std::int64_t kMaxPidsLimit = 32'768;
// Largest uid/gid a workload may ask for (the kernel's is 2^32-2; ids above
// 2^31-1 break too many programs to be worth accepting).
inline constexpr std::int64_t kMaxUserId = 2'147'483'647;

// The security profiles, named after Kubernetes' Pod Security Standards and
// meaning the same (docs/architecture.md §5):
//   restricted  all capabilities dropped (NET_BIND_SERVICE may be added back),
//               never uid or gid 0. The default.
//   baseline    may run as root, with the runtime's default capabilities
//               minus NET_RAW; for legacy images that need root.
enum class Profile { kRestricted, kBaseline };
std::string_view profileName(Profile profile);  // "restricted", "baseline"
std::optional<Profile> parseProfile(std::string_view name);
// True when `profile` is at least as strict as `minimum`.
bool isAtLeast(Profile profile, Profile minimum);

// How far a workload is trusted; the server's policy maps each level to the
// runtime classes allowed for it and to a minimum profile.
enum class TrustLevel { kUntrusted, kMultiTenant, kInternal };
std::string_view trustName(TrustLevel trust);  // "untrusted", "multi_tenant", "internal"
std::optional<TrustLevel> parseTrust(std::string_view name);
inline constexpr TrustLevel kAllTrustLevels[] = {TrustLevel::kUntrusted, TrustLevel::kMultiTenant,
                                                 TrustLevel::kInternal};

// The workload's `security` object. Every field has a safe default; the
// posture every workload gets regardless (masked /proc paths, no_new_privs,
// seccomp, own namespaces) is not configurable and not listed here.
struct SecuritySpec {
  Profile profile = Profile::kRestricted;
  // Capabilities added to the profile's set, without the "CAP_" prefix.
  std::vector<std::string> capabilities_add;
  bool read_only_root_fs = false;
  // When unset, the image's user is used if it is not root; under
  // `restricted` a root image runs as a uid/gid the node picks.
  std::optional<std::int64_t> run_as_user;
  std::optional<std::int64_t> run_as_group;
  std::int64_t pids_limit = kDefaultPidsLimit;

  bool operator==(const SecuritySpec&) const = default;
};

// What happens when a workload's container exits (docs/architecture.md §4, §8.6).
//   Never      the exit is final (the default)
//   OnFailure  restarted after a non-zero exit or an OOM kill; exit 0 is final
//   Always     restarted after every exit
// OnFailure and Always workloads are also placed again when their node is lost.
enum class RestartPolicy { kNever, kOnFailure, kAlways };
std::string_view restartPolicyName(RestartPolicy policy);  // "Never", "OnFailure", "Always"
std::optional<RestartPolicy> parseRestartPolicy(std::string_view name);
// Whether a container that exited with `exit_code` (`oom_killed`) is restarted.
bool shouldRestart(RestartPolicy policy, int exit_code, bool oom_killed);

struct WorkloadSpec {
  std::string id;             // DNS-1123 label, <= 63 chars
  std::string image;          // OCI image reference
  std::string runtime_class;  // empty in a submission: the scheduler picks one for `trust`
  std::int64_t memory_mb = kDefaultMemoryMb;
  std::int64_t cpu_millicores = kDefaultCpuMillicores;
  std::vector<std::string> command;        // overrides the image entrypoint when non-empty
  std::vector<std::string> args;           // overrides the image cmd when non-empty
  std::map<std::string, std::string> env;  // extra environment variables
  std::optional<TrustLevel> trust;         // unset in a submission: the server's default
  SecuritySpec security;
  RestartPolicy restart_policy = RestartPolicy::kNever;

  bool operator==(const WorkloadSpec&) const = default;
};

enum class WorkloadState { kPending, kRunning, kSucceeded, kFailed, kUnknown };

std::string_view stateName(WorkloadState state);  // "Pending", "Running", ...
std::optional<WorkloadState> parseState(std::string_view name);
// Succeeded and Failed are final: nothing will change them but a new submission.
bool isTerminal(WorkloadState state);

// Machine-readable reasons used across the project (CRI reasons such as
// "OOMKilled" pass through unchanged).
namespace reason {
inline constexpr std::string_view kScheduled = "Scheduled";
inline constexpr std::string_view kPulling = "Pulling";
inline constexpr std::string_view kCreating = "ContainerCreating";
inline constexpr std::string_view kStarted = "Started";
inline constexpr std::string_view kCompleted = "Completed";
inline constexpr std::string_view kError = "Error";
inline constexpr std::string_view kOOMKilled = "OOMKilled";
inline constexpr std::string_view kErrImagePull = "ErrImagePull";
inline constexpr std::string_view kCreateContainerError = "CreateContainerError";
inline constexpr std::string_view kRunPodSandboxError = "RunPodSandboxError";
inline constexpr std::string_view kStopped = "Stopped";
inline constexpr std::string_view kUnschedulable = "Unschedulable";
inline constexpr std::string_view kNodeUnreachable = "NodeUnreachable";
inline constexpr std::string_view kContainerMissing = "ContainerMissing";
inline constexpr std::string_view kRunContainerError = "RunContainerError";
// The node cannot complete the container's config (e.g. no uid left in its range).
inline constexpr std::string_view kCreateContainerConfigError = "CreateContainerConfigError";
// The runtime reports the container but not a state zoneplane knows.
inline constexpr std::string_view kContainerUnknown = "ContainerUnknown";
// The container ended but the runtime lost how: it reports only a placeholder
// exit status (containerd: exit code 255, reason "Unknown"), e.g. for a
// container that exited while the runtime was down, or one the node stopped
// after the runtime had kept reporting it unknown. No exit code is shown; a
// lost exit counts as a failure for the restart policy (docs/architecture.md §4).
inline constexpr std::string_view kExitStatusLost = "ExitStatusLost";
// The node's runtime cannot be reached; the workload waits (Pending) or its
// last observed state is shown as Unknown until the runtime answers again.
inline constexpr std::string_view kRuntimeUnavailable = "RuntimeUnavailable";
// The server could not hand the workload to its node (the node refused it).
inline constexpr std::string_view kDeliveryFailed = "DeliveryFailed";
// Waiting out the restart back-off after an exit (restart_policy).
inline constexpr std::string_view kBackOff = "BackOff";
// The workload's node was lost and its restart policy is Never.
inline constexpr std::string_view kNodeLost = "NodeLost";
// Removed from a drained node and not placed again (restart policy Never).
inline constexpr std::string_view kDrained = "Drained";
// Set by the server only: the workload is being deleted (its copy is removed
// from its node, then the record is deleted); the state is the last known.
inline constexpr std::string_view kTerminating = "Terminating";
// Set by the server only: the workload is being drained from its node (its
// copy is removed, then it is placed again or ends Drained).
inline constexpr std::string_view kDraining = "Draining";
}  // namespace reason

// What became of a workload. On the server the status is also the record of
// its identity and placement: `id` equals the spec's, `node` is where it is
// placed ("" while unplaced), `uid` names the current placement (a new uid for
// every placement, the fence of docs/architecture.md §8.6), `created_at` is
// when the server accepted it.
struct WorkloadStatus {
  std::string id;
  std::string uid;
  WorkloadState state = WorkloadState::kPending;
  std::string reason;
  std::string message;
  std::optional<int> exit_code;  // set once the container exited
  std::string node;              // node id that owns the workload
  std::optional<TimePoint> created_at;
  std::optional<TimePoint> started_at;
  std::optional<TimePoint> finished_at;
  // Runtime details, informational: empty until known.
  std::string sandbox_id;
  std::string container_id;
  std::string runtime_handler;
  std::string log_path;  // host path of the container log (CRI log format)
  // The effective posture, set by the node once it knows it.
  std::string profile;                     // "restricted" or "baseline"
  std::optional<std::int64_t> run_as_user;  // uid the container runs as
  std::optional<std::int64_t> run_as_group;
  int restart_count = 0;  // restarts of the container on its node (restart_policy)

  bool operator==(const WorkloadStatus&) const = default;
};

// Ended by the server, not by its container (NodeLost, Drained,
// DeliveryFailed): no copy of it should run.
bool endedByServer(const WorkloadStatus& status);

}  // namespace zp::api
