#include "fake_runtime.h"

#include <utility>

namespace zp::agent::testing {

// A held call: cancel() completes it with kCancelled (once).
class FakeRuntime::Held final : public PendingCall {
 public:
  Held(FakeRuntime& runtime, std::string key, std::uint64_t id)
      : runtime_(runtime), key_(std::move(key)), id_(id) {}
  void cancel() override {
    auto done = runtime_.takeHeld(key_, id_);
    if (!done) return;
    {
      std::lock_guard lock(runtime_.mutex_);
      ++runtime_.cancelled_;
    }
    done(fail(Code::kCancelled, "cancelled"));
  }

 private:
  FakeRuntime& runtime_;
  std::string key_;
  std::uint64_t id_;
};

namespace {
class Done final : public PendingCall {
 public:
  void cancel() override {}
};
}  // namespace

Status FakeRuntime::downError() const {
  if (down_) return fail(Code::kUnavailable, "fake runtime: connection refused");
  return ok();
}

std::shared_ptr<PendingCall> FakeRuntime::hold(std::string key, std::function<void(Status)> done) {
  const auto id = next_id_++;  // mutex_ is held by the caller
  held_[key][id] = std::move(done);
  return std::make_shared<Held>(*this, std::move(key), id);
}

std::function<void(Status)> FakeRuntime::takeHeld(const std::string& key, std::uint64_t id) {
  std::lock_guard lock(mutex_);
  auto it = held_.find(key);
  if (it == held_.end()) return {};
  auto call = it->second.find(id);
  if (call == it->second.end()) return {};
  auto done = std::move(call->second);
  it->second.erase(call);
  return done;
}

void FakeRuntime::setDown(bool down) {
  std::vector<std::function<void(Status)>> ready;
  {
    std::lock_guard lock(mutex_);
    down_ = down;
    if (!down) {
      for (auto& [id, done] : held_["ready"]) ready.push_back(std::move(done));
      held_["ready"].clear();
    }
  }
  for (auto& done : ready) done(ok());
}

void FakeRuntime::crash() {
  std::vector<std::function<void(Status)>> broken;
  {
    std::lock_guard lock(mutex_);
    down_ = true;
    for (auto& [key, calls] : held_) {
      if (key == "ready") continue;
      for (auto& [id, done] : calls) broken.push_back(std::move(done));
      calls.clear();
    }
    held_stops_.clear();
    held_images_.clear();
  }
  for (auto& done : broken) done(fail(Code::kUnavailable, "fake runtime: Socket closed"));
}

void FakeRuntime::addImage(const std::string& image) {
  std::lock_guard lock(mutex_);
  images_.insert(image);
}

void FakeRuntime::holdPulls(const std::string& image) {
  std::lock_guard lock(mutex_);
  held_images_.insert(image);
}

void FakeRuntime::failPulls(const std::string& image, Error error, bool once) {
  std::lock_guard lock(mutex_);
  failing_images_[image] = {std::move(error), once};
}

int FakeRuntime::activePulls(const std::string& image) const {
  std::lock_guard lock(mutex_);
  const auto it = held_.find("pull:" + image);
  return it == held_.end() ? 0 : static_cast<int>(it->second.size());
}

int FakeRuntime::startedPulls(const std::string& image) const {
  std::lock_guard lock(mutex_);
  const auto it = started_pulls_.find(image);
  return it == started_pulls_.end() ? 0 : it->second;
}

int FakeRuntime::cancelledPulls() const {
  std::lock_guard lock(mutex_);
  return cancelled_;
}

void FakeRuntime::completePull(const std::string& image, Status outcome) {
  std::vector<std::function<void(Status)>> done;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, d] : held_["pull:" + image]) done.push_back(std::move(d));
    held_["pull:" + image].clear();
    if (outcome) images_.insert(image);
  }
  for (auto& d : done) d(outcome);
}

void FakeRuntime::holdStops(const std::string& container_id) {
  std::lock_guard lock(mutex_);
  held_stops_.insert(container_id);
}

bool FakeRuntime::stopHeld(const std::string& container_id) const {
  std::lock_guard lock(mutex_);
  const auto it = held_.find("stop:" + container_id);
  return it != held_.end() && !it->second.empty();
}

void FakeRuntime::endByStop(Container& c) {
  if (c.state == ObjectState::kRunning) {
    c.state = ObjectState::kExited;
    c.exit_code = 137;
  } else if (c.state == ObjectState::kUnknown && c.exit_after_stop) {
    c.state = ObjectState::kExited;
    c.exit_code = c.exit_after_stop->first;
    c.reason = c.exit_after_stop->second;
    c.finished_at = std::chrono::system_clock::now();
    c.exit_after_stop.reset();
  }
}

