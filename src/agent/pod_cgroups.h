#pragma once
// PodCgroups: the seam through which every workload's pod gets its pids limit.
//
// The CRI v1 API has no pids field in LinuxContainerResources, so the agent
// does what the kubelet does for its pod-level limits: it creates a cgroup for
// the pod, sets its pids.max to `security.pids_limit`, and hands it to the
// runtime as the sandbox's `cgroup_parent`. The runtime puts the sandbox
// (pause) and every container of the pod below it, so the whole pod is bounded.
// On cgroup v2 hosts the container additionally gets `pids.max` through
// LinuxContainerResources.unified, so `pids.max` inside the container shows
// it; on cgroup v1 the container's own pids.max reads "max" and the limit is
// enforced by the pod's cgroup above it (forks fail with EAGAIN past it).
//
// Implementations:
//   CgroupfsPodCgroups  containerd/CRI-O with the cgroupfs driver on this host:
//                       pods live at /zoneplane/<node-id>/pod<uid>.
//   NoPodCgroups        runtimes that size their own zone (VM-based ones): no
//                       cgroup_parent, no pids limit from the agent.
//
// Threading: all methods are thread-safe; distinct pods touch distinct
// directories, and creating shared ancestors tolerates races.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "agent/runtime.h"
#include "common/status.h"

namespace zp::agent {

// How a workload's pod is placed and bounded, as the CRI configs carry it.
struct PodPlacement {
  std::string cgroup_parent;  // LinuxPodSandboxConfig.cgroup_parent; "" = the runtime's default
  bool unified_pids =
      false;  // also send "pids.max" in the container's resources.unified (cgroup v2)

  bool operator==(const PodPlacement&) const = default;
};

class PodCgroups {
 public:
  virtual ~PodCgroups() = default;
  // Where the workload's pod goes. Pure: the same identity always gives the
  // same placement (CreateContainer after an agent restart relies on it).
  virtual PodPlacement placement(const WorkloadIdentity& identity) const = 0;
  // Creates the pod's cgroup with its pids limit, before RunPodSandbox.
  // Idempotent (an existing cgroup gets the limit written again).
  virtual Status prepare(const WorkloadIdentity& identity) = 0;
  // Removes the pod's cgroup, once no sandbox of the submission is left.
  // Processes the runtime left in it (a `runc init` whose start a runtime
  // restart cut short) are killed first: the cgroup is the agent's and no
  // sandbox uses it. Idempotent; an error names what could not be removed.
  virtual Status release(const WorkloadIdentity& identity) = 0;
  // Removes the pod cgroups of this node whose submission uid is not in
  // `live_uids` (left by a crash), killing what is left in them as release()
  // does. Call only while no pod is being created.
  virtual Status pruneExcept(const std::set<std::string>& live_uids) = 0;
  // Kills every process in the cgroup of the pod's container `container_id`
  // (the runtime's <pod cgroup>/<container id>), as release() does, and
  // returns how many there were. For a container the runtime was told to stop
  // or remove yet lost track of: a task whose start a runtime restart cut
  // short, which containerd 1.6 keeps and then refuses to delete. Nothing
  // else of the pod is touched; an id that is not plain hex kills nothing.
  virtual std::size_t killContainer(const WorkloadIdentity& identity,
                                    std::string_view container_id) = 0;
  // One line for the log: the mechanism and where it lives.
  virtual std::string describe() const = 0;
};

// The name of a pod's cgroup below the node's is this and the submission uid.
inline constexpr std::string_view kPodCgroupPrefix = "pod";

// Runtimes that bound their own zones: nothing to create, nothing to send.
class NoPodCgroups final : public PodCgroups {
 public:
  PodPlacement placement(const WorkloadIdentity&) const override { return {}; }
  Status prepare(const WorkloadIdentity&) override { return ok(); }
  Status release(const WorkloadIdentity&) override { return ok(); }
  Status pruneExcept(const std::set<std::string>&) override { return ok(); }
  std::size_t killContainer(const WorkloadIdentity&, std::string_view) override { return 0; }
  std::string describe() const override;
};

// Pod cgroups on a cgroupfs hierarchy mounted at `mount_root`.
class CgroupfsPodCgroups final : public PodCgroups {
 public:
  enum class Layout { kV1, kV2 };
  // The cgroup path (relative to a hierarchy's root) below which this node's
  // pods live: "/zoneplane/<node_id>".
  static std::string nodePath(const std::string& node_id);

  // Detects the layout: cgroup v2 when `mount_root`/cgroup.controllers lists
  // "pids"; v1 when `mount_root`/pids is a pids hierarchy (hybrid hosts
  // included). kFailedPrecondition when neither offers a pids controller.
  static Result<std::unique_ptr<CgroupfsPodCgroups>> create(
      const std::string& node_id, std::filesystem::path mount_root = "/sys/fs/cgroup");

  PodPlacement placement(const WorkloadIdentity& identity) const override;
  Status prepare(const WorkloadIdentity& identity) override;
  Status release(const WorkloadIdentity& identity) override;
  Status pruneExcept(const std::set<std::string>& live_uids) override;
  std::size_t killContainer(const WorkloadIdentity& identity,
                            std::string_view container_id) override;
  std::string describe() const override;

  Layout layout() const { return layout_; }
  // The directory whose pids.max bounds the pod (in the pids hierarchy).
  std::filesystem::path podDirectory(const WorkloadIdentity& identity) const;
  // The directory of this node's pods in the pids hierarchy, created (with
  // its ancestors enabled for pids on v2) if missing: what CgroupExitHints
  // watches. Not thread-safe: call before any pod is prepared.
  Result<std::filesystem::path> nodeDirectory();
  // If nodeDirectory() created the node's directory, removes it from every
  // hierarchy where it is empty (no pod left); one that still holds pods
  // stays, and one that was there before is left alone (another process of
  // the node may use it). For the agent's exit.
  void removeNodeDirectoryIfMadeAndEmpty() const;

 private:
  CgroupfsPodCgroups(std::string node_id, std::filesystem::path mount_root, Layout layout)
      : node_id_(std::move(node_id)), mount_root_(std::move(mount_root)), layout_(layout) {}
  // Every hierarchy root the runtime may have created the pod's cgroup in:
  // v2: the mount root; v1: each hierarchy directory below it.
  std::vector<std::filesystem::path> hierarchies() const;
  std::filesystem::path pidsHierarchy() const;
  // Creates `dir` in the pids hierarchy; on v2 every ancestor from the
  // mount root down enables pids for its children. `what` names it in errors.
  Status makeDirectory(const std::filesystem::path& dir, std::string_view what) const;

  std::string node_id_;
  std::filesystem::path mount_root_;
  Layout layout_;
  bool made_node_directory_ = false;  // by nodeDirectory()
};

// Removes this node's whole cgroup subtree (/zoneplane/<node_id>) from every
// hierarchy under `mount_root`; for tests and tools that tear a node down
// without its agent. Errors name what is left.
Status removeNodeCgroups(const std::string& node_id,
                         const std::filesystem::path& mount_root = "/sys/fs/cgroup");

}  // namespace zp::agent
