#include "agent/isolation/probe_runner.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <random>

#include "agent/log_reader.h"
#include "probe/report_json.h"

namespace zp::agent {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

// A submission uid for one probe: "probe-" and 16 hex digits.
std::string newProbeUid() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char text[24];
  std::snprintf(text, sizeof text, "probe-%016llx", static_cast<unsigned long long>(rng()));
  return text;
}

std::string seconds(milliseconds d) {
  return std::to_string(duration_cast<std::chrono::seconds>(d).count()) + " s";
}

// At most the last `max` bytes of the last non-empty line of `text`.
std::string lastLine(const std::string& text, std::size_t max) {
  auto end = text.find_last_not_of("\n ");
  if (end == std::string::npos) return {};
  const auto start = text.rfind('\n', end);
  std::string line = text.substr(start == std::string::npos ? 0 : start + 1,
                                 end + 1 - (start == std::string::npos ? 0 : start + 1));
  if (line.size() > max) line = "…" + line.substr(line.size() - max);
  return line;
}

// Waits for an asynchronous runtime call's outcome.
struct Outcome {
  std::mutex mutex;
  std::condition_variable done;
  std::optional<Status> status;
};

}  // namespace

WorkloadIdentity probeIdentity(std::string_view runtime_class, std::string_view image,
                               const std::vector<std::string>& targets, std::string uid) {
  WorkloadIdentity identity;
  identity.probe = true;
  auto& spec = identity.spec;
  spec.id = std::string(kProbeWorkloadId);
  spec.image = std::string(image);
  spec.runtime_class = std::string(runtime_class);
  spec.memory_mb = kProbeMemoryMb;
  spec.cpu_millicores = kProbeCpuMillicores;
  spec.command = {std::string(kProbeBinary)};
  for (const auto& target : targets) {
    spec.args.push_back("--connect");
    spec.args.push_back(target);
  }
  spec.security.profile = api::Profile::kRestricted;
  spec.security.read_only_root_fs = true;
  spec.security.run_as_user = kProbeUser;
  spec.security.run_as_group = kProbeUser;
  spec.security.pids_limit = kProbePidsLimit;
  identity.uid = std::move(uid);
  identity.run_as_user = kProbeUser;
  identity.run_as_group = kProbeUser;
  return identity;
}

Result<std::string> readProbeOutput(const std::string& log_path, std::size_t max_bytes) {
  auto reader = LogReader::open(log_path, "stdout");
  if (!reader) {
    if (reader.error().code == Code::kNotFound) {
      return fail(Code::kNotFound, "the probe wrote no log (" + log_path + ")");
    }
    return fail(reader.error());
  }
  std::string text;
  do {
    auto lines = (*reader)->read(256, /*flush=*/true);
    if (!lines) return fail(lines.error());
    for (const auto& line : *lines) {
      text += line.line;
      if (!line.partial) text += '\n';
      if (text.size() > max_bytes) {
        return fail(Code::kResourceExhausted,
                    "the probe wrote more than " + std::to_string(max_bytes) + " bytes");
      }
    }
  } while (!(*reader)->drained());
  return text;
}

ProbeRunner::ProbeRunner(Runtime& runtime, Options options, const MonotonicClock& clock)
    : runtime_(runtime), options_(std::move(options)), clock_(clock) {}

bool ProbeRunner::cancelled() const {
  std::lock_guard lock(mutex_);
  return cancelled_;
}

void ProbeRunner::cancel() {
  std::shared_ptr<PendingCall> pull;
  {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
    pull = pull_;
  }
  wake_.notify_all();
  if (pull) pull->cancel();
}

bool ProbeRunner::pause(milliseconds duration) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, duration, [this] { return cancelled_; });
}

Result<probe::Report> ProbeRunner::probe(const std::string& runtime_class) {
  if (cancelled()) return fail(Code::kCancelled, "the agent is stopping");
  const auto deadline = clock_.now() + options_.timeout;
  const auto identity =
      probeIdentity(runtime_class, options_.image, options_.targets, newProbeUid());
  if (auto image = ensureImage(runtime_class, deadline); !image) return fail(image.error());
  std::string sandbox_id;
  auto report = runIn(identity, deadline, sandbox_id);
  cleanUp(identity, sandbox_id);
  return report;
}