void FakeRuntime::finishStop(const std::string& container_id) {
  std::vector<std::function<void(Status)>> done;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, d] : held_["stop:" + container_id]) done.push_back(std::move(d));
    held_["stop:" + container_id].clear();
    held_stops_.erase(container_id);
    if (auto it = containers_.find(container_id); it != containers_.end()) endByStop(it->second);
  }
  for (auto& d : done) d(ok());
}

void FakeRuntime::interruptNextStart(std::optional<Error> then_fail_create) {
  std::lock_guard lock(mutex_);
  interrupt_start_ = true;
  fail_create_after_interrupt_ = std::move(then_fail_create);
}

void FakeRuntime::cutNextStartToExit(int code, std::string reason, std::string message,
                                     std::optional<Error> answer) {
  std::lock_guard lock(mutex_);
  cut_start_to_exit_ = CutExit{code, std::move(reason), std::move(message), std::move(answer)};
}

void FakeRuntime::loseNextRunSandboxReply(bool then_down) {
  std::lock_guard lock(mutex_);
  lose_run_reply_ = true;
  down_after_lost_reply_ = then_down;
}

int FakeRuntime::findSandboxCalls() const {
  std::lock_guard lock(mutex_);
  return find_sandbox_calls_;
}

void FakeRuntime::failSnapshot(std::optional<Error> error) {
  std::lock_guard lock(mutex_);
  snapshot_error_ = std::move(error);
}

void FakeRuntime::exitContainer(const std::string& container_id, int code, std::string reason,
                                std::chrono::milliseconds ran, std::string message) {
  std::lock_guard lock(mutex_);
  auto& c = containers_.at(container_id);
  c.state = ObjectState::kExited;
  c.exit_code = code;
  c.reason = std::move(reason);
  c.message = std::move(message);
  c.finished_at = std::chrono::system_clock::now();
  c.started_at = *c.finished_at - ran;
}

void FakeRuntime::loseTrackOf(const std::string& container_id, int code_after_stop,
                              std::string reason_after_stop, bool never_started) {
  std::lock_guard lock(mutex_);
  auto& c = containers_.at(container_id);
  c.state = ObjectState::kUnknown;
  if (never_started) c.started_at.reset();
  c.exit_after_stop = std::make_pair(code_after_stop, std::move(reason_after_stop));
}

int FakeRuntime::stopCalls(const std::string& container_id) const {
  std::lock_guard lock(mutex_);
  const auto it = stop_calls_.find(container_id);
  return it == stop_calls_.end() ? 0 : it->second;
}

std::string FakeRuntime::addSandbox(const WorkloadIdentity& identity,
                                    std::optional<ObjectState> container, unsigned attempt,
                                    int exit_code, ObjectState sandbox_state) {
  std::string id;
  {
    std::lock_guard lock(mutex_);
    id = "sb-" + std::to_string(next_id_++);
    sandboxes_[id] = Sandbox{identity, sandbox_state};
  }
  if (container) addContainer(id, *container, attempt, exit_code);
  return id;
}

std::string FakeRuntime::addContainer(const std::string& sandbox_id, ObjectState state,
                                      unsigned attempt, int exit_code) {
  std::lock_guard lock(mutex_);
  const std::string id = "ct-" + std::to_string(next_id_++);
  Container c;
  c.sandbox_id = sandbox_id;
  c.workload_id = sandboxes_.at(sandbox_id).identity.spec.id;
  c.state = state;
  c.exit_code = exit_code;
  c.attempt = attempt;
  if (state == ObjectState::kRunning || state == ObjectState::kExited) {
    c.started_at = std::chrono::system_clock::now();
  }
  containers_[id] = std::move(c);
  return id;
}

int FakeRuntime::createdContainers() const {
  std::lock_guard lock(mutex_);
  return created_containers_;
}

std::map<std::string, FakeRuntime::Sandbox> FakeRuntime::sandboxes() const {
  std::lock_guard lock(mutex_);
  return sandboxes_;
}

std::map<std::string, FakeRuntime::Container> FakeRuntime::containers() const {
  std::lock_guard lock(mutex_);
  return containers_;
}

std::string FakeRuntime::containerOf(const std::string& workload_id) const {
  std::lock_guard lock(mutex_);
  std::string best;
  unsigned best_attempt = 0;
  for (const auto& [id, c] : containers_) {
    if (c.workload_id != workload_id) continue;
    if (best.empty() || c.attempt >= best_attempt) {
      best = id;
      best_attempt = c.attempt;
    }
  }
  return best;
}

