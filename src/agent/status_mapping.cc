#include "agent/status_mapping.h"

#include <string>
#include <string_view>

namespace zp::agent {

void applyContainerDetail(const ContainerDetail& detail, api::WorkloadStatus& status) {
  using api::WorkloadState;
  status.started_at = detail.started_at;
  status.finished_at = detail.finished_at;
  status.exit_code.reset();
  switch (detail.state) {
    case ObjectState::kCreated:
      status.state = WorkloadState::kPending;
      status.reason = api::reason::kCreating;
      status.message = "container created, not started yet";
      return;
    case ObjectState::kRunning:
      status.state = WorkloadState::kRunning;
      status.reason = api::reason::kStarted;
      status.message = "";
      return;
    case ObjectState::kExited: {
      if (exitStatusLost(detail)) {
        status.state = WorkloadState::kFailed;
        status.reason = api::reason::kExitStatusLost;
        status.message = "the container ended, but the runtime lost its exit status (it reports "
                         "only its placeholder, exit code " +
                         std::to_string(detail.exit_code.value_or(kLostExitCode)) + ")";
        if (!detail.message.empty()) status.message += ": " + detail.message;
        return;
      }
      const int code = detail.exit_code.value_or(-1);
      status.exit_code = code;
      // The OOM rule: once the kernel killed a process of the container for
      // exceeding its memory limit, the workload failed, whatever the exit
      // code of its main process (a shell may exit 0 after its child died).
      if (detail.reason == api::reason::kOOMKilled) {
        status.state = WorkloadState::kFailed;
        status.reason = api::reason::kOOMKilled;
        status.message = "a process of the container was killed for exceeding its memory limit "
                         "(container exited with code " +
                         std::to_string(code) + ")";
        return;
      }
      status.state = code == 0 ? WorkloadState::kSucceeded : WorkloadState::kFailed;
      if (!detail.reason.empty()) {
        status.reason = detail.reason;
      } else {
        status.reason = code == 0 ? api::reason::kCompleted : api::reason::kError;
      }
      status.message = !detail.message.empty()
                           ? detail.message
                           : "container exited with code " + std::to_string(code);
      return;
    }
    default:
      status.state = WorkloadState::kUnknown;
      status.reason = api::reason::kContainerUnknown;
      status.message = detail.message.empty() ? "the runtime reports the container state as unknown"
                                              : detail.message;
      return;
  }
}

void capMessage(api::WorkloadStatus& status) {
  auto& message = status.message;
  if (message.size() <= kMaxStatusMessageBytes) return;
  static constexpr std::string_view kEllipsis = "\u2026";  // "…", 3 bytes
  std::size_t cut = kMaxStatusMessageBytes - kEllipsis.size();
  // Back to the first byte of a character (continuation bytes are 10xxxxxx).
  while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) --cut;
  message.resize(cut);
  message += kEllipsis;
}

bool startCutShort(const ContainerDetail& detail) {
  if (detail.state != ObjectState::kExited || detail.reason != "StartError") return false;
  const auto says = [&](std::string_view text) { return detail.message.find(text) != std::string::npos; };
  // Cancelled in the CRI service, or while the task's shim was being started
  // (the shim's start command is killed with the call's context, or its
  // start is cancelled before it runs). Only containerd's own wording of
  // those: any other StartError is the workload's.
  const bool in_shim_start = says("failed to create containerd task: failed to start shim");
  return ((says("failed to start containerd task") ||
           says("failed to create containerd task: failed to create shim task") || in_shim_start) &&
          says(": context canceled")) ||
         (in_shim_start && says("signal: killed"));
}

bool exitedWithoutStart(const ContainerDetail& detail) {
  // "Error" and "Completed" are what containerd's CRI fills in from the exit
  // code alone when it has no reason of its own.
  return detail.state == ObjectState::kExited && !detail.started_at &&
         (detail.reason.empty() || detail.reason == "Error" || detail.reason == "Completed");
}

bool exitStatusLost(const ContainerDetail& detail) {
  return detail.state == ObjectState::kExited && detail.reason == kLostExitReason;
}

void markLostAfterUnknownStop(ContainerDetail& detail) {
  if (detail.state == ObjectState::kExited && detail.exit_code == kLostExitCode &&
      detail.reason != api::reason::kOOMKilled) {
    detail.reason = kLostExitReason;
  }
}

bool startLostItsIo(const Error& error) {
  return error.message.find("failed to start io pipe copy") != std::string::npos;
}

bool startFoundShimLeftovers(const Error& error) {
  const auto& m = error.message;
  const auto shim = m.find("failed to start shim: mkdir ");
  return shim != std::string::npos && m.find(": file exists", shim) != std::string::npos;
}

bool startInProgress(const Error& error) {
  return error.message.find("already in starting state") != std::string::npos;
}

bool startFoundItEnded(const Error& error) {
  return error.message.find("container is in CONTAINER_EXITED state") != std::string::npos;
}

}  // namespace zp::agent
