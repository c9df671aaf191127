#pragma once
// CriRuntime: the Runtime over CRI v1 endpoints. Owns one cri::Client per
// distinct endpoint (classes may share one) and maps each runtime class to
// its endpoint and handler, and each class to the way its pods get their pids
// limit (PodCgroups; one cgroupfs tree per node, shared by the classes that
// use it). Stateless beyond that: the CRI runtime is the source of truth.
// Thread-safe (clients and PodCgroups are), blocking: call from workers.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "agent/cgroup_exit_hints.h"
#include "agent/config.h"
#include "agent/pod_cgroups.h"
#include "agent/runtime.h"
#include "cri/client.h"
#include "cri/event_feed.h"

namespace zp::agent {

class CriRuntime final : public Runtime {
 public:
  // Creates clients for every class of `config` (does not connect), and the
  // pod cgroup tree when a class uses pod_cgroup = "cgroupfs" (an error when
  // the host offers no pids controller).
  static Result<std::unique_ptr<CriRuntime>> create(const AgentConfig& config,
                                                    cri::ClientOptions options = {});

  Result<std::optional<ImageFacts>> imageStatus(std::string_view runtime_class,
                                                std::string_view image) override;
  std::shared_ptr<PendingCall> pullImage(std::string_view runtime_class, std::string_view image,
                                         std::chrono::milliseconds timeout,
                                         std::function<void(Status)> done) override;
  Result<std::string> runSandbox(const WorkloadIdentity& identity) override;
  Result<std::optional<std::string>> findSandbox(const WorkloadIdentity& identity) override;
  Result<std::string> createContainer(const WorkloadIdentity& identity,
                                      std::string_view sandbox_id, unsigned attempt) override;
  Result<std::optional<std::string>> findContainer(std::string_view runtime_class,
                                                   std::string_view sandbox_id,
                                                   unsigned attempt) override;
  Status removeContainer(const WorkloadIdentity& identity, std::string_view container_id,
                         unsigned attempt) override;
  Status startContainer(std::string_view runtime_class, std::string_view container_id) override;
  Result<ContainerDetail> inspectContainer(std::string_view runtime_class,
                                           std::string_view container_id) override;
  std::shared_ptr<PendingCall> stopContainer(std::string_view runtime_class,
                                             std::string_view container_id,
                                             std::chrono::seconds grace,
                                             std::function<void(Status)> done) override;
  // (cri_runtime_exec.cc)
  std::shared_ptr<PendingCall> execSync(std::string_view runtime_class,
                                        std::string_view container_id,
                                        std::vector<std::string> command,
                                        std::chrono::milliseconds timeout,
                                        std::function<void(Result<ExecOutput>)> done) override;
  Status stopSandbox(std::string_view runtime_class, std::string_view sandbox_id) override;
  Status removeWorkload(const WorkloadIdentity& identity, std::string_view sandbox_id) override;
  Result<Snapshot> snapshot() override { return list(/*sandboxes=*/true); }
  Result<Snapshot> containerSnapshot() override { return list(/*sandboxes=*/false); }
  // One cri::ContainerEventFeed over every endpoint; a runtime without
  // events gets the exit relist (exit_relist_interval_ms, waiting at most
  // status_interval_ms). With pod cgroups (and exit_hints on) also the
  // CgroupExitHints of the node's pods; if they cannot start, a warning and
  // the rest still runs.
  std::unique_ptr<ContainerWatch> watchContainers(
      std::function<void(ContainerNews)> changed) override;
  Result<std::vector<ProbeSandboxObservation>> probeSandboxes() override;
  std::shared_ptr<PendingCall> waitReady(std::string_view runtime_class,
                                         std::chrono::milliseconds timeout,
                                         std::function<void(Status)> done) override;
  std::string logPath(const WorkloadIdentity& identity, unsigned attempt = 0) const override;
  std::string handlerFor(std::string_view runtime_class) const override;
  Status pruneHostState(const Snapshot& snapshot) override;

  // Removes the node's pod-cgroup directory if watchContainers() made it and
  // no pod is left in it.
  ~CriRuntime() override;

  // Checks every endpoint answers Version; the error names the class.
  Status ping() const;
  // Logs a warning for each class whose runtime lacks something the posture
  // relies on (today: the Strict supplemental groups policy, which keeps the
  // image's /etc/group out of the container's groups). Best effort: a runtime
  // that does not answer is skipped. Blocking.
  void warnAboutGaps() const;

 private:
  struct ClassBinding {
    const cri::Client* client;
    std::string handler;
    PodCgroups* cgroups;  // cgroupfs_ or &no_cgroups_
  };
  // snapshot() and containerSnapshot().
  Result<Snapshot> list(bool sandboxes);
  CriRuntime(std::string node_id, std::string data_dir, cri::ExitRelist exit_relist,
             bool exit_hints)
      : node_id_(std::move(node_id)),
        data_dir_(std::move(data_dir)),
        exit_relist_(exit_relist),
        exit_hints_(exit_hints) {}
  // The hints of watchContainers(); needs cgroupfs_.
  Result<std::unique_ptr<CgroupExitHints>> startExitHints(
      std::function<void(ContainerNews)> changed);
  // What the runtimes of the pod-cgroup classes say of a hinted container.
  HintedContainer hintedContainer(const std::string& container_id) const;
  Result<ClassBinding> binding(std::string_view runtime_class) const;
  // Runs `remove` (a CRI removal of something already stopped). When the
  // runtime refuses it because a container's task still exists (containerd
  // 1.6 keeps the task of a start a restart cut short, which it never recorded
  // as started, so stopping does not end it: "cannot delete running task"),
  // kills what is left in the cgroups of the containers `containers()` lists
  // (asked only then; the pod's, by id; see
  // PodCgroups::killContainer, which waits up to 1 s for each to empty) and
  // tries again while the runtime takes in their exit (up to 1 s more).
  // Otherwise `remove`'s answer, unchanged. Blocks its thread meanwhile: a
  // rare path (a start cut short), bounded, on the caller's worker.
  Status removeKillingLeftovers(const ClassBinding& b, const WorkloadIdentity& identity,
                                const std::function<std::vector<std::string>()>& containers,
                                const std::function<Status()>& remove) const;
  std::string logDirectory(const WorkloadIdentity& identity) const;

  std::string node_id_;
  std::string data_dir_;
  cri::ExitRelist exit_relist_;
  bool exit_hints_;
  std::map<std::string, std::unique_ptr<cri::Client>> clients_;  // by endpoint
  std::map<std::string, ClassBinding, std::less<>> classes_;     // by class name
  std::map<std::string, std::string> class_of_endpoint_;         // first class per endpoint
  std::unique_ptr<CgroupfsPodCgroups> cgroupfs_;                 // null when no class uses it
  NoPodCgroups no_cgroups_;
  // The identity read from each listed sandbox, by sandbox id: a sandbox's
  // labels and annotations never change, so a sweep parses each spec once,
  // not every status interval. Pruned to what the last full listing held.
  std::mutex identities_mutex_;
  std::map<std::string, std::optional<WorkloadIdentity>> identities_;
};

}  // namespace zp::agent