Result<std::optional<ImageFacts>> FakeRuntime::imageStatus(std::string_view,
                                                           std::string_view image) {
  std::lock_guard lock(mutex_);
  if (auto s = downError(); !s) return fail(s.error());
  if (!images_.contains(std::string(image))) return std::optional<ImageFacts>();
  return std::optional<ImageFacts>(ImageFacts{});
}

std::shared_ptr<PendingCall> FakeRuntime::pullImage(std::string_view, std::string_view image_view,
                                                    std::chrono::milliseconds,
                                                    std::function<void(Status)> done) {
  const std::string image(image_view);
  Status outcome = ok();
  {
    std::lock_guard lock(mutex_);
    ++started_pulls_[image];
    outcome = downError();
    if (outcome) {
      if (auto it = failing_images_.find(image); it != failing_images_.end()) {
        outcome = fail(it->second.first);
        if (it->second.second) failing_images_.erase(it);
      } else if (held_images_.contains(image)) {
        return hold("pull:" + image, std::move(done));
      } else {
        images_.insert(image);
      }
    }
  }
  done(outcome);
  return std::make_shared<Done>();
}

void FakeRuntime::failNext(const std::string& call, Error error, int times) {
  std::lock_guard lock(mutex_);
  fail_next_.insert_or_assign(call, std::pair{std::move(error), times});
}

Status FakeRuntime::takeFailure(const std::string& call) {
  const auto it = fail_next_.find(call);
  if (it == fail_next_.end()) return ok();
  Error error = it->second.first;
  if (--it->second.second <= 0) fail_next_.erase(it);
  return fail(std::move(error));
}

Result<std::string> FakeRuntime::runSandbox(const WorkloadIdentity& identity) {
  std::lock_guard lock(mutex_);
  if (auto s = downError(); !s) return fail(s.error());
  if (auto s = takeFailure("runSandbox"); !s) return fail(s.error());
  for (const auto& [other, sb] : sandboxes_) {
    // As CRI runtimes do: a sandbox's name (submission and attempt) is its own.
    if (sb.identity.uid == identity.uid && sb.identity.attempt == identity.attempt) {
      return fail(Code::kAlreadyExists, "fake runtime: the sandbox name is reserved for " + other);
    }
  }
  const std::string id = "sb-" + std::to_string(next_id_++);
  sandboxes_[id] = Sandbox{identity, ObjectState::kReady};
  if (lose_run_reply_) {
    lose_run_reply_ = false;
    down_ = std::exchange(down_after_lost_reply_, false);
    return fail(Code::kUnavailable, "fake runtime: reply lost");
  }
  return id;
}

Result<std::optional<std::string>> FakeRuntime::findSandbox(const WorkloadIdentity& identity) {
  std::lock_guard lock(mutex_);
  ++find_sandbox_calls_;
  if (auto s = downError(); !s) return fail(s.error());
  if (auto s = takeFailure("findSandbox"); !s) return fail(s.error());
  for (auto it = sandboxes_.begin(); it != sandboxes_.end(); ++it) {
    const auto& [id, sb] = *it;
    if (sb.identity.uid != identity.uid || sb.identity.attempt != identity.attempt) continue;
    if (sb.state == ObjectState::kReady) return std::optional<std::string>(id);
    // Left not ready by an interrupted start: removed, as the contract says.
    std::erase_if(containers_, [&](const auto& c) { return c.second.sandbox_id == id; });
    sandboxes_.erase(it);
    break;
  }
  return std::optional<std::string>();
}

Result<std::string> FakeRuntime::createContainer(const WorkloadIdentity& identity,
                                                 std::string_view sandbox_id, unsigned attempt) {
  std::lock_guard lock(mutex_);
  if (auto s = downError(); !s) return fail(s.error());
  if (auto s = takeFailure("createContainer"); !s) return fail(s.error());
  if (!sandboxes_.contains(std::string(sandbox_id))) return fail(Code::kNotFound, "no sandbox");
  for (const auto& [id, c] : containers_) {
    if (c.sandbox_id == sandbox_id && c.attempt == attempt) {
      return fail(Code::kInternal, "fake runtime: the name of attempt " + std::to_string(attempt) +
                                       " is reserved for " + id);
    }
  }
  const std::string id = "ct-" + std::to_string(next_id_++);
  Container c;
  c.sandbox_id = std::string(sandbox_id);
  c.workload_id = identity.spec.id;
  c.attempt = attempt;
  containers_[id] = std::move(c);
  ++created_containers_;
  return id;
}

