// WorkloadManager: the registry, requests on it, asynchronous waits, and
// stop/remove. The start pipeline is in pipeline.cc, recovery and sweeps in
// recovery.cc. See workload_manager.h for the threading and locking rules.

#include "agent/workload_manager.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <random>

#include "agent/await_callback.h"
#include "agent/spec_annotation.h"
#include "agent/status_mapping.h"
#include "api/json.h"
#include "common/backoff.h"

namespace zp::agent {
namespace {

namespace asio = boost::asio;

std::string newUid() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string uid(32, '0');
  for (auto& c : uid) c = kHex[rng() % 16];
  return uid;
}

// Whether `spec` is the one `identity` was made from.
bool sameSpec(const WorkloadIdentity& identity, const api::WorkloadSpec& spec) {
  if (identity.spec_complete) return identity.spec == spec;
  return identity.spec_digest == specDigest(spec);
}

}  // namespace

WorkloadManager::WorkloadManager(Options options, Runtime& runtime, const Clock& clock,
                                 asio::any_io_executor workers, asio::any_io_executor events)
    : options_(std::move(options)),
      runtime_(runtime),
      clock_(clock),
      workers_(std::move(workers)),
      events_(std::move(events)),
      pulls_(options_.max_pulls_per_registry),
      uids_(options_.uid_range) {}

void WorkloadManager::setObserver(Observer observer) { observer_ = std::move(observer); }

void WorkloadManager::changedLocked(Entry& entry) {
  capMessage(entry.status);  // every change passes here: no status carries a longer one
  if (entry.status == entry.published) return;
  const auto it = entries_.find(entry.identity.spec.id);
  if (it == entries_.end() || it->second.get() != &entry) return;  // not (or no longer) registered
  entry.published = entry.status;
  if (!observer_) return;
  changes_.push_back(entry.status);
  if (!delivering_) {
    delivering_ = true;
    asio::post(events_, [this] { deliverChanges(); });
  }
}

void WorkloadManager::deliverChanges() {
  std::unique_lock lock(mutex_);
  while (!changes_.empty()) {
    std::deque<api::WorkloadStatus> batch;
    batch.swap(changes_);
    lock.unlock();
    for (const auto& status : batch) observer_(status);
    lock.lock();
  }
  delivering_ = false;
}

bool WorkloadManager::noAnswer(const Error& error) {
  return error.code == Code::kUnavailable || error.code == Code::kDeadlineExceeded;
}

WorkloadManager::EntryPtr WorkloadManager::find(const std::string& id) const {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : it->second;
}

