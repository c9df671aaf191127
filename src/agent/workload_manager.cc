#include "agent/workload_manager.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <random>

#include "agent/status_mapping.h"

namespace zp::agent {
namespace {

std::string newUid() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string uid(32, '0');
  for (auto& c : uid) c = kHex[rng() % 16];
  return uid;
}

// The kubelet's reason for a container config the node cannot complete.
constexpr std::string_view kCreateContainerConfigError = "CreateContainerConfigError";

}  // namespace

WorkloadManager::WorkloadManager(Options options, Runtime& runtime, const Clock& clock,
                                 boost::asio::any_io_executor workers)
    : options_(std::move(options)),
      runtime_(runtime),
      clock_(clock),
      workers_(std::move(workers)),
      uids_(options_.uid_range) {}

WorkloadManager::EntryPtr WorkloadManager::find(const std::string& id) const {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : it->second;
}

Result<api::WorkloadStatus> WorkloadManager::start(const api::WorkloadSpec& spec) {
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
      if (it->second->identity.spec != spec) {
        return fail(Code::kAlreadyExists,
                    "workload \"" + spec.id + "\" already exists with a different spec", "workload.id");
      }
      return it->second->status;
    }
    entry = std::make_shared<Entry>();
    entry->identity.spec = spec;
    entry->identity.uid = newUid();
    auto& st = entry->status;
    st.id = spec.id;
    st.node = options_.node_id;
    st.state = api::WorkloadState::kPending;
    st.reason = api::reason::kScheduled;
    st.message = "accepted by the node";
    st.profile = api::profileName(spec.security.profile);
    st.created_at = clock_.now();
    st.runtime_handler = runtime_.handlerFor(spec.runtime_class);
    st.log_path = runtime_.logPath(entry->identity);
    entries_.emplace(spec.id, entry);
    accepted = st;
  }
  spdlog::info("workload \"{}\": accepted (image \"{}\", class \"{}\", uid {})", spec.id, spec.image,
               spec.runtime_class, entry->identity.uid);
  launchPipeline(entry);
  return accepted;
}

// Counts a runtime operation for its whole duration (see operationsInFlight).
class WorkloadManager::InFlight {
 public:
  explicit InFlight(WorkloadManager& m) : m_(m) {
    std::lock_guard lock(m_.mutex_);
    ++m_.in_flight_;
  }
  ~InFlight() {
    std::lock_guard lock(m_.mutex_);
    --m_.in_flight_;
  }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  WorkloadManager& m_;
};

void WorkloadManager::launchPipeline(const EntryPtr& entry) {
  auto counted = std::make_shared<InFlight>(*this);
  boost::asio::post(workers_, [this, entry, counted] { runPipeline(entry); });
}

Result<api::WorkloadStatus> WorkloadManager::status(const std::string& id) const {
  auto entry = existing(id);
  if (!entry) return fail(entry.error());
  std::lock_guard lock(mutex_);
  return (*entry)->status;
}

std::vector<api::WorkloadStatus> WorkloadManager::list() const {
  std::lock_guard lock(mutex_);
  std::vector<api::WorkloadStatus> out;
  out.reserve(entries_.size());
  for (const auto& [id, entry] : entries_) out.push_back(entry->status);
  return out;
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

bool WorkloadManager::enterPhase(const EntryPtr& entry, std::string_view reason,
                                 std::string message) {
  std::lock_guard lock(mutex_);
  if (entry->cancel) return false;
  entry->status.state = api::WorkloadState::kPending;
  entry->status.reason = reason;
  entry->status.message = std::move(message);
  return true;
}

bool WorkloadManager::settleUser(const EntryPtr& entry, const ImageFacts& image) {
  const auto plan = resolveUser(entry->identity.spec.security, image);
  std::string failure;
  {
    std::lock_guard lock(mutex_);
    if (entry->cancel) return false;
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
      uids_.reserve(identity.uid, *identity.run_as_user);  // never allocated to another
    }
    entry->status.run_as_user = identity.run_as_user;
    entry->status.run_as_group = identity.run_as_group;
  }
  if (!failure.empty()) {
    setFailed(entry, kCreateContainerConfigError, "no uid to run the container as: " + failure);
    return false;
  }
  const auto& identity = entry->identity;
  spdlog::info("workload \"{}\": runs as uid {}, gid {} ({}; profile {})", identity.spec.id,
               identity.run_as_user ? std::to_string(*identity.run_as_user) : "of the image",
               identity.run_as_group ? std::to_string(*identity.run_as_group) : "of the image",
               plan.reason, api::profileName(identity.spec.security.profile));
  return true;
}

