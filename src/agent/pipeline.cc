// WorkloadManager: the start pipeline, image -> sandbox -> container ->
// start, as one coroutine per workload on the workers executor. Runtime steps
// run inline (short, with deadlines) under the entry's `op`; the slow waits
// (pull slot, pull, an unreachable runtime) hold no thread. See
// workload_manager.h for the locking rules.

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include "agent/pull_failure.h"
#include "agent/status_mapping.h"
#include "agent/workload_manager.h"
#include "api/image_ref.h"
#include "common/backoff.h"

namespace zp::agent {
namespace {

namespace asio = boost::asio;

// The runtime could not be reached, did not answer in time, or cancelled the
// call itself: try again. (The agent's own cancellation of a workload is
// decided by cancelled(entry), never by an error code from the runtime.)
bool isTransient(const Error& error) {
  return error.code == Code::kUnavailable || error.code == Code::kDeadlineExceeded ||
         error.code == Code::kCancelled;
}

Error cancelledError() {
  return Error{Code::kCancelled, "the workload was stopped or removed", ""};
}

// A request for a pull slot, cancellable while it waits.
class SlotRequest final : public PendingCall {
 public:
  SlotRequest(PullLimiter& limiter, PullLimiter::Ticket ticket)
      : limiter_(limiter), ticket_(ticket) {}
  void cancel() override { limiter_.cancel(ticket_); }

 private:
  PullLimiter& limiter_;
  PullLimiter::Ticket ticket_;
};

// A held pull slot, given back when the pull is over.
class SlotGuard {
 public:
  SlotGuard(PullLimiter& limiter, std::string registry)
      : limiter_(limiter), registry_(std::move(registry)) {}
  ~SlotGuard() { limiter_.release(registry_); }
  SlotGuard(const SlotGuard&) = delete;
  SlotGuard& operator=(const SlotGuard&) = delete;

 private:
  PullLimiter& limiter_;
  std::string registry_;
};

}  // namespace

// Marks the entry as owned by its pipeline for the coroutine's lifetime.
class WorkloadManager::PipelineScope {
 public:
  PipelineScope(WorkloadManager& m, EntryPtr entry) : m_(m), entry_(std::move(entry)) {
    std::lock_guard lock(m_.mutex_);
    epoch_ = entry_->cancel_epoch;
  }
  // A stop/remove that cancelled this pipeline and then failed resumes the
  // workload while the pipeline is still winding down (resume() sees it
  // running and starts none): start the next one here.
  ~PipelineScope() {
    bool relaunch = false;
    {
      std::lock_guard lock(m_.mutex_);
      entry_->pipeline = false;
      relaunch = entry_->cancel_epoch != epoch_ && m_.needsPipeline(*entry_);
    }
    if (relaunch) m_.launchPipeline(entry_);
  }
  PipelineScope(const PipelineScope&) = delete;
  PipelineScope& operator=(const PipelineScope&) = delete;