Result<api::WorkloadStatus> WorkloadManager::start(const api::WorkloadSpec& spec,
                                                   const std::string& uid) {
  if (!uid.empty() && !isValidSubmissionUid(uid)) {
    return fail(Code::kInvalidArgument, "uid must be 1 to 64 characters of [a-z0-9-]", "uid");
  }
  if (std::find(options_.runtime_classes.begin(), options_.runtime_classes.end(),
                spec.runtime_class) == options_.runtime_classes.end()) {
    std::string offered;
    for (const auto& c : options_.runtime_classes) offered += (offered.empty() ? "" : ", ") + c;
    return fail(Code::kInvalidArgument,
                "runtime class \"" + spec.runtime_class + "\" is not offered by node \"" +
                    options_.node_id + "\" (offered: " + offered + ")",
                "workload.runtime_class");
  }
  EntryPtr entry;
  api::WorkloadStatus accepted;
  {
    std::lock_guard lock(mutex_);
    if (const auto it = entries_.find(spec.id); it != entries_.end()) {
      // Idempotent on (id, uid): a re-sent start is answered with the status.
      const auto& existing = it->second->identity;
      if (!uid.empty() && uid != existing.uid) {
        return fail(Code::kAlreadyExists,
                    "workload \"" + spec.id + "\" already exists on node \"" + options_.node_id +
                        "\" with uid \"" + existing.uid + "\"",
                    "uid");
      }
      if (!sameSpec(existing, spec)) {
        return fail(Code::kAlreadyExists,
                    "workload \"" + spec.id + "\" already exists with a different spec (uid \"" +
                        existing.uid + "\")",
                    "workload.id");
      }
      return it->second->status;
    }
    if (stopping_) return fail(Code::kUnavailable, "the agent is stopping");
    if (!uid.empty()) {
      // A submission uid names host paths (pod cgroup, uid allocation): never shared.
      for (const auto& [other_id, other] : entries_) {
        if (other->identity.uid == uid) {
          return fail(Code::kAlreadyExists,
                      "uid \"" + uid + "\" already belongs to workload \"" + other_id + "\"", "uid");
        }
      }
    }
    entry = std::make_shared<Entry>();
    entry->identity.spec = spec;
    entry->identity.uid = uid.empty() ? newUid() : uid;
    // A leftover of another submission stays the orphan scan's, which frees
    // its user when it removes it.
    if (const auto left = leftovers_.find(spec.id);
        left != leftovers_.end() && left->second == entry->identity.uid) {
      entry->look_for_sandbox = true;
      leftovers_.erase(left);
    }
    auto& st = entry->status;
    st.id = spec.id;
    st.uid = entry->identity.uid;
    st.node = options_.node_id;
    st.state = api::WorkloadState::kPending;
    st.reason = api::reason::kScheduled;
    st.message = "accepted by the node";
    st.profile = api::profileName(spec.security.profile);
    st.created_at = clock_.now();
    st.runtime_handler = runtime_.handlerFor(spec.runtime_class);
    st.log_path = runtime_.logPath(entry->identity);
    entries_.emplace(spec.id, entry);
    changedLocked(*entry);
    accepted = st;
  }
  spdlog::info("workload \"{}\": accepted (image \"{}\", class \"{}\", uid {})", spec.id,
               spec.image, spec.runtime_class, entry->identity.uid);
  launchPipeline(entry);
  return accepted;
}

Result<api::WorkloadStatus> WorkloadManager::status(const std::string& id) const {
  auto entry = existing(id);
  if (!entry) return fail(entry.error());
  std::lock_guard lock(mutex_);
  return (*entry)->status;
}

WorkloadManager::Page WorkloadManager::list(const std::string& after, std::size_t limit,
                                            std::size_t max_bytes) const {
  Page page;
  bool more = false;
  {
    std::lock_guard lock(mutex_);
    auto it = after.empty() ? entries_.begin() : entries_.upper_bound(after);
    for (; it != entries_.end() && page.items.size() < limit; ++it) {
      page.items.push_back(it->second->status);
    }
    more = it != entries_.end();
  }
  // The byte budget, measured outside the lock: each item as the protocol
  // encodes it, plus a separator; at least one item per page.
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < page.items.size(); ++i) {
    bytes += api::toJson(page.items[i])
                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                 .size() +
             1;
    if (i > 0 && bytes > max_bytes) {
      page.items.resize(i);
      more = true;
      break;
    }
  }
  if (more && !page.items.empty()) page.next = page.items.back().id;
  return page;
}

api::NodeInfo WorkloadManager::nodeInfo() const {
  api::NodeInfo info;
  info.node_id = options_.node_id;
  info.capacity = options_.capacity;
  info.allocatable = options_.capacity;
  info.runtime_classes = options_.runtime_classes;
  info.version = options_.version;
  std::lock_guard lock(mutex_);
  info.workloads = static_cast<int>(entries_.size());
  for (const auto& [id, entry] : entries_) {
    if (api::isTerminal(entry->status.state)) continue;
    info.allocatable.memory_mb -= entry->identity.spec.memory_mb;
    info.allocatable.cpu_millicores -= entry->identity.spec.cpu_millicores;
  }
  return info;
}

int WorkloadManager::operationsInFlight() const {
  std::lock_guard lock(mutex_);
  return in_flight_;
}

