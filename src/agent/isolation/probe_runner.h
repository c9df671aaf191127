#pragma once
// ProbeRunner: runs zoneplane-probe once in a runtime class and returns its
// report (docs/architecture.md §10.2). The probe is a pod sandbox and a
// container made through the Runtime seam exactly as a workload's are (the
// same CRI configs and posture, agent/cri_configs.h), from probeIdentity():
// the probe image, profile restricted, user and group 65534, a read-only
// root, 64 MiB, 100 millicores, pids limit 64. Its objects carry kLabelProbe
// and not kLabelManaged, so they are never listed as workloads.
//
// One run: remove the leftovers of earlier probes (removeProbeLeftovers()),
// image status (pull when absent, with the class's pull and at most what is
// left of the timeout), sandbox, container, start, poll its status until it
// exits, read its CRI log (at most kMaxProbeLogBytes; stdout only), decode
// the report strictly. A probe that exits non-zero fails with the last line
// of its stderr, as printable ASCII. The sandbox is removed at the end
// whatever happened (timeout and cancellation included); a removal that
// fails is logged and left to the sweep before the next probe.
//
// Threading: probe() blocks (runtime calls with deadlines, a poll loop): call
// it from a thread of its own, never from the network executor; one call at
// a time. cancel() may be called from any thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/runtime.h"
#include "common/pending_call.h"
#include "common/status.h"
#include "common/time.h"
#include "probe/report.h"

namespace zp::agent {

// The probe's fixed spec (§10.2).
inline constexpr std::string_view kProbeWorkloadId = "zoneplane-probe";  // sandbox name, hostname
inline constexpr std::string_view kProbeBinary = "/zoneplane-probe";
inline constexpr std::int64_t kProbeUser = 65534;  // nobody / nogroup
inline constexpr std::int64_t kProbeMemoryMb = 64;
inline constexpr std::int64_t kProbeCpuMillicores = 100;
// The pod's pids limit. Under gVisor the pod cgroup also holds the host
// threads of its two sandboxes (about 85 on 2 CPUs, more with more CPUs): a
// lower limit keeps the probe from starting in an application-kernel class.
inline constexpr std::int64_t kProbePidsLimit = 256;
// At most this much stdout is read for a report (a larger one is refused).
inline constexpr std::size_t kMaxProbeOutputBytes = probe::kMaxReportBytes + 4096;
// A probe's whole CRI log (both streams) larger than this is not read.
inline constexpr std::uint64_t kMaxProbeLogBytes = 1 << 20;

// The identity of one probe of `runtime_class` with submission uid `uid`:
// run as `kProbeBinary --connect T...` for each of `targets`.
WorkloadIdentity probeIdentity(std::string_view runtime_class, std::string_view image,
                               const std::vector<std::string>& targets, std::string uid);

// What the monitor needs of a probe run; a seam, so the schedule can be
// tested without a runtime.
class Prober {
 public:
  virtual ~Prober() = default;
  // Runs one probe in `runtime_class`; its report, or why there is none.
  // Blocking; one call at a time.
  virtual Result<probe::Report> probe(const std::string& runtime_class) = 0;
  // Ends a probe() in progress as soon as it can (kCancelled), and makes
  // every later call fail at once. Any thread; idempotent.
  virtual void cancel() = 0;
};

class ProbeRunner final : public Prober {
 public:
  struct Options {
    std::string image;                                             // [probe] image
    std::vector<std::string> targets;                              // --connect targets, "HOST:PORT"
    std::chrono::milliseconds timeout{std::chrono::seconds(120)};  // the whole run, pull included
    std::chrono::milliseconds pull_timeout{std::chrono::seconds(300)};  // the class's pull
    std::chrono::milliseconds poll{250};  // between two looks at the container
  };

  // Uses (does not own) `runtime` and `clock` (deadlines), which must
  // outlive the runner.
  ProbeRunner(Runtime& runtime, Options options,
              const MonotonicClock& clock = SteadyMonotonicClock::instance());

  Result<probe::Report> probe(const std::string& runtime_class) override;
  void cancel() override;

 private:
  // The image present in the class (pulled if needed) before `deadline`.
  Status ensureImage(const std::string& runtime_class, MonotonicTime deadline);
  // Sandbox, container, start, exit, report; `sandbox_id` is set as soon as
  // a sandbox exists.
  Result<probe::Report> runIn(const WorkloadIdentity& identity, MonotonicTime deadline,
                              std::string& sandbox_id);
  // Polls the container until it exited; its exit code.
  Result<int> awaitExit(const std::string& runtime_class, const std::string& container_id,
                        MonotonicTime deadline);
  // Removes the probe's sandbox (found by its labels when its id is not
  // known), its log and its pod cgroup. Best effort: logs what it cannot.
  void cleanUp(const WorkloadIdentity& identity, std::string sandbox_id);
  // Waits `duration` (real time) unless cancelled first: false if cancelled.
  bool pause(std::chrono::milliseconds duration);
  bool cancelled() const;

  Runtime& runtime_;
  Options options_;
  const MonotonicClock& clock_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool cancelled_ = false;
  std::shared_ptr<PendingCall> pull_;  // the pull in flight, cancelled by cancel()
};

// The warning the agent logs at start for a probe image named by a mutable
// tag rather than a digest ("…@sha256:…"); nullopt when it has a digest or
// there is none. Printable ASCII.
std::optional<std::string> unpinnedProbeImageWarning(std::string_view image);

// Removes every probe sandbox of this node (Runtime::probeSandboxes()), as a
// crash during a probe, or a runtime that failed its removal, leaves them.
// Called at start, before any probe runs and before the workloads' recovery
// (which prunes pod cgroups no workload holds), and by ProbeRunner before
// each probe (probes run one at a time, so none is in use then). Blocking.
// An error says what could not be listed or removed.
Status removeProbeLeftovers(Runtime& runtime);

// The report text in a CRI log file: the stdout records, joined (a record
// the runtime or the reader split is put back together), one per line.
// kResourceExhausted past `max_bytes`, or when the file is larger than
// kMaxProbeLogBytes (checked before reading); kNotFound when there is no file.
Result<std::string> readProbeOutput(const std::string& log_path, std::size_t max_bytes);

}  // namespace zp::agent