Result<std::optional<std::string>> FakeRuntime::findContainer(std::string_view,
                                                              std::string_view sandbox_id,
                                                              unsigned attempt) {
  std::lock_guard lock(mutex_);
  if (auto s = downError(); !s) return fail(s.error());
  for (const auto& [id, c] : containers_) {
    if (c.sandbox_id == sandbox_id && c.attempt == attempt) return std::optional<std::string>(id);
  }
  return std::optional<std::string>();
}

Status FakeRuntime::removeContainer(const WorkloadIdentity&, std::string_view container_id,
                                    unsigned) {
  std::lock_guard lock(mutex_);
  if (auto s = downError(); !s) return s;
  if (auto s = takeFailure("removeContainer"); !s) return s;
  containers_.erase(std::string(container_id));
  return ok();
}

void FakeRuntime::setStartHook(StartHook hook) {
  std::lock_guard lock(mutex_);
  start_hook_ = std::move(hook);
}

Status FakeRuntime::startContainer(std::string_view, std::string_view container_id) {
  StartHook hook;
  WorkloadIdentity identity;
  {
    std::lock_guard lock(mutex_);
    if (auto s = downError(); !s) return s;
    if (auto s = takeFailure("startContainer"); !s) return s;
    auto it = containers_.find(std::string(container_id));
    if (it == containers_.end()) return fail(Code::kNotFound, "no container");
    if (unstartable_.contains(it->first)) {
      return fail(Code::kAlreadyExists, "failed to create containerd task: task " + it->first +
                                            ": already exists");
    }
    if (cut_start_to_exit_) {
      auto& c = it->second;
      c.state = ObjectState::kExited;
      c.exit_code = cut_start_to_exit_->code;
      c.reason = std::move(cut_start_to_exit_->reason);
      c.message = std::move(cut_start_to_exit_->message);
      c.finished_at = std::chrono::system_clock::now();
      c.started_at.reset();
      auto answer = std::move(cut_start_to_exit_->answer);
      cut_start_to_exit_.reset();
      if (answer) return fail(std::move(*answer));
      return fail(Code::kUnavailable, "fake runtime: StartContainer: Socket closed");
    }
    if (interrupt_start_) {
      interrupt_start_ = false;
      unstartable_.insert(it->first);
      if (fail_create_after_interrupt_) {
        fail_next_.insert_or_assign("createContainer",
                                    std::pair{std::move(*fail_create_after_interrupt_), 1});
        fail_create_after_interrupt_.reset();
      }
      return fail(Code::kUnavailable, "fake runtime: StartContainer: Socket closed");
    }
    it->second.state = ObjectState::kRunning;
    it->second.started_at = std::chrono::system_clock::now();
    hook = start_hook_;
    if (hook) identity = sandboxes_.at(it->second.sandbox_id).identity;
  }
  if (hook) hook(std::string(container_id), identity);
  return ok();
}

Result<ContainerDetail> FakeRuntime::inspectContainer(std::string_view,
                                                      std::string_view container_id) {
  std::lock_guard lock(mutex_);
  if (auto s = downError(); !s) return fail(s.error());
  auto it = containers_.find(std::string(container_id));
  if (it == containers_.end()) return fail(Code::kNotFound, "no container");
  ContainerDetail d;
  d.state = it->second.state;
  if (d.state == ObjectState::kExited) d.exit_code = it->second.exit_code;
  d.reason = it->second.reason;
  d.message = it->second.message;
  d.started_at = it->second.started_at;
  d.finished_at = it->second.finished_at;
  return d;
}

std::shared_ptr<PendingCall> FakeRuntime::stopContainer(std::string_view,
                                                        std::string_view container_id_view,
                                                        std::chrono::seconds,
                                                        std::function<void(Status)> done) {
  const std::string container_id(container_id_view);
  Status outcome = ok();
  {
    std::lock_guard lock(mutex_);
    ++stop_calls_[container_id];
    outcome = downError();
    if (outcome) outcome = takeFailure("stopContainer");
    if (outcome && held_stops_.contains(container_id)) {
      return hold("stop:" + container_id, std::move(done));
    }
    if (outcome) {
      if (auto it = containers_.find(container_id); it != containers_.end()) {
        endByStop(it->second);
      }
    }
  }
  done(outcome);
  return std::make_shared<Done>();
}

Status FakeRuntime::stopSandbox(std::string_view, std::string_view sandbox_id) {
  std::lock_guard lock(mutex_);
  if (auto s = downError(); !s) return s;
  if (auto s = takeFailure("stopSandbox"); !s) return s;
  if (auto it = sandboxes_.find(std::string(sandbox_id)); it != sandboxes_.end()) {
    it->second.state = ObjectState::kNotReady;
  }
  return ok();
}