bool WorkloadManager::settleUser(const EntryPtr& entry, const ImageFacts& image) {
  const auto plan = resolveUser(entry->identity.spec.security, image);
  std::string failure = plan.refusal;
  if (failure.empty()) {
    std::lock_guard lock(mutex_);
    if (entry->cancels > 0 || stopping_) return false;
    auto& identity = entry->identity;
    identity.run_as_user = plan.uid;
    identity.run_as_group = plan.gid;
    if (plan.allocate) {
      if (auto id = uids_.allocate(identity.uid); id) {
        identity.run_as_user = *id;
        if (!identity.run_as_group) identity.run_as_group = *id;
      } else {
        failure = id.error().message;
      }
    } else if (identity.run_as_user) {
      // Never allocated to another, and not one another workload already has.
      if (auto claimed = uids_.claim(identity.uid, *identity.run_as_user); !claimed) {
        failure = claimed.error().message;
      }
    }
    entry->status.run_as_user = identity.run_as_user;
    entry->status.run_as_group = identity.run_as_group;
    changedLocked(*entry);
  }
  if (!failure.empty()) {
    setFailed(entry, api::reason::kCreateContainerConfigError,
              "cannot decide the user the container runs as: " + failure);
    return false;
  }
  const auto& identity = entry->identity;
  spdlog::info("workload \"{}\": runs as uid {}, gid {} ({}; profile {})", identity.spec.id,
               identity.run_as_user ? std::to_string(*identity.run_as_user) : "of the image",
               identity.run_as_group ? std::to_string(*identity.run_as_group) : "of the image",
               plan.reason, api::profileName(identity.spec.security.profile));
  return true;
}

Result<WorkloadManager::EntryPtr> WorkloadManager::existing(const std::string& id) const {
  auto entry = find(id);
  if (!entry) {
    return fail(Code::kNotFound, "no workload \"" + id + "\" on node \"" + options_.node_id + "\"",
                "id");
  }
  return entry;
}

std::pair<std::string, std::string> WorkloadManager::runtimeIds(const EntryPtr& entry) const {
  std::lock_guard lock(mutex_);
  return {entry->sandbox_id, entry->container_id};
}

bool WorkloadManager::looksForSandbox(const EntryPtr& entry) const {
  std::lock_guard lock(mutex_);
  return entry->look_for_sandbox;
}

void WorkloadManager::dropSandboxLocked(Entry& entry) {
  entry.sandbox_id.clear();
  entry.status.sandbox_id.clear();
  entry.look_for_sandbox = false;
}

void WorkloadManager::forget(const EntryPtr& entry) {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(entry->identity.spec.id);
  if (it != entries_.end() && it->second == entry) {
    entries_.erase(it);
    uids_.release(entry->identity.uid);
  }
}

bool WorkloadManager::cancelled(const EntryPtr& entry) const {
  std::lock_guard lock(mutex_);
  return entry->cancels > 0 || stopping_;
}

// ---------------------------------------------------------------- waits

void WorkloadManager::cancelPipeline(const EntryPtr& entry) {
  std::vector<std::shared_ptr<PendingCall>> calls;
  {
    std::lock_guard lock(mutex_);
    ++entry->cancels;
    ++entry->cancel_epoch;
    for (auto& [id, p] : pending_) {
      if (p.entry != entry || !p.pipeline || p.cancelled) continue;
      p.cancelled = true;
      if (p.call) calls.push_back(p.call);
    }
  }
  for (const auto& call : calls) call->cancel();  // outside the lock: may call back
}

bool WorkloadManager::needsPipeline(const Entry& entry) const {
  // A container that was never seen running (kUnknown: created, maybe not
  // started) needs the pipeline too: its start step inspects first.
  // So does an ended container the pipeline has still to replace.
  return entry.cancels == 0 && !entry.pipeline && !stopping_ &&
         !api::isTerminal(entry.status.state) &&
         (entry.container_id.empty() || entry.observed == ObjectState::kCreated ||
          entry.observed == ObjectState::kUnknown || entry.replace_ended);
}

