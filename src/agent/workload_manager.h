#pragma once
// WorkloadManager: the agent's registry of workloads and every operation on
// them. It owns the registry; it uses (does not own) a Runtime, a Clock and an
// executor for blocking work (the worker pool).
//
// Threading: all public methods are thread-safe. start(), status(), list()
// and nodeInfo() only touch memory and never block on the runtime, so the
// network executor may call them. stop(), remove(), recover() and sweep()
// call the runtime and block: run them on the worker pool.
//
// Locking: `mutex_` guards the registry and every Entry field. Each Entry also
// has `op`, held for the whole of a runtime operation on that workload
// (start pipeline, stop, remove), so operations on one workload are
// serialized while different workloads proceed in parallel. Order: `op`
// before `mutex_`; `mutex_` is never held during a runtime call.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/runtime.h"
#include "agent/user_resolution.h"
#include "api/node.h"
#include "api/workload.h"
#include "common/status.h"
#include "common/time.h"

namespace zp::agent {

class WorkloadManager {
 public:
  struct Options {
    std::string node_id;
    api::Resources capacity;
    std::vector<std::string> runtime_classes;  // offered classes
    std::string version;
    UidRange uid_range;  // uids for restricted workloads whose image runs as root
  };

  WorkloadManager(Options options, Runtime& runtime, const Clock& clock,
                  boost::asio::any_io_executor workers);
  WorkloadManager(const WorkloadManager&) = delete;
  WorkloadManager& operator=(const WorkloadManager&) = delete;

  // Accepts a workload and starts it in the background (image, sandbox,
  // container). Idempotent: a known id with the same spec returns its
  // current status and creates nothing; a different spec is kAlreadyExists.
  Result<api::WorkloadStatus> start(const api::WorkloadSpec& spec);
  Result<api::WorkloadStatus> status(const std::string& id) const;
  std::vector<api::WorkloadStatus> list() const;
  api::NodeInfo nodeInfo() const;

  // Stops the workload's container (SIGKILL after `grace`) and its sandbox;
  // the record stays, in a final state. Blocking.
  Result<api::WorkloadStatus> stop(const std::string& id, std::chrono::seconds grace);
  // Stops and removes sandbox, container and logs, then forgets the workload.
  // On a runtime error the workload is kept. Blocking.
  Status remove(const std::string& id, std::chrono::seconds grace);

  // Rebuilds the registry from the runtime (sandboxes with this node's
  // labels); finishes half-created workloads and removes duplicates. Call
  // once, before serving. Blocking.
  Status recover();
  // One status sweep for the whole node: a single listing, then
  // ContainerStatus only for containers whose state changed. Also removes
  // this node's sandboxes that belong to no known workload. Blocking.
  Status sweep();

  // Number of runtime operations in flight (pipelines, stops, removes).
  int operationsInFlight() const;

 private:
  struct Entry {
    WorkloadIdentity identity;
    std::string sandbox_id;
    std::string container_id;
    api::WorkloadStatus status;
    ObjectState observed = ObjectState::kUnknown;  // container state at the last sweep
    bool cancel = false;                           // stop/remove asked: pipeline ends early
    std::mutex op;                                 // held during runtime operations
  };
  using EntryPtr = std::shared_ptr<Entry>;
  class InFlight;

  EntryPtr find(const std::string& id) const;
  // find(), or kNotFound naming the node.
  Result<EntryPtr> existing(const std::string& id) const;
  // {sandbox_id, container_id}, read under the lock.
  std::pair<std::string, std::string> runtimeIds(const EntryPtr& entry) const;
  // Drops `entry` from the registry (if it is still the one registered).
  void forget(const EntryPtr& entry);
  // After a failed stop/remove: the workload is live again for the sweep.
  void uncancel(const EntryPtr& entry);
  void runPipeline(const EntryPtr& entry);
  void launchPipeline(const EntryPtr& entry);
  // Decides the container's user once the image is known, before its sandbox
  // exists (allocating a uid when needed); false when cancelled or failed.
  bool settleUser(const EntryPtr& entry, const ImageFacts& image);
  // Moves a Pending workload to the next phase; false (and no change) once cancelled.
  bool enterPhase(const EntryPtr& entry, std::string_view reason, std::string message);
  // Sets `cancel`; true when a pipeline is busy pulling the image (nothing created yet).
  bool cancelWhilePulling(const EntryPtr& entry);
  void setFailed(const EntryPtr& entry, std::string_view reason, std::string message);
  void applyDetail(const EntryPtr& entry, const ContainerDetail& detail);
  void adoptSandbox(const SandboxObservation& sandbox, const Snapshot& snapshot,
                    std::vector<EntryPtr>& to_finish);
  void removeOrphans(const Snapshot& snapshot);

  Options options_;
  Runtime& runtime_;
  const Clock& clock_;
  boost::asio::any_io_executor workers_;
  mutable std::mutex mutex_;
  std::map<std::string, EntryPtr> entries_;
  UidAllocator uids_;  // keyed by submission uid; released when the entry is forgotten
  int in_flight_ = 0;
};

}  // namespace zp::agent
