#pragma once
// Pure mapping from what the runtime reports about a container to the
// workload status vocabulary of docs/architecture.md §2.

#include <cstddef>
#include <string_view>

#include "agent/runtime.h"
#include "api/workload.h"

namespace zp::agent {

// A status message is at most this many bytes (docs/architecture.md §3): a
// runtime's or registry's long error text cannot make a status, or a page
// of them, too large for a protocol line.
inline constexpr std::size_t kMaxStatusMessageBytes = 4096;

// Cuts `status.message` to kMaxStatusMessageBytes: on a UTF-8 character
// boundary, ending with "…". Shorter messages are left alone.
void capMessage(api::WorkloadStatus& status);

// containerd's placeholder for an exit status it never learned (its CRI
// plugin's unknownExitCode and unknownExitReason): a container it found
// without its task after a restart, or that it ended on a StopContainer of a
// container in CONTAINER_UNKNOWN state without finding its task.
inline constexpr int kLostExitCode = 255;
inline constexpr std::string_view kLostExitReason = "Unknown";

// Updates state, reason, message, exit code and start/finish times of
// `status` from `detail`. Leaves id, node, created_at and runtime ids alone.
// An exit whose status the runtime lost (exitStatusLost) is Failed with
// reason ExitStatusLost and no exit code: the placeholder is not reported as
// the workload's.
void applyContainerDetail(const ContainerDetail& detail, api::WorkloadStatus& status);

// An exited container whose exit status the runtime reports as lost: its
// placeholder reason (kLostExitReason), which no process exit produces.
bool exitStatusLost(const ContainerDetail& detail);
// After the node stopped a container the runtime had reported unknown
// (CONTAINER_UNKNOWN): containerd then reports either the real exit (its task
// was still there) or, when it found no task, kLostExitCode with the reason
// of its last record of the container ("Error" for one that was running).
// The second cannot be told from a real exit 255, so an exit 255 there counts
// as lost: this marks it with kLostExitReason, so exitStatusLost() holds.
void markLostAfterUnknownStop(ContainerDetail& detail);

// A start the runtime cancelled because its caller went away (an agent
// killed during StartContainer, or a call past its deadline): containerd
// ends such a container with reason "StartError" and a "context canceled"
// message (also "failed to start shim: start failed: : context canceled"),
// or "failed to start shim ... signal: killed" when the shim's start was
// killed with the call, and the workload's process never ran. The agent replaces the
// container rather than report the workload Failed (§4 "Faults").
bool startCutShort(const ContainerDetail& detail);
// An exit the runtime recorded with no start time and no reason of its own
// (none, or the "Error"/"Completed" containerd's CRI derives from the exit
// code): what containerd 1.6 reports when, on its restart, it finds the task
// of a container it never marked started already stopped (a StartContainer
// its restart cut short; the code is the task's, e.g. 1 for a `runc init`
// that died). A start containerd refused itself has reason "StartError" (code
// 128), a lost exit "Unknown" (255), an OOM kill "OOMKilled": none of those
// match. Only meaningful right after a start that got no answer (the
// pipeline's start_interrupted): a task that ran and exited while containerd
// was down after a start it never checkpointed reads the same, and is then
// started once more.
bool exitedWithoutStart(const ContainerDetail& detail);
// StartContainer refused because another start of the container (one whose
// caller went away) is still being finished by the runtime: containerd's
// "container is already in starting state". Wait and look again.
bool startInProgress(const Error& error);
// StartContainer refused because the container has already ended: another
// start of it, one whose caller went away, was cancelled between this
// agent's look at the container (still created) and its start (containerd's
// "container is in CONTAINER_EXITED state"). Look again: the exit then tells
// a start cut short (replaced) from a process that ran (its exit stands).
bool startFoundItEnded(const Error& error);
// A StartContainer the runtime refused because the container's log pipes are
// gone (containerd restarted between CreateContainer and StartContainer and
// dropped their directory: "failed to start io pipe copy"). The process never
// ran; a new container of the same attempt starts.
bool startLostItsIo(const Error& error);
// A StartContainer the runtime refused because an earlier, interrupted start
// left the task's shim directory behind (containerd restarted while it
// started the shim: "failed to start shim: mkdir …: file exists"). The
// process never ran; a new container of the same attempt starts.
bool startFoundShimLeftovers(const Error& error);

}  // namespace zp::agent