void WorkloadManager::resume(const EntryPtr& entry) {
  bool relaunch = false;
  {
    std::lock_guard lock(mutex_);
    if (entry->cancels > 0) --entry->cancels;
    relaunch = needsPipeline(*entry);
  }
  if (relaunch) launchPipeline(entry);
}

void WorkloadManager::shutdown() {
  std::vector<std::shared_ptr<PendingCall>> calls;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (auto& [id, p] : pending_) {
      if (p.cancelled) continue;
      p.cancelled = true;
      if (p.call) calls.push_back(p.call);
    }
  }
  for (const auto& call : calls) call->cancel();
  pulls_.cancelAll();
}

std::uint64_t WorkloadManager::reservePending(const EntryPtr& entry, bool pipeline) {
  std::lock_guard lock(mutex_);
  const auto id = next_pending_++;
  // Cancelled from the start if its cancellation came first: armPending
  // then cancels the call as soon as it exists, so no wake-up is lost.
  pending_[id] = Pending{entry, pipeline, stopping_ || (pipeline && entry->cancels > 0), nullptr};
  return id;
}

void WorkloadManager::armPending(std::uint64_t id, std::shared_ptr<PendingCall> call) {
  bool cancel_now = false;
  {
    std::lock_guard lock(mutex_);
    const auto it = pending_.find(id);
    if (it == pending_.end()) return;  // already completed and released
    it->second.call = call;
    cancel_now = it->second.cancelled;
  }
  if (cancel_now) call->cancel();
}

void WorkloadManager::releasePending(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  pending_.erase(id);
}

asio::awaitable<Status> WorkloadManager::awaitPending(EntryPtr entry, bool pipeline,
                                                      StartCall start) {
  const auto id = reservePending(entry, pipeline);
  auto wait = awaitCallback<Status>([this, id, start = std::move(start)](auto done) {
    armPending(id, start(std::function<void(Status)>(std::move(done))));
  });
  Status outcome = co_await std::move(wait);
  releasePending(id);
  co_return outcome;
}

// ---------------------------------------------------------------- stop, remove

asio::awaitable<bool> WorkloadManager::awaitRuntime(EntryPtr entry, SteadyTime until,
                                                    Backoff& backoff) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) co_return false;
  }
  const auto pause = backoff.next();
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      until - std::chrono::steady_clock::now() - pause);
  if (left <= std::chrono::milliseconds::zero()) co_return false;
  auto waiting = pauseThenAwaitReady(std::move(entry), /*pipeline=*/false, pause, left);
  Status answered = co_await std::move(waiting);
  co_return answered.has_value();
}

asio::awaitable<Status> WorkloadManager::pauseThenAwaitReady(EntryPtr entry, bool pipeline,
                                                             std::chrono::milliseconds pause,
                                                             std::chrono::milliseconds limit) {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor, pause);
  boost::system::error_code ignored;
  auto sleep = timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  co_await std::move(sleep);
  if (pipeline && cancelled(entry)) co_return fail(Code::kCancelled, "cancelled");
  const std::string cls = entry->identity.spec.runtime_class;
  auto ready = awaitPending(entry, pipeline, [this, cls, limit](std::function<void(Status)> done) {
    return runtime_.waitReady(cls, limit, std::move(done));
  });
  co_return co_await std::move(ready);
}

