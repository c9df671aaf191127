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
// Applied by the server when a submission leaves the resources out.
inline constexpr std::int64_t kDefaultMemoryMb = 128;
inline constexpr std::int64_t kDefaultCpuMillicores = 250;

struct WorkloadSpec {
  std::string id;             // DNS-1123 label, <= 63 chars
  std::string image;          // OCI image reference
  std::string runtime_class;  // a class some node offers
  std::int64_t memory_mb = 0;
  std::int64_t cpu_millicores = 0;
  std::vector<std::string> command;        // overrides the image entrypoint when non-empty
  std::vector<std::string> args;           // overrides the image cmd when non-empty
  std::map<std::string, std::string> env;  // extra environment variables

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
}  // namespace reason

struct WorkloadStatus {
  std::string id;
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

  bool operator==(const WorkloadStatus&) const = default;
};

}  // namespace zp::api
