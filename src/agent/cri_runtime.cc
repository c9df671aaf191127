#include "agent/cri_runtime.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <system_error>
#include <thread>

#include "agent/cgroup_exit_hints.h"
#include "agent/cri_configs.h"
#include "api/validate.h"
#include "cri/event_feed.h"

namespace zp::agent {
namespace {

ObjectState fromSandboxState(cri::v1::PodSandboxState s) {
  return s == cri::v1::SANDBOX_READY ? ObjectState::kReady : ObjectState::kNotReady;
}

ObjectState fromContainerState(cri::v1::ContainerState s) {
  switch (s) {
    case cri::v1::CONTAINER_CREATED: return ObjectState::kCreated;
    case cri::v1::CONTAINER_RUNNING: return ObjectState::kRunning;
    case cri::v1::CONTAINER_EXITED: return ObjectState::kExited;
    default: return ObjectState::kUnknown;
  }
}

// How long a sweep waits for an unreachable runtime before reporting it so.
constexpr std::chrono::milliseconds kReadyWait{1000};

template <typename Filter>
void selectNode(Filter& filter, const std::string& node_id) {
  for (const auto& [k, v] : nodeLabels(node_id)) (*filter.mutable_label_selector())[k] = v;
}

// The objects of the identity's owner: this node's workloads, or its probes of
// the identity's class.
template <typename Filter>
void selectOwner(Filter& filter, const WorkloadIdentity& identity, const std::string& node_id) {
  for (const auto& [k, v] : ownerLabels(identity, node_id)) {
    (*filter.mutable_label_selector())[k] = v;
  }
}

}  // namespace

Result<std::unique_ptr<CriRuntime>> CriRuntime::create(const AgentConfig& config,
                                                       cri::ClientOptions options) {
  const cri::ExitRelist exit_relist{effectiveExitRelist(config),
                                    std::chrono::milliseconds(config.status_interval_ms)};
  if (config.exit_relist_interval_ms > 0 && !exit_relist.on()) {
    spdlog::warn(
        "exit_relist_interval_ms ({}) is not below status_interval_ms ({}): no exit relist; "
        "exits are seen by the sweep",
        config.exit_relist_interval_ms, config.status_interval_ms);
  }
  std::unique_ptr<CriRuntime> runtime(
      new CriRuntime(config.node_id, config.data_dir, exit_relist, config.exit_hints));
  for (const auto& [name, rc] : config.runtime_classes) {
    auto& client = runtime->clients_[rc.endpoint];
    if (!client) {
      auto created = cri::Client::create(rc.endpoint, options);
      if (!created) {
        return fail(created.error().code, "runtime class \"" + name + "\": " + created.error().message);
      }
      client = std::move(*created);
      runtime->class_of_endpoint_[rc.endpoint] = name;
    }
    PodCgroups* cgroups = &runtime->no_cgroups_;
    if (rc.pod_cgroup == PodCgroupMode::kCgroupfs) {
      if (!runtime->cgroupfs_) {
        auto tree = CgroupfsPodCgroups::create(config.node_id);
        if (!tree) {
          return fail(tree.error().code,
                      "runtime class \"" + name +
                          "\" (pod_cgroup = \"cgroupfs\"): " + tree.error().message +
                          "; for a runtime that bounds its own zones set pod_cgroup = \"none\"");
        }
        runtime->cgroupfs_ = std::move(*tree);
      }
      cgroups = runtime->cgroupfs_.get();
    }
    spdlog::info("runtime class \"{}\": pids limit: {}", name, cgroups->describe());
    runtime->classes_[name] = ClassBinding{client.get(), rc.handler, cgroups};
  }
  return runtime;
}

CriRuntime::~CriRuntime() {
  if (cgroupfs_) cgroupfs_->removeNodeDirectoryIfMadeAndEmpty();
}

Result<CriRuntime::ClassBinding> CriRuntime::binding(std::string_view runtime_class) const {
  const auto it = classes_.find(runtime_class);
  if (it == classes_.end()) {
    return fail(Code::kInvalidArgument,
                "runtime class \"" + std::string(runtime_class) + "\" is not offered by this node",
                "runtime_class");
  }
  return it->second;
}

std::string CriRuntime::handlerFor(std::string_view runtime_class) const {
  const auto it = classes_.find(runtime_class);
  return it == classes_.end() ? std::string{} : it->second.handler;
}

std::string CriRuntime::logDirectory(const WorkloadIdentity& identity) const {
  // Probes log apart: a workload's id never names a probe's directory.
  return data_dir_ + (identity.probe ? "/probes/" : "/logs/") + identity.spec.id + "_" +
         identity.uid;
}

std::string CriRuntime::logPath(const WorkloadIdentity& identity, unsigned attempt) const {
  return logDirectory(identity) + "/" + containerLogName(attempt);
}

void CriRuntime::warnAboutGaps() const {
  for (const auto& [name, b] : classes_) {
    auto status = b.client->runtimeStatus();
    if (!status || status->features().supplemental_groups_policy()) continue;
    spdlog::warn(
        "runtime class \"{}\": the runtime does not support the Strict supplemental groups "
        "policy, so it adds the groups the image's /etc/group gives the container's user; a "
        "workload whose user comes from its spec or image may get them (gid 0 included). "
        "Users the node allocates are in no image group.",
        name);
  }
}

Status CriRuntime::ping() const {
  for (const auto& [name, b] : classes_) {
    if (auto s = b.client->ping(); !s) {
      return fail(s.error().code, "runtime class \"" + name + "\" (" + b.client->endpoint() +
                                      "): " + s.error().message);
    }
  }
  return ok();
}

namespace {
ImageFacts factsOf(const cri::v1::Image& image) {
  ImageFacts facts;
  if (image.has_uid()) facts.uid = image.uid().value();
  facts.username = image.username();
  return facts;
}

// A call that failed before it reached the runtime (unknown class): `done`
// has been called already, so there is nothing to cancel.
class CompletedCall final : public PendingCall {
 public:
  void cancel() override {}
};

std::shared_ptr<PendingCall> failNow(const Error& error, const std::function<void(Status)>& done) {
  done(fail(error));
  return std::make_shared<CompletedCall>();
}

}  // namespace

Result<std::optional<ImageFacts>> CriRuntime::imageStatus(std::string_view runtime_class,
                                                          std::string_view image) {
  auto b = binding(runtime_class);
  if (!b) return fail(b.error());
  cri::v1::ImageSpec spec;
  spec.set_image(std::string(image));
  auto present = b->client->imageStatus(spec);
  if (!present) return fail(present.error());
  if (!*present) return std::optional<ImageFacts>();
  return std::optional<ImageFacts>(factsOf(**present));
}

std::shared_ptr<PendingCall> CriRuntime::pullImage(std::string_view runtime_class,
                                                   std::string_view image,
                                                   std::chrono::milliseconds timeout,
                                                   std::function<void(Status)> done) {
  auto b = binding(runtime_class);
  if (!b) return failNow(b.error(), done);
  spdlog::info("pulling image \"{}\" for class \"{}\"", image, runtime_class);
  cri::v1::PullImageRequest request;
  request.mutable_image()->set_image(std::string(image));
  return b->client->pullImageAsync(request, {.timeout = timeout},
                                   [done = std::move(done)](Result<std::string> pulled) {
                                     if (!pulled) return done(fail(std::move(pulled.error())));
                                     done(ok());
                                   });
}

Result<std::string> CriRuntime::runSandbox(const WorkloadIdentity& identity) {
  auto b = binding(identity.spec.runtime_class);
  if (!b) return fail(b.error());
  const auto dir = logDirectory(identity);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail(Code::kInternal, "cannot create log directory " + dir + ": " + ec.message());
  if (auto s = b->cgroups->prepare(identity); !s) return fail(s.error());
  return b->client->runPodSandbox(
      sandboxConfig(identity, node_id_, dir, b->cgroups->placement(identity)), b->handler);
}

Result<std::optional<std::string>> CriRuntime::findSandbox(const WorkloadIdentity& identity) {
  auto b = binding(identity.spec.runtime_class);
  if (!b) return fail(b.error());
  cri::v1::PodSandboxFilter filter;
  selectOwner(filter, identity, node_id_);
  (*filter.mutable_label_selector())[std::string(kLabelUid)] = identity.uid;
  auto listed = b->client->listPodSandbox(filter);
  if (!listed) return fail(listed.error());
  for (const auto& sb : *listed) {
    if (sb.metadata().attempt() != identity.attempt) continue;
    if (sb.state() == cri::v1::SANDBOX_READY) return std::optional<std::string>(sb.id());
    // Not ready: its start was cut short (the runtime went away during
    // RunPodSandbox and came back without its pause task). No container can
    // run in it, and it holds the name a new RunPodSandbox needs: remove it
    // the one way a sandbox is removed (network, then the sandbox, then the
    // submission's logs and pod cgroup once none of its sandboxes is left),
    // so the caller runs a new one, which prepares them again.
    spdlog::warn("workload \"{}\": removing sandbox {}, left not ready by an interrupted start",
                 identity.spec.id, sb.id());
    if (auto s = removeWorkload(identity, sb.id()); !s) return fail(s.error());
  }
  return std::optional<std::string>();
}

Result<std::optional<std::string>> CriRuntime::findContainer(std::string_view runtime_class,
                                                             std::string_view sandbox_id,
                                                             unsigned attempt) {
  auto b = binding(runtime_class);
  if (!b) return fail(b.error());
  cri::v1::ContainerFilter filter;
  selectNode(filter, node_id_);
  filter.set_pod_sandbox_id(std::string(sandbox_id));
  auto listed = b->client->listContainers(filter);
  if (!listed) return fail(listed.error());
  for (const auto& c : *listed) {
    if (c.metadata().attempt() == attempt) return std::optional<std::string>(c.id());
  }
  return std::optional<std::string>();
}

Status CriRuntime::removeContainer(const WorkloadIdentity& identity,
                                   std::string_view container_id, unsigned attempt) {
  auto b = binding(identity.spec.runtime_class);
  if (!b) return fail(b.error());
  const auto remove = [&] { return b->client->removeContainer(container_id); };
  const auto just_it = [&] { return std::vector<std::string>{std::string(container_id)}; };
  if (auto s = removeKillingLeftovers(*b, identity, just_it, remove);
      !s && s.error().code != Code::kNotFound) {
    return s;
  }
  std::error_code ec;
  std::filesystem::remove(logPath(identity, attempt), ec);
  if (ec) {
    spdlog::warn("workload \"{}\": cannot remove the log of attempt {}: {}", identity.spec.id,
                 attempt, ec.message());
  }
  return ok();
}

Result<std::string> CriRuntime::createContainer(const WorkloadIdentity& identity,
                                                std::string_view sandbox_id, unsigned attempt) {
  auto b = binding(identity.spec.runtime_class);
  if (!b) return fail(b.error());
  // The sandbox config is sent again: runtimes take the container's cgroup
  // parent from it, so it must be the one the sandbox ran with. The pod
  // cgroup is made sure of too (idempotent): a sandbox resumed after a
  // restart may predate it.
  if (auto s = b->cgroups->prepare(identity); !s) return fail(s.error());
  const auto placement = b->cgroups->placement(identity);
  return b->client->createContainer(
      sandbox_id, containerConfig(identity, node_id_, placement, attempt),
      sandboxConfig(identity, node_id_, logDirectory(identity), placement));
}

Status CriRuntime::startContainer(std::string_view runtime_class, std::string_view container_id) {
  auto b = binding(runtime_class);
  if (!b) return fail(b.error());
  return b->client->startContainer(container_id);
}

Result<ContainerDetail> CriRuntime::inspectContainer(std::string_view runtime_class,
                                                     std::string_view container_id) {
  auto b = binding(runtime_class);
  if (!b) return fail(b.error());
  auto response = b->client->containerStatus(container_id);
  if (!response) return fail(response.error());
  const auto& s = response->status();
  ContainerDetail d;
  d.state = fromContainerState(s.state());
  if (d.state == ObjectState::kExited) d.exit_code = s.exit_code();
  d.reason = s.reason();
  d.message = s.message();
  d.started_at = fromUnixNanos(s.started_at());
  d.finished_at = fromUnixNanos(s.finished_at());
  return d;
}

std::shared_ptr<PendingCall> CriRuntime::stopContainer(std::string_view runtime_class,
                                                       std::string_view container_id,
                                                       std::chrono::seconds grace,
                                                       std::function<void(Status)> done) {
  auto b = binding(runtime_class);
  if (!b) return failNow(b.error(), done);
  return b->client->stopContainerAsync(container_id, grace, {},
                                       [done = std::move(done)](Status stopped) {
                                         if (!stopped && stopped.error().code == Code::kNotFound) {
                                           return done(ok());
                                         }
                                         done(std::move(stopped));
                                       });
}

Status CriRuntime::stopSandbox(std::string_view runtime_class, std::string_view sandbox_id) {
  auto b = binding(runtime_class);
  if (!b) return fail(b.error());
  auto s = b->client->stopPodSandbox(sandbox_id);
  if (!s && s.error().code != Code::kNotFound) return s;
  return ok();
}

std::shared_ptr<PendingCall> CriRuntime::waitReady(std::string_view runtime_class,
                                                   std::chrono::milliseconds timeout,
                                                   std::function<void(Status)> done) {
  auto b = binding(runtime_class);
  if (!b) return failNow(b.error(), done);
  // A channel whose socket went away retries on a backoff that grows to
  // seconds; a call that waits for readiness makes it connect at once.
  b->client->resetConnectBackoff();
  return b->client->waitReady({.timeout = timeout}, std::move(done));
}

namespace {

// containerd refusing to delete a container whose task still exists.
bool stillHasATask(const Error& error) {
  return error.message.find("cannot delete running task") != std::string::npos;
}

}  // namespace

Status CriRuntime::removeKillingLeftovers(
    const ClassBinding& b, const WorkloadIdentity& identity,
    const std::function<std::vector<std::string>()>& containers,
    const std::function<Status()>& remove) const {
  Status removed = remove();
  if (removed || !stillHasATask(removed.error())) return removed;
  std::size_t killed = 0;
  for (const auto& id : containers()) killed += b.cgroups->killContainer(identity, id);
  if (killed == 0) return removed;  // nothing of ours to end: the runtime's answer stands
  spdlog::warn("workload \"{}\": the runtime kept the task of a stopped container ({}); its {} "
               "process(es) were killed, removing again",
               identity.spec.id, removed.error().message, killed);
  using namespace std::chrono_literals;
  for (int i = 0; i < 10; ++i) {
    std::this_thread::sleep_for(100ms);  // the runtime deletes the task once it sees the exit
    removed = remove();
    if (removed || !stillHasATask(removed.error())) break;
  }
  return removed;
}

Status CriRuntime::removeWorkload(const WorkloadIdentity& identity, std::string_view sandbox_id) {
  auto b = binding(identity.spec.runtime_class);
  if (!b) return fail(b.error());
  if (!sandbox_id.empty()) {
    // StopPodSandbox first: it releases the network namespace and IP.
    if (auto s = b->client->stopPodSandbox(sandbox_id); !s && s.error().code != Code::kNotFound) {
      return s;
    }
    const auto remove = [&] { return b->client->removePodSandbox(sandbox_id); };
    const auto containers = [&] {
      cri::v1::ContainerFilter in_sandbox;
      in_sandbox.set_pod_sandbox_id(std::string(sandbox_id));
      std::vector<std::string> ids;
      if (auto listed = b->client->listContainers(in_sandbox)) {
        for (const auto& c : *listed) ids.push_back(c.id());
      }
      return ids;
    };
    if (auto s = removeKillingLeftovers(*b, identity, containers, remove);
        !s && s.error().code != Code::kNotFound) {
      return s;
    }
  }
  // The log directory belongs to the submission (uid), which other attempts'
  // sandboxes (a duplicate removed by recovery) share: keep it while any is left.
  // A probe sandbox whose uid could not be read names no directory or cgroup.
  if (!isValidSubmissionUid(identity.uid)) return ok();
  cri::v1::PodSandboxFilter same_submission;
  selectOwner(same_submission, identity, node_id_);
  (*same_submission.mutable_label_selector())[std::string(kLabelUid)] = identity.uid;
  auto left = b->client->listPodSandbox(same_submission);
  if (!left) return fail(left.error());
  if (!left->empty()) return ok();
  std::error_code ec;
  std::filesystem::remove_all(logDirectory(identity), ec);
  if (ec) spdlog::warn("workload \"{}\": cannot remove logs: {}", identity.spec.id, ec.message());
  // What is left is pruned when the agent next starts.
  if (auto s = b->cgroups->release(identity); !s) {
    spdlog::warn("workload \"{}\": {}", identity.spec.id, s.error().message);
  }
  return ok();
}

Status CriRuntime::pruneHostState(const Snapshot& snapshot) {
  if (!cgroupfs_) return ok();
  std::set<std::string> live;
  for (const auto& sb : snapshot.sandboxes) live.insert(sb.uid);
  return cgroupfs_->pruneExcept(live);
}

Result<Snapshot> CriRuntime::list(bool with_sandboxes) {
  Snapshot snap;
  std::lock_guard identities_lock(identities_mutex_);
  std::map<std::string, std::optional<WorkloadIdentity>> identities;
  for (const auto& [endpoint, client] : clients_) {
    const std::string& cls = class_of_endpoint_.at(endpoint);
    // Readiness first, briefly: a runtime that is down is reported as such
    // within a second (and the channel reconnects at once when it is back),
    // while the listings keep their full deadline for a busy runtime.
    client->resetConnectBackoff();
    if (auto ready = client->ping({.timeout = kReadyWait, .wait_for_ready = true}); !ready) {
      if (ready.error().code == Code::kDeadlineExceeded) {
        return fail(Code::kUnavailable, "runtime class \"" + cls + "\" (" + endpoint +
                                            ") did not answer within " +
                                            std::to_string(kReadyWait.count()) + " ms");
      }
      return fail(ready.error().code, "runtime class \"" + cls + "\" (" + endpoint +
                                          ") is not reachable: " + ready.error().message);
    }
    std::vector<cri::v1::PodSandbox> sandboxes;
    if (with_sandboxes) {
      cri::v1::PodSandboxFilter sandbox_filter;
      selectNode(sandbox_filter, node_id_);
      auto listed = client->listPodSandbox(sandbox_filter);
      if (!listed) return fail(listed.error());
      sandboxes = std::move(*listed);
    }
    cri::v1::ContainerFilter container_filter;
    selectNode(container_filter, node_id_);
    auto containers = client->listContainers(container_filter);
    if (!containers) return fail(containers.error());
    for (const auto& sb : sandboxes) {
      SandboxObservation o;
      o.sandbox_id = sb.id();
      o.workload_id = sb.metadata().name();
      const auto uid = sb.labels().find(std::string(kLabelUid));
      o.uid = uid == sb.labels().end() ? std::string{} : uid->second;
      if (const auto known = identities_.find(sb.id()); known != identities_.end()) {
        o.identity = known->second;
      } else {
        o.identity = identityFromSandbox(sb);
      }
      identities[sb.id()] = o.identity;
      o.runtime_class = o.identity ? o.identity->spec.runtime_class : cls;
      o.runtime_handler = sb.runtime_handler();
      o.state = fromSandboxState(sb.state());
      o.created_at = fromUnixNanos(sb.created_at()).value_or(TimePoint{});
      snap.sandboxes.push_back(std::move(o));
    }
    for (const auto& c : *containers) {
      ContainerObservation o;
      o.container_id = c.id();
      o.sandbox_id = c.pod_sandbox_id();
      const auto label = c.labels().find(std::string(kLabelWorkloadId));
      o.workload_id = label == c.labels().end() ? std::string{} : label->second;
      o.state = fromContainerState(c.state());
      o.attempt = c.metadata().attempt();
      snap.containers.push_back(std::move(o));
    }
  }
  // The cache follows the sandboxes a full listing saw.
  if (with_sandboxes) identities_ = std::move(identities);
  return snap;
}

namespace {

// The event feed (or its exit relist), and the pod cgroups' exit hints when
// the node has them; destroying it stops both.
class FeedWatch final : public ContainerWatch {
 public:
  FeedWatch(std::vector<cri::ContainerEventFeed::Source> sources,
            std::function<void(ContainerNews)> changed, cri::ExitRelist relist)
      : feed_(
            std::move(sources),
            [changed = std::move(changed)](cri::FeedReport report) {
              changed(report == cri::FeedReport::kEvent ? ContainerNews::kEvent
                                                        : ContainerNews::kListing);
            },
            {}, relist) {}