void WorkloadManager::setFailed(const EntryPtr& entry, std::string_view reason, std::string message) {
  spdlog::warn("workload \"{}\": {}: {}", entry->identity.spec.id, reason, message);
  std::lock_guard lock(mutex_);
  entry->status.state = api::WorkloadState::kFailed;
  entry->status.reason = reason;
  entry->status.message = std::move(message);
  entry->status.finished_at = clock_.now();
}

void WorkloadManager::applyDetail(const EntryPtr& entry, const ContainerDetail& detail) {
  std::lock_guard lock(mutex_);
  const auto before = entry->status.state;
  applyContainerDetail(detail, entry->status);
  entry->observed = detail.state;
  if (before != entry->status.state) {
    spdlog::info("workload \"{}\": {} -> {} ({})", entry->identity.spec.id, api::stateName(before),
                 api::stateName(entry->status.state), entry->status.reason);
  }
}

// Image -> sandbox -> container -> start. Resumes where a previous attempt
// stopped (sandbox_id / container_id already set after recovery). Checks for
// cancellation between steps; stop()/remove() clean up what was made.
void WorkloadManager::runPipeline(const EntryPtr& entry) {
  std::lock_guard op(entry->op);
  const auto& identity = entry->identity;
  const auto& cls = identity.spec.runtime_class;
  const auto& id = identity.spec.id;
  std::string sandbox_id, container_id;
  {
    std::lock_guard lock(mutex_);
    if (entry->cancel || api::isTerminal(entry->status.state)) return;
    sandbox_id = entry->sandbox_id;
    container_id = entry->container_id;
  }
  ImageFacts image;  // set whenever the container is still to be made
  if (container_id.empty()) {
    // Also when resuming after a restart: the image may have been removed since.
    if (!enterPhase(entry, api::reason::kPulling, "pulling image " + identity.spec.image)) return;
    auto pulled = runtime_.ensureImage(cls, identity.spec.image);
    if (!pulled) {
      {
        std::lock_guard lock(mutex_);
        if (entry->cancel) return;  // stopped or removed meanwhile: that outcome stands
      }
      return setFailed(entry, api::reason::kErrImagePull, pulled.error().message);
    }
    image = *pulled;
  }
  // A sandbox made before an agent restart carries its user (labels); one
  // without (made by an older agent) gets one now, never the image's root.
  if (container_id.empty() && (sandbox_id.empty() || !identity.run_as_user) &&
      !settleUser(entry, image)) {
    return;
  }
  if (sandbox_id.empty()) {
    // Checked and set under one lock: once stop()/remove() saw kPulling and
    // cancelled, no sandbox is created.
    if (!enterPhase(entry, api::reason::kCreating, "creating the sandbox")) return;
    auto sandbox = runtime_.runSandbox(identity);
    if (!sandbox) return setFailed(entry, api::reason::kRunPodSandboxError, sandbox.error().message);
    sandbox_id = *sandbox;
    std::lock_guard lock(mutex_);
    entry->sandbox_id = sandbox_id;
    entry->status.sandbox_id = sandbox_id;
  }
  if (container_id.empty()) {
    if (!enterPhase(entry, api::reason::kCreating, "creating the container")) return;
    auto container = runtime_.createContainer(identity, sandbox_id);
    if (!container) {
      return setFailed(entry, api::reason::kCreateContainerError, container.error().message);
    }
    container_id = *container;
    std::lock_guard lock(mutex_);
    entry->container_id = container_id;
    entry->status.container_id = container_id;
  }
  {
    std::lock_guard lock(mutex_);
    if (entry->cancel) return;
  }
  auto detail = runtime_.inspectContainer(cls, container_id);
  if (detail && detail->state == ObjectState::kCreated) {
    if (auto s = runtime_.startContainer(cls, container_id); !s) {
      return setFailed(entry, "RunContainerError", s.error().message);
    }
    detail = runtime_.inspectContainer(cls, container_id);
  }
  if (!detail) {
    spdlog::warn("workload \"{}\": cannot inspect container: {}", id, detail.error().message);
    return;  // the next sweep retries
  }
  applyDetail(entry, *detail);
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

void WorkloadManager::uncancel(const EntryPtr& entry) {
  std::lock_guard lock(mutex_);
  entry->cancel = false;
}

void WorkloadManager::forget(const EntryPtr& entry) {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(entry->identity.spec.id);
  if (it != entries_.end() && it->second == entry) {
    entries_.erase(it);
    uids_.release(entry->identity.uid);
  }
}

bool WorkloadManager::cancelWhilePulling(const EntryPtr& entry) {
  std::unique_lock op(entry->op, std::try_to_lock);
  std::lock_guard lock(mutex_);
  entry->cancel = true;
  // A pull cannot be interrupted and may take minutes; a pipeline still in it
  // sees `cancel` before creating anything (enterPhase), so the caller need
  // not wait for it.
  return !op.owns_lock() && entry->sandbox_id.empty() &&
         entry->status.reason == api::reason::kPulling;
}

Result<api::WorkloadStatus> WorkloadManager::stop(const std::string& id, std::chrono::seconds grace) {
  auto found = existing(id);
  if (!found) return fail(found.error());
  const EntryPtr entry = *found;
  InFlight counted(*this);
  if (cancelWhilePulling(entry)) {
    setFailed(entry, api::reason::kStopped, "stopped while the image was being pulled");
    std::lock_guard lock(mutex_);
    return entry->status;
  }
  std::lock_guard op(entry->op);
  const auto [sandbox_id, container_id] = runtimeIds(entry);
  const auto& cls = entry->identity.spec.runtime_class;
  if (auto s = runtime_.stopWorkload(cls, sandbox_id, container_id, grace); !s) {
    uncancel(entry);
    return fail(s.error());
  }
  const bool was_terminal = [&] {
    std::lock_guard lock(mutex_);
    return api::isTerminal(entry->status.state);
  }();
  if (!was_terminal) {
    if (container_id.empty()) {
      setFailed(entry, api::reason::kStopped, "stopped before the container started");
    } else if (auto detail = runtime_.inspectContainer(cls, container_id); detail) {
      applyDetail(entry, *detail);
      std::lock_guard lock(mutex_);
      entry->status.reason = api::reason::kStopped;
      entry->status.message = "stopped on request";
    }
  }
  spdlog::info("workload \"{}\": stopped", id);
  std::lock_guard lock(mutex_);
  return entry->status;
}

Status WorkloadManager::remove(const std::string& id, std::chrono::seconds grace) {
  auto found = existing(id);
  if (!found) return fail(found.error());
  const EntryPtr entry = *found;
  InFlight counted(*this);
  if (cancelWhilePulling(entry)) {
    // Nothing exists in the runtime yet and the pipeline will create nothing.
    forget(entry);
    spdlog::info("workload \"{}\": removed while its image was being pulled", id);
    return ok();
  }
  std::lock_guard op(entry->op);
  const auto [sandbox_id, container_id] = runtimeIds(entry);
  const auto& cls = entry->identity.spec.runtime_class;
  auto removed = runtime_.stopWorkload(cls, sandbox_id, container_id, grace);
  if (removed) removed = runtime_.removeWorkload(entry->identity, sandbox_id);
  if (!removed) {
    uncancel(entry);  // the workload stays, and the sweep keeps reporting it
    return removed;
  }
  forget(entry);
  spdlog::info("workload \"{}\": removed (sandbox {})", id, sandbox_id.empty() ? "none" : sandbox_id);
  return ok();
}

}  // namespace zp::agent