 private:
  WorkloadManager& m_;
  EntryPtr entry_;
  std::uint64_t epoch_ = 0;
};

void WorkloadManager::launchPipeline(const EntryPtr& entry) {
  {
    std::lock_guard lock(mutex_);
    if (entry->pipeline) return;  // one pipeline per workload
    entry->pipeline = true;
  }
  asio::co_spawn(workers_, runPipeline(entry), asio::detached);
}

bool WorkloadManager::enterPhase(const EntryPtr& entry, std::string_view reason,
                                 std::string message) {
  std::lock_guard lock(mutex_);
  if (entry->cancels > 0 || stopping_) return false;
  entry->status.state = api::WorkloadState::kPending;
  entry->status.reason = reason;
  entry->status.message = std::move(message);
  changedLocked(*entry);
  return true;
}

void WorkloadManager::setFailed(const EntryPtr& entry, std::string_view reason,
                                std::string message) {
  spdlog::warn("workload \"{}\": {}: {}", entry->identity.spec.id, reason, message);
  std::lock_guard lock(mutex_);
  entry->status.state = api::WorkloadState::kFailed;
  entry->status.reason = reason;
  entry->status.message = std::move(message);
  entry->status.finished_at = clock_.now();
  entry->stale = false;
  changedLocked(*entry);
}

void WorkloadManager::failPull(const EntryPtr& entry, const Error& error) {
  const auto& image = entry->identity.spec.image;
  const auto kind = classifyPullError(image, error);
  // The runtime's words (which quote whatever answered at the registry's
  // address) go to the log only; the status names the kind of failure.
  spdlog::warn("workload \"{}\": pull of image \"{}\" failed ({}): {}", entry->identity.spec.id,
               image, pullFailureName(kind), error.message);
  setFailed(entry, api::reason::kErrImagePull,
            pullFailureMessage(image, kind, options_.pull_timeout));
}

void WorkloadManager::applyDetail(const EntryPtr& entry, const ContainerDetail& detail) {
  std::lock_guard lock(mutex_);
  const auto before = entry->status.state;
  applyContainerDetail(detail, entry->status);
  noteObservedLocked(*entry, detail.state);
  entry->stale = false;
  if (detail.state == ObjectState::kExited) planRestartLocked(*entry, detail);
  if (before != entry->status.state) {
    spdlog::info("workload \"{}\": {} -> {} ({})", entry->identity.spec.id, api::stateName(before),
                 api::stateName(entry->status.state), entry->status.reason);
  }
  changedLocked(*entry);
}

asio::awaitable<bool> WorkloadManager::waitForRuntime(EntryPtr entry, std::string doing,
                                                      Error error,
                                                      std::chrono::milliseconds backoff) {
  bool gone = false;
  {
    std::lock_guard lock(mutex_);
    gone = entry->cancels > 0 || stopping_;
    if (!gone && entry->status.reason != api::reason::kRuntimeUnavailable) {
      spdlog::warn("workload \"{}\": the runtime is unreachable while {}: {}; retrying",
                   entry->identity.spec.id, doing, error.message);
    }
    if (!gone) {
      entry->status.state = api::WorkloadState::kPending;
      entry->status.reason = api::reason::kRuntimeUnavailable;
      entry->status.message =
          "waiting for the container runtime to answer (" + doing + "): " + error.message;
      changedLocked(*entry);
    }
  }
  if (gone) co_return false;
  auto waiting = pauseThenAwaitReady(entry, /*pipeline=*/true, backoff, options_.ready_wait);
  co_await std::move(waiting);  // answered or not: the caller tries again
  co_return !cancelled(entry);
}

asio::awaitable<Status> WorkloadManager::untilAnswered(EntryPtr entry, std::string doing,
                                                       std::function<Status()> step) {
  Backoff backoff(options_.retry_initial, options_.retry_max);
  while (true) {
    Status outcome = ok();
    {
      std::lock_guard op(entry->op);
      if (cancelled(entry)) {
        outcome = fail(cancelledError());
      } else {
        outcome = step();
      }
    }
    if (outcome) co_return outcome;
    if (cancelled(entry)) co_return fail(cancelledError());
    if (!isTransient(outcome.error())) co_return outcome;
    auto waiting = waitForRuntime(entry, doing, outcome.error(), backoff.next());
    const bool go_on = co_await std::move(waiting);
    if (!go_on) co_return fail(cancelledError());
  }
}

asio::awaitable<Status> WorkloadManager::pullOnce(EntryPtr entry) {
  const auto& spec = entry->identity.spec;
  const std::string registry = api::registryOf(spec.image);
  const std::string asking = "asking for a pull slot for image " + spec.image;
  if (!enterPhase(entry, api::reason::kPulling, asking)) co_return fail(cancelledError());
  const std::string waiting = "waiting to pull image " + spec.image + ": registry " + registry +
                              " already has " + std::to_string(pulls_.perRegistry()) +
                              " pulls in progress (max_pulls_per_registry)";
  auto slot_wait =
      awaitPending(entry, /*pipeline=*/true,
                   [this, entry, registry, asking, waiting](std::function<void(Status)> done) {
                     const auto request = pulls_.acquire(registry, [done](bool granted) {
                       done(granted ? ok() : Status(fail(cancelledError())));
                     });
                     if (request.queued) {
                       // Unless the slot came meanwhile (the pipeline then says "pulling").
                       std::lock_guard lock(mutex_);
                       if (entry->status.message == asking) {
                         entry->status.message = waiting;
                         changedLocked(*entry);
                       }
                     }
                     return std::make_shared<SlotRequest>(pulls_, request.ticket);
                   });
  Status slot = co_await std::move(slot_wait);
  if (!slot) co_return slot;
  SlotGuard held(pulls_, registry);
  if (!enterPhase(entry, api::reason::kPulling, "pulling image " + spec.image)) {
    co_return fail(cancelledError());
  }
  const std::string cls = spec.runtime_class;
  const std::string image = spec.image;
  const auto timeout = options_.pull_timeout;
  auto pull = awaitPending(entry, /*pipeline=*/true,
                           [this, cls, image, timeout](std::function<void(Status)> done) {
                             return runtime_.pullImage(cls, image, timeout, std::move(done));
                           });
  Status pulled = co_await std::move(pull);
  co_return pulled;
}

asio::awaitable<std::optional<ImageFacts>> WorkloadManager::ensureImage(EntryPtr entry) {
  const auto& spec = entry->identity.spec;
  if (!enterPhase(entry, api::reason::kPulling, "checking image " + spec.image))
    co_return std::nullopt;
  Backoff backoff(options_.retry_initial, options_.retry_max);
  bool pulled = false;
  while (true) {
    std::optional<ImageFacts> facts;
    bool present = false;
    auto looking = untilAnswered(entry, "checking the image", [&]() -> Status {
      auto status = runtime_.imageStatus(spec.runtime_class, spec.image);
      if (!status) return fail(status.error());
      present = status->has_value();
      if (present) facts = **status;
      return ok();
    });
    Status looked = co_await std::move(looking);
    if (!looked) {
      if (looked.error().code != Code::kCancelled) failPull(entry, looked.error());
      co_return std::nullopt;
    }
    if (present) co_return facts;
    if (pulled) {
      setFailed(entry, api::reason::kErrImagePull,
                "pull of image \"" + spec.image +
                    "\" failed: the runtime reported the pull done, "
                    "but does not have the image");
      co_return std::nullopt;
    }
    auto pulling = pullOnce(entry);
    Status outcome = co_await std::move(pulling);
    if (outcome) {
      pulled = true;
      continue;  // ImageStatus again: the image's facts
    }
    if (cancelled(entry)) co_return std::nullopt;
    // The runtime went away during the pull (or cancelled it itself): wait
    // for it, then pull again. (kDeadlineExceeded here is the pull deadline:
    // an answer, not a fault.)
    if (outcome.error().code == Code::kUnavailable || outcome.error().code == Code::kCancelled) {
      auto waiting = waitForRuntime(entry, "pulling the image", outcome.error(), backoff.next());
      const bool go_on = co_await std::move(waiting);
      if (!go_on) co_return std::nullopt;
      continue;
    }
    failPull(entry, outcome.error());
    co_return std::nullopt;
  }
}

// Replaces a container the runtime will not start (an interrupted start left
// a task behind, or cancelled it): removes it and creates the same attempt
// again; `why` is the runtime's word, for the log.
// Returns the new container's id; an error (the removal or the create) is
// the step's outcome, retried when transient. Call with entry->op held.
Result<std::string> WorkloadManager::replaceUnstartable(const EntryPtr& entry,
                                                       const std::string& sandbox_id,
                                                       const std::string& container_id,
                                                       unsigned attempt, std::string_view why) {
  const auto& identity = entry->identity;
  spdlog::warn("workload \"{}\": container {} cannot be started after an interrupted start ({}); "
               "replacing it",
               identity.spec.id, container_id, why);
  if (auto s = runtime_.removeContainer(identity, container_id, attempt); !s) return fail(s.error());
  {
    std::lock_guard lock(mutex_);
    entry->container_id.clear();
    entry->status.container_id.clear();
  }
  auto made = runtime_.createContainer(identity, sandbox_id, attempt);
  if (!made) return fail(made.error());
  std::lock_guard lock(mutex_);
  entry->container_id = *made;
  entry->status.container_id = *made;
  changedLocked(*entry);
  return *made;
}

// Image -> sandbox -> container -> start. Resumes where a previous attempt
// stopped (sandbox_id / container_id already set after recovery). Checks for
// cancellation before every step; stop()/remove() clean up what was made.
asio::awaitable<void> WorkloadManager::runPipeline(EntryPtr entry) {
  InFlight counted(*this);
  PipelineScope owned(*this, entry);
  const auto& identity = entry->identity;
  const std::string cls = identity.spec.runtime_class;
  std::string sandbox_id, container_id;
  unsigned attempt = 0;
  bool skip = false;
  bool replace_ended = false;  // the container ended never started: replace it
  bool look_for_sandbox = false;
  {
    std::lock_guard lock(mutex_);
    skip = entry->cancels > 0 || stopping_ || api::isTerminal(entry->status.state);
    look_for_sandbox = entry->look_for_sandbox;
    sandbox_id = entry->sandbox_id;
    container_id = entry->container_id;
    attempt = entry->attempt;
    replace_ended = entry->replace_ended;  // cleared once the replacement is settled
  }
  if (skip) co_return;

  if (container_id.empty()) {
    // Also when resuming after a restart: the image may have been removed since.
    auto ensuring = ensureImage(entry);
    std::optional<ImageFacts> image = co_await std::move(ensuring);
    if (!image) co_return;
    // The user the container runs as is decided once the image is known and
    // before anything is created. A sandbox made before an agent restart
    // carries its user (labels); one without (made by an older agent) gets
    // one now, never the image's root.
    if ((sandbox_id.empty() || !identity.run_as_user) && !settleUser(entry, *image)) co_return;
  }

  if (sandbox_id.empty()) {
    if (!enterPhase(entry, api::reason::kCreating, "creating the sandbox")) co_return;
    auto creating = untilAnswered(entry, "creating the sandbox", [&]() -> Status {
      // After a transient failure the sandbox may exist (the reply was
      // lost); so may recovery's leftover.
      std::optional<std::string> made;
      if (look_for_sandbox) {
        auto found = runtime_.findSandbox(identity);
        if (!found) return fail(found.error());
        made = *found;
      }
      if (!made) {
        {
          // Until a reply names it, a sandbox may exist that no id records:
          // a stop or removal meanwhile looks for it (removeSandbox).
          std::lock_guard lock(mutex_);
          entry->look_for_sandbox = look_for_sandbox = true;
        }
        auto run = runtime_.runSandbox(identity);
        if (!run) return fail(run.error());
        made = *run;
      }
      sandbox_id = *made;
      std::lock_guard lock(mutex_);
      entry->look_for_sandbox = false;
      entry->sandbox_id = sandbox_id;
      entry->status.sandbox_id = sandbox_id;
      changedLocked(*entry);
      return ok();
    });
    Status created = co_await std::move(creating);
    if (!created) {
      if (created.error().code != Code::kCancelled) {
        setFailed(entry, api::reason::kRunPodSandboxError, created.error().message);
      }
      co_return;
    }
  }

  if (container_id.empty()) {
    if (!enterPhase(entry, api::reason::kCreating, "creating the container")) co_return;
    bool retry = false;
    auto creating = untilAnswered(entry, "creating the container", [&]() -> Status {
      std::optional<std::string> made;
      if (retry) {
        auto found = runtime_.findContainer(cls, sandbox_id, attempt);
        if (!found) return fail(found.error());
        made = *found;
      }
      retry = true;
      if (!made) {
        auto create = runtime_.createContainer(identity, sandbox_id, attempt);
        if (!create) return fail(create.error());
        made = *create;
      }
      container_id = *made;
      std::lock_guard lock(mutex_);
      entry->container_id = container_id;
      entry->status.container_id = container_id;
      entry->status.log_path = runtime_.logPath(identity, attempt);
      changedLocked(*entry);
      return ok();
    });
    Status created = co_await std::move(creating);
    if (!created) {
      if (created.error().code != Code::kCancelled) {
        setFailed(entry, api::reason::kCreateContainerError, created.error().message);
      }
      co_return;
    }
    removePrevious(entry);
  }

  bool start_refused = false;
  bool start_interrupted = false;  // a StartContainer got no answer
  // When the runtime first said an earlier start is still in progress.
  std::optional<std::chrono::steady_clock::time_point> in_progress_since;
  // Replacements of this attempt's container made so far: a runtime that
  // keeps refusing new containers too fails the workload instead of looping.
  // (A replacement that failed is retried as the step is, not counted.)
  int replacements = 0;
  constexpr int kMaxReplacements = 3;
  // The ended container settled: replaced, created anew, or its exit left to
  // stand. Until then a pipeline cancelled by a stop that fails is launched
  // again (needsPipeline), and the sweep leaves the status alone.
  const auto settleReplacement = [&] {
    replace_ended = false;
    std::lock_guard lock(mutex_);
    entry->replace_ended = false;
  };
  // Replaces the container (see replaceUnstartable); false when that failed
  // (`error` is the step's outcome): container_id is then the container it
  // left, or "" when the removal went through and the next try finds or
  // creates it anew.
  const auto replace = [&](std::string_view why, Error& error) {
    auto replaced = replaceUnstartable(entry, sandbox_id, container_id, attempt, why);
    if (replaced) {
      container_id = *replaced;
      ++replacements;
      if (replace_ended) settleReplacement();
      return true;
    }
    {
      std::lock_guard lock(mutex_);
      container_id = entry->container_id;
    }
    start_refused = !isTransient(replaced.error());
    error = replaced.error();
    return false;
  };
  auto starting = untilAnswered(entry, "starting the container", [&]() -> Status {
    if (container_id.empty()) {
      // A replacement removed the container and its create failed: adopt
      // what a lost create reply made, or create the attempt again.
      auto found = runtime_.findContainer(cls, sandbox_id, attempt);
      if (!found) return fail(found.error());
      std::string id;
      if (*found) {
        id = **found;
      } else {
        auto made = runtime_.createContainer(identity, sandbox_id, attempt);
        if (!made) {
          start_refused = !isTransient(made.error());
          return fail(made.error());
        }
        id = *made;
      }
      container_id = id;
      if (replace_ended) settleReplacement();  // not the container that ended
      std::lock_guard lock(mutex_);
      entry->container_id = id;
      entry->status.container_id = id;
      changedLocked(*entry);
    }
    // Inspect first: after a lost reply the container may be running already.
    auto detail = runtime_.inspectContainer(cls, container_id);
    if (!detail) return fail(detail.error());
    if ((startCutShort(*detail) || (start_interrupted && exitedWithoutStart(*detail)) ||
         (replace_ended && detail->state == ObjectState::kExited)) &&
        replacements < kMaxReplacements) {
      // An earlier start's caller went away (this agent before a restart, or
      // a call past its deadline) and the runtime cancelled it before the
      // process ran; or this attempt's start got no answer and the restarted
      // runtime found its task stopped without a start (or, stopped in an
      // unknown state, it ended never started): start a new container
      // instead.
      const std::string why =
          !detail->message.empty() ? detail->message
                                   : "the runtime reports it exited with code " +
                                         std::to_string(detail->exit_code.value_or(-1)) +
                                         " and no start time" +
                                         (replace_ended ? " after its state was unknown"
                                                        : " after the start got no answer");
      Error error;
      if (!replace(why, error)) {
        if (replace_ended && start_refused) {
          // The runtime refuses to remove or replace it, and retrying will
          // not change that: its exit stands, handled as any exit
          // (restart_policy), rather than failing the workload outright.
          start_refused = false;
          settleReplacement();
          applyDetail(entry, *detail);
          return ok();
        }
        return fail(std::move(error));
      }
      detail = runtime_.inspectContainer(cls, container_id);
      if (!detail) return fail(detail.error());
    }
    if (detail->state == ObjectState::kCreated) {
      Status s = runtime_.startContainer(cls, container_id);
      if (!s && startInProgress(s.error())) {
        // The runtime is still finishing a start this agent lost (it was
        // cut short): look again once that is done, for as long as a
        // runtime restart is waited for; then the workload fails.
        start_interrupted = true;
        const auto now = std::chrono::steady_clock::now();
        if (!in_progress_since) in_progress_since = now;
        if (now - *in_progress_since > options_.ready_wait) {
          start_refused = true;
          return fail(Code::kInternal, "the runtime kept an earlier start of the container in "
                                       "progress: " + s.error().message);
        }
        return fail(Code::kUnavailable, s.error().message);
      }
      if (!s && startFoundItEnded(s.error())) {
        // An earlier start this agent lost ended the container after the
        // look above: look again (the container is no longer created, so
        // this start is not repeated).
        return fail(Code::kUnavailable, s.error().message);
      }
      if (!s &&
          ((start_interrupted && s.error().code == Code::kAlreadyExists) ||
           startLostItsIo(s.error()) || startFoundShimLeftovers(s.error())) &&
          replacements < kMaxReplacements) {
        // The runtime restarted during the interrupted start: it kept the
        // task that start made (not started) with the container still
        // created, and refuses every further start, or it left the shim's
        // directory of that start behind. Or it restarted after the create
        // and lost the container's log pipes. Either way the process never
        // ran: replace the container and start the new one.
        Error error;
        if (!replace(s.error().message, error)) return fail(std::move(error));
        s = runtime_.startContainer(cls, container_id);
      }
      if (!s) {
        start_interrupted = start_interrupted || isTransient(s.error());
        start_refused = !isTransient(s.error());
        return s;
      }
      detail = runtime_.inspectContainer(cls, container_id);
      if (!detail) return fail(detail.error());
    }
    if (replace_ended) settleReplacement();  // replacements used up: its exit stands
    applyDetail(entry, *detail);
    return ok();
  });
  Status started = co_await std::move(starting);
  if (!started && started.error().code != Code::kCancelled) {
    if (start_refused) {
      setFailed(entry, api::reason::kRunContainerError, started.error().message);
    } else {
      // ContainerStatus refused: the next sweep looks again (and, for an
      // ended container still to be replaced, takes its exit as it is).
      if (replace_ended) settleReplacement();
      spdlog::warn("workload \"{}\": cannot inspect container: {}", identity.spec.id,
                   started.error().message);
    }
  }
}

}  // namespace zp::agent