asio::awaitable<Status> WorkloadManager::halt(EntryPtr entry, std::chrono::seconds grace) {
  using std::chrono::steady_clock;
  const std::string cls = entry->identity.spec.runtime_class;
  const auto kill_at = steady_clock::now() + grace;
  // A runtime that restarts meanwhile is waited for, this long past the grace period.
  const auto give_up = kill_at + options_.ready_wait;
  Backoff backoff(options_.retry_initial, options_.retry_max);
  // A runtime's own errors (not Unavailable) on a running container are
  // retried this many times; then the removal reports the error.
  constexpr int kMaxInternalStopErrors = 3;
  int internal_errors = 0;
  std::string container_id;
  {
    // Waits for a pipeline step in progress; after it the pipeline creates nothing.
    std::lock_guard op(entry->op);
    container_id = runtimeIds(entry).second;
  }
  // A sandbox without a container is never left stopped: the caller removes it.
  if (container_id.empty()) co_return ok();
  while (true) {
    const auto left =
        std::max(std::chrono::seconds::zero(),
                 std::chrono::ceil<std::chrono::seconds>(kill_at - steady_clock::now()));
    auto stopping =
        awaitPending(entry, /*pipeline=*/false,
                     [this, cls, container_id, left](std::function<void(Status)> done) {
                       return runtime_.stopContainer(cls, container_id, left, std::move(done));
                     });
    Status stopped = co_await std::move(stopping);
    if (stopped) break;
    if (noAnswer(stopped.error())) {
      // The runtime went away or hung mid-stop (say, it restarted or was
      // paused): once it answers again, stop again with what is left of the
      // grace period.
      auto back = awaitRuntime(entry, give_up, backoff);
      const bool is_back = co_await std::move(back);
      if (!is_back) co_return stopped;
      continue;
    }
    // A container that exits while it is being killed can make the runtime
    // answer with an error of its own (containerd: "ttrpc: closed"). What
    // counts is the container's state: exited or gone is stopped.
    const auto detail = runtime_.inspectContainer(cls, container_id);
    if (detail ? detail->state == ObjectState::kExited
               : detail.error().code == Code::kNotFound) {
      spdlog::info("workload \"{}\": container exited while being stopped ({})",
                   entry->identity.spec.id, stopped.error().message);
      break;
    }
    if (stopped.error().code != Code::kInternal || ++internal_errors > kMaxInternalStopErrors)
      co_return stopped;
    spdlog::warn("workload \"{}\": stopping the container failed, retrying: {}",
                    entry->identity.spec.id, stopped.error().message);
    auto again = awaitRuntime(entry, give_up, backoff);
    const bool retry = co_await std::move(again);
    if (!retry) co_return stopped;
  }
  while (true) {
    Status result = ok();
    {
      std::lock_guard op(entry->op);
      const std::string sandbox_id = runtimeIds(entry).first;
      if (!sandbox_id.empty()) result = runtime_.stopSandbox(cls, sandbox_id);
    }
    if (result || !noAnswer(result.error())) co_return result;
    auto back = awaitRuntime(entry, give_up, backoff);
    const bool is_back = co_await std::move(back);
    if (!is_back) co_return result;
  }
}

asio::awaitable<Result<api::WorkloadStatus>> WorkloadManager::stop(std::string id,
                                                                   std::chrono::seconds grace) {
  auto found = existing(id);
  if (!found) co_return fail(found.error());
  const EntryPtr entry = *found;
  InFlight counted(*this);
  cancelPipeline(entry);
  auto halting = halt(entry, grace);
  Status halted = co_await std::move(halting);
  if (!halted) {
    resume(entry);
    co_return fail(halted.error());
  }
  // (After halt() the pipeline creates nothing: the ids are final.)
  const auto halted_ids = runtimeIds(entry);
  const bool had_sandbox = !halted_ids.first.empty() || looksForSandbox(entry);
  std::string no_container_message =
      had_sandbox ? "stopped before the container started" : "stopped before its image was ready";
  if (halted_ids.second.empty() && had_sandbox) {
    // Stopped before its container existed: the sandbox is removed, not
    // stopped (halt() left it alone); nothing is left to run. The record
    // stays until RemoveWorkload or the agent's restart. A removal that
    // fails is left to the orphan scan, which removes a sandbox of a final
    // workload that records none, or to a restarted agent's recovery, which
    // removes every sandbox without a container (recovery.cc).
    auto removing = removeSandbox(entry);
    const Result<std::string> removed = co_await std::move(removing);
    std::lock_guard lock(mutex_);
    if (!removed) {
      spdlog::warn("workload \"{}\": removing its sandbox failed, left to the orphan scan: {}", id,
                   removed.error().message);
      dropSandboxLocked(*entry);
      no_container_message += "; its sandbox is removed once the runtime answers";
    }
    if (api::isTerminal(entry->status.state)) changedLocked(*entry);  // its sandbox id went
  }
  {
    std::lock_guard op(entry->op);
    const std::string container_id = runtimeIds(entry).second;
    const bool was_terminal = [&] {
      std::lock_guard lock(mutex_);
      return api::isTerminal(entry->status.state);
    }();
    if (!was_terminal) {
      if (container_id.empty()) {
        setFailed(entry, api::reason::kStopped, std::move(no_container_message));
      } else if (auto detail =
                     runtime_.inspectContainer(entry->identity.spec.runtime_class, container_id);
                 detail && detail->state == ObjectState::kExited) {
        applyDetail(entry, *detail);
        std::lock_guard lock(mutex_);
        entry->status.reason = api::reason::kStopped;
        entry->status.message = "stopped on request";
        changedLocked(*entry);
      } else if (detail) {
        // Created but never started: nothing will start it now.
        setFailed(entry, api::reason::kStopped, "stopped before the container started");
      }
    }
  }
  spdlog::info("workload \"{}\": stopped", id);
  api::WorkloadStatus final_status;
  {
    std::lock_guard lock(mutex_);
    final_status = entry->status;
  }
  co_return final_status;
}