Status ProbeRunner::ensureImage(const std::string& runtime_class, MonotonicTime deadline) {
  auto present = runtime_.imageStatus(runtime_class, options_.image);
  if (!present) {
    return fail(present.error().code,
                "probe image \"" + options_.image + "\": " + present.error().message);
  }
  if (*present) return ok();
  const auto left = duration_cast<milliseconds>(deadline - clock_.now());
  if (left <= milliseconds(0)) {
    return fail(Code::kDeadlineExceeded,
                "the probe did not finish within " + seconds(options_.timeout));
  }
  auto outcome = std::make_shared<Outcome>();
  auto call = runtime_.pullImage(runtime_class, options_.image,
                                 std::min(options_.pull_timeout, left), [outcome](Status s) {
                                   {
                                     std::lock_guard lock(outcome->mutex);
                                     outcome->status = std::move(s);
                                   }
                                   outcome->done.notify_all();
                                 });
  {
    std::lock_guard lock(mutex_);
    pull_ = call;
    if (cancelled_) call->cancel();
  }
  Status pulled = ok();
  {
    // The pull has its own timeout (at most what is left): wait for its outcome.
    std::unique_lock lock(outcome->mutex);
    outcome->done.wait(lock, [&] { return outcome->status.has_value(); });
    pulled = std::move(*outcome->status);
  }
  {
    std::lock_guard lock(mutex_);
    pull_.reset();
  }
  if (!pulled) {
    if (pulled.error().code == Code::kCancelled && cancelled()) {
      return fail(Code::kCancelled, "the agent is stopping");
    }
    return fail(pulled.error().code,
                "pulling probe image \"" + options_.image + "\": " + pulled.error().message);
  }
  return ok();
}

Result<probe::Report> ProbeRunner::runIn(const WorkloadIdentity& identity, MonotonicTime deadline,
                                         std::string& sandbox_id) {
  const auto& cls = identity.spec.runtime_class;
  if (cancelled()) return fail(Code::kCancelled, "the agent is stopping");
  auto sandbox = runtime_.runSandbox(identity);
  if (!sandbox) {
    return fail(sandbox.error().code, "probe sandbox: " + sandbox.error().message);
  }
  sandbox_id = *sandbox;
  if (cancelled()) return fail(Code::kCancelled, "the agent is stopping");
  auto container = runtime_.createContainer(identity, sandbox_id, 0);
  if (!container) {
    return fail(container.error().code, "probe container: " + container.error().message);
  }
  if (auto s = runtime_.startContainer(cls, *container); !s) {
    return fail(s.error().code, "starting the probe: " + s.error().message);
  }
  auto exit_code = awaitExit(cls, *container, deadline);
  if (!exit_code) return fail(exit_code.error());
  const auto log = runtime_.logPath(identity, 0);
  if (*exit_code != 0) {
    std::string why = "the probe exited with code " + std::to_string(*exit_code);
    // Its stderr says why (bad arguments exit 2).
    if (auto err = LogReader::open(log, "stderr"); err) {
      std::string text;
      auto lines = (*err)->read(64, true);
      if (lines) {
        for (const auto& line : *lines) text += line.line + "\n";
      }
      if (const auto last = lastLine(text, 512); !last.empty()) why += ": " + last;
    }
    return fail(Code::kInternal, why);
  }
  auto output = readProbeOutput(log, kMaxProbeOutputBytes);
  if (!output)
    return fail(output.error().code, "reading the probe's report: " + output.error().message);
  auto report = probe::decodeReport(*output);
  if (!report) {
    return fail(Code::kInvalidArgument, "undecodable probe report: " + report.error().message);
  }
  return report;
}

Result<int> ProbeRunner::awaitExit(const std::string& runtime_class,
                                   const std::string& container_id, MonotonicTime deadline) {
  while (true) {
    auto detail = runtime_.inspectContainer(runtime_class, container_id);
    if (!detail) {
      return fail(detail.error().code, "probe container status: " + detail.error().message);
    }
    if (detail->state == ObjectState::kExited) return detail->exit_code.value_or(-1);
    if (clock_.now() >= deadline) {
      return fail(Code::kDeadlineExceeded,
                  "the probe did not finish within " + seconds(options_.timeout));
    }
    if (!pause(options_.poll)) return fail(Code::kCancelled, "the agent is stopping");
  }
}

void ProbeRunner::cleanUp(const WorkloadIdentity& identity, std::string sandbox_id) {
  if (sandbox_id.empty()) {
    // A sandbox whose creation timed out or lost its reply may exist all the same.
    auto found = runtime_.findSandbox(identity);
    if (found && *found) sandbox_id = **found;
  }
  if (sandbox_id.empty()) return;
  if (auto s = runtime_.removeWorkload(identity, sandbox_id); !s) {
    spdlog::warn(
        "runtime class \"{}\": cannot remove probe sandbox {} ({}); it is removed when "
        "the agent next starts",
        identity.spec.runtime_class, sandbox_id, s.error().message);
  }
}

Status removeProbeLeftovers(Runtime& runtime) {
  auto leftovers = runtime.probeSandboxes();
  if (!leftovers) return fail(leftovers.error());
  std::string errors;
  Code code = Code::kInternal;
  for (const auto& sb : *leftovers) {
    spdlog::info("runtime class \"{}\": removing probe sandbox {} left by an earlier run",
                 sb.identity.spec.runtime_class, sb.sandbox_id);
    if (auto s = runtime.removeWorkload(sb.identity, sb.sandbox_id); !s) {
      if (errors.empty()) code = s.error().code;
      errors += (errors.empty() ? "" : "; ") + sb.sandbox_id + ": " + s.error().message;
    }
  }
  if (!errors.empty()) return fail(code, "cannot remove leftover probe sandboxes: " + errors);
  return ok();
}

}  // namespace zp::agent