Status FakeRuntime::removeWorkload(const WorkloadIdentity&, std::string_view sandbox_id) {
  std::lock_guard lock(mutex_);
  if (auto s = downError(); !s) return s;
  if (auto s = takeFailure("removeWorkload"); !s) return s;
  sandboxes_.erase(std::string(sandbox_id));
  std::erase_if(containers_, [&](const auto& c) { return c.second.sandbox_id == sandbox_id; });
  return ok();
}

int FakeRuntime::fullSnapshots() const {
  std::lock_guard lock(mutex_);
  return full_snapshots_;
}

void FakeRuntime::failSandboxListing(std::optional<Error> error) {
  std::lock_guard lock(mutex_);
  sandbox_listing_error_ = std::move(error);
}

int FakeRuntime::listings() const {
  std::lock_guard lock(mutex_);
  return listings_;
}

namespace {

// Ends the fake's watch it stands for (unless a newer one replaced it).
class FakeWatch final : public ContainerWatch {
 public:
  explicit FakeWatch(std::function<void()> end) : end_(std::move(end)) {}
  ~FakeWatch() override { end_(); }

 private:
  std::function<void()> end_;
};

}  // namespace

std::unique_ptr<ContainerWatch> FakeRuntime::watchContainers(
    std::function<void(ContainerNews)> changed) {
  std::lock_guard lock(mutex_);
  watcher_ = std::move(changed);
  const auto id = ++watch_id_;
  return std::make_unique<FakeWatch>([this, id] {
    std::lock_guard lock(mutex_);
    if (watch_id_ == id) watcher_ = nullptr;
  });
}

bool FakeRuntime::watched() const {
  std::lock_guard lock(mutex_);
  return watcher_ != nullptr;
}

void FakeRuntime::emitContainerEvent(ContainerNews news) {
  std::function<void(ContainerNews)> watcher;
  {
    std::lock_guard lock(mutex_);
    watcher = watcher_;
  }
  if (watcher) watcher(news);
}

Result<Snapshot> FakeRuntime::snapshot() { return list(/*with_sandboxes=*/true); }

Result<Snapshot> FakeRuntime::containerSnapshot() { return list(/*with_sandboxes=*/false); }

Result<Snapshot> FakeRuntime::list(bool with_sandboxes) {
  std::lock_guard lock(mutex_);
  if (auto s = downError(); !s) return fail(s.error());
  if (snapshot_error_) return fail(*snapshot_error_);
  if (with_sandboxes && sandbox_listing_error_) return fail(*sandbox_listing_error_);
  if (with_sandboxes) ++full_snapshots_;
  ++listings_;
  Snapshot snap;
  std::set<std::string> probes;
  for (const auto& [id, sb] : sandboxes_) {
    if (sb.identity.probe) {
      probes.insert(id);
      continue;
    }
    if (!with_sandboxes) continue;
    SandboxObservation o;
    o.sandbox_id = id;
    o.workload_id = sb.identity.spec.id;
    o.identity = sb.identity;
    o.runtime_class = sb.identity.spec.runtime_class;
    o.runtime_handler = "fake";
    o.state = sb.state;
    snap.sandboxes.push_back(std::move(o));
  }
  for (const auto& [id, c] : containers_) {
    if (probes.contains(c.sandbox_id)) continue;
    snap.containers.push_back(
        ContainerObservation{id, c.sandbox_id, c.workload_id, c.state, c.attempt});
  }
  return snap;
}

Result<std::vector<ProbeSandboxObservation>> FakeRuntime::probeSandboxes() {
  std::lock_guard lock(mutex_);
  if (auto s = downError(); !s) return fail(s.error());
  std::vector<ProbeSandboxObservation> found;
  for (const auto& [id, sb] : sandboxes_) {
    if (sb.identity.probe) found.push_back({id, sb.identity});
  }
  return found;
}

std::shared_ptr<PendingCall> FakeRuntime::waitReady(std::string_view, std::chrono::milliseconds,
                                                    std::function<void(Status)> done) {
  {
    std::lock_guard lock(mutex_);
    if (down_) return hold("ready", std::move(done));
  }
  done(ok());
  return std::make_shared<Done>();
}

std::string FakeRuntime::logPath(const WorkloadIdentity& identity, unsigned attempt) const {
  return log_root_ + "/" + identity.spec.id + "_" + identity.uid +
         (attempt == 0 ? "/main.log" : "/main." + std::to_string(attempt) + ".log");
}

std::string FakeRuntime::handlerFor(std::string_view) const { return "fake"; }

}  // namespace zp::agent::testing