asio::awaitable<Status> WorkloadManager::remove(std::string id, std::chrono::seconds grace,
                                                std::string uid) {
  auto found = existing(id);
  if (!found) co_return fail(found.error());
  const EntryPtr entry = *found;
  if (!uid.empty() && entry->identity.uid != uid) {
    // The fence: a removal meant for another submission of this id (say, an
    // older placement) never touches the one that runs now.
    spdlog::info("workload \"{}\": removal for uid {} ignored: this node runs uid {}", id, uid,
                 entry->identity.uid);
    co_return ok();
  }
  InFlight counted(*this);
  cancelPipeline(entry);
  auto halting = halt(entry, grace);
  Status halted = co_await std::move(halting);
  if (!halted) {
    resume(entry);  // the workload stays, and the sweep keeps reporting it
    co_return halted;
  }
  auto removing = removeSandbox(entry);
  const Result<std::string> removed = co_await std::move(removing);
  if (!removed) {
    resume(entry);
    co_return fail(removed.error());
  }
  forget(entry);
  spdlog::info("workload \"{}\": removed (sandbox {})", id, removed->empty() ? "none" : *removed);
  co_return ok();
}

asio::awaitable<Result<std::string>> WorkloadManager::removeSandbox(EntryPtr entry) {
  const auto give_up = std::chrono::steady_clock::now() + options_.ready_wait;
  Backoff backoff(options_.retry_initial, options_.retry_max);
  while (true) {
    std::string sandbox_id;
    Status removed = ok();
    {
      std::lock_guard op(entry->op);
      sandbox_id = runtimeIds(entry).first;
      if (sandbox_id.empty() && looksForSandbox(entry)) {
        // A sandbox no id records (one recovery could not remove, or one a
        // lost RunPodSandbox reply made): findSandbox removes a not-ready
        // one and returns a ready one.
        auto found = runtime_.findSandbox(entry->identity);
        if (!found) {
          removed = fail(found.error());
        } else if (*found) {
          sandbox_id = **found;
        }
      }
      if (removed) removed = runtime_.removeWorkload(entry->identity, sandbox_id);
      if (removed) {
        std::lock_guard lock(mutex_);
        dropSandboxLocked(*entry);
      }
    }
    if (removed) co_return sandbox_id;
    if (!noAnswer(removed.error())) co_return fail(removed.error());
    auto back = awaitRuntime(entry, give_up, backoff);
    const bool is_back = co_await std::move(back);
    if (!is_back) co_return fail(removed.error());
  }
}

}  // namespace zp::agent