  void addHints(std::unique_ptr<CgroupExitHints> hints) { hints_ = std::move(hints); }

 private:
  cri::ContainerEventFeed feed_;
  std::unique_ptr<CgroupExitHints> hints_;
};

}  // namespace

std::unique_ptr<ContainerWatch> CriRuntime::watchContainers(
    std::function<void(ContainerNews)> changed) {
  std::vector<cri::ContainerEventFeed::Source> sources;
  for (const auto& [endpoint, client] : clients_) {
    cri::v1::ContainerFilter containers;
    selectNode(containers, node_id_);
    sources.push_back(
        {"runtime class \"" + class_of_endpoint_.at(endpoint) + "\" (" + endpoint + ")",
         client.get(), std::move(containers)});
  }
  auto watch = std::make_unique<FeedWatch>(std::move(sources), changed, exit_relist_);
  if (cgroupfs_ && exit_hints_) {
    auto hints = startExitHints(std::move(changed));
    if (hints) {
      watch->addHints(std::move(*hints));
    } else {
      spdlog::warn(
          "no exit hints from the pod cgroups ({}); exits are seen by the relist and "
          "the sweep",
          hints.error().message);
    }
  }
  return watch;
}

Result<std::unique_ptr<CgroupExitHints>> CriRuntime::startExitHints(
    std::function<void(ContainerNews)> changed) {
  auto dir = cgroupfs_->nodeDirectory();
  if (!dir) return fail(dir.error());
  return CgroupExitHints::start(
      *dir, [this](const std::string& id) { return hintedContainer(id); },
      [changed = std::move(changed)] { changed(ContainerNews::kListing); });
}

HintedContainer CriRuntime::hintedContainer(const std::string& container_id) const {
  // Quick: the hints' thread asks again a few ms later.
  constexpr cri::CallOptions kCall{.timeout = std::chrono::milliseconds(200),
                                   .observed_as = "ContainerStatus/hint"};
  bool unsure = false;
  std::set<const cri::Client*> asked;  // classes may share an endpoint
  for (const auto& [name, b] : classes_) {
    if (b.cgroups != cgroupfs_.get() || !asked.insert(b.client).second) continue;
    auto status = b.client->containerStatus(container_id, kCall);
    if (status) {
      return status->status().state() == cri::v1::CONTAINER_EXITED ? HintedContainer::kEnded
                                                                   : HintedContainer::kNotYet;
    }
    if (status.error().code != Code::kNotFound) unsure = true;
  }
  return unsure ? HintedContainer::kNotYet : HintedContainer::kUnknown;
}

Result<std::vector<ProbeSandboxObservation>> CriRuntime::probeSandboxes() {
  std::vector<ProbeSandboxObservation> found;
  for (const auto& [endpoint, client] : clients_) {
    // Exact-match selectors only: list the node's objects, keep the probes'.
    cri::v1::PodSandboxFilter filter;
    (*filter.mutable_label_selector())[std::string(kLabelNodeId)] = node_id_;
    auto sandboxes = client->listPodSandbox(filter);
    if (!sandboxes) {
      return fail(sandboxes.error().code, "runtime class \"" + class_of_endpoint_.at(endpoint) +
                                              "\" (" + endpoint +
                                              "): " + sandboxes.error().message);
    }
    for (const auto& sb : *sandboxes) {
      const auto probe = sb.labels().find(std::string(kLabelProbe));
      if (probe == sb.labels().end() || sb.labels().contains(std::string(kLabelManaged))) continue;
      ProbeSandboxObservation o;
      o.sandbox_id = sb.id();
      o.identity.probe = true;
      o.identity.spec.id = sb.metadata().name();
      // Removed through the class named by the label when this node offers
      // it on this endpoint, else through the endpoint's first class.
      const auto named = classes_.find(probe->second);
      o.identity.spec.runtime_class =
          named != classes_.end() && named->second.client == client.get()
              ? probe->second
              : class_of_endpoint_.at(endpoint);
      // The name and uid name a host directory: only well-formed ones.
      if (api::isDns1123Label(sb.metadata().name()) && isValidSubmissionUid(sb.metadata().uid())) {
        o.identity.uid = sb.metadata().uid();
      }
      found.push_back(std::move(o));
    }
  }
  return found;
}

}  // namespace zp::agent
