#pragma once
// SimRegistry: the workloads of one simulated node (bench/sim), kept small so
// one process can hold 1,000 nodes × 100 workloads: per workload only its id,
// submission uid, a hash of its spec, its state, its resources and three
// times. Statuses are built from these on demand. Follows the agent's rules
// of docs/architecture.md §3 (idempotent start on (id, uid, spec), the uid
// fence of RemoveWorkload, pagination by id) without any runtime.
//
// Plain value logic: no I/O, no clock of its own (callers pass `now`), not
// thread-safe (its SimNode uses it from one executor).

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "api/isolation.h"
#include "api/node.h"
#include "api/workload.h"
#include "common/status.h"
#include "common/time.h"
#include "protocol/messages.h"

namespace zp::sim {

// What every class of a simulated node reports as its verification
// (docs/architecture.md §10): by default each class verified
// application-kernel with score 70, so untrusted workloads may run on it.
struct SimIsolation {
  api::IsolationLevel level = api::IsolationLevel::kApplicationKernel;
  int score = 70;           // 0 … 100
  TimePoint verified_at{};  // the epoch: set by the fleet at start
};

struct RegistryOptions {
  std::string node_id;
  api::Resources capacity;
  std::vector<std::string> runtime_classes;  // sorted
  std::string version;                       // reported by NodeInfo
  SimIsolation isolation;
};

class SimRegistry {
 public:
  explicit SimRegistry(RegistryOptions options);

  // The result of an operation that may change a workload's status.
  struct Outcome {
    api::WorkloadStatus status;
    bool changed = false;  // a new workload, or a new state: worth a push
  };

  // StartWorkload. A new id is accepted Pending (changed); the same id with
  // the same uid and spec returns its current status (unchanged); another uid
  // or spec is kAlreadyExists. An empty uid is the same as "make one" (a new
  // uid for a new workload; for an existing id it matches only the same spec).
  // A runtime class the node does not offer is kInvalidArgument.
  Result<Outcome> start(const api::WorkloadSpec& spec, const std::string& uid, TimePoint now);
  // Pending → Running, if `id` is still the submission `uid` and still
  // Pending; nullopt otherwise (stopped or removed meanwhile).
  std::optional<api::WorkloadStatus> markRunning(std::string_view id, std::string_view uid,
                                                 TimePoint now);
  // kNotFound naming the node when absent.
  Result<api::WorkloadStatus> status(std::string_view id) const;
  // A workload that is not final ends Succeeded (reason Stopped, exit 0,
  // changed); a final one is returned as it is.
  Result<Outcome> stop(std::string_view id, TimePoint now);
  // Forgets the workload. With a non-empty `uid` that is not the workload's,
  // nothing is touched and the call still succeeds (the fence). kNotFound
  // when absent.
  Status remove(std::string_view id, std::string_view uid);
  // At most `limit` statuses ordered by id, after the id `after`; `next` is
  // set when more follow.
  protocol::WorkloadList list(std::int64_t limit, std::string_view after) const;
  // The Node answer: `isolation` (revision 1, it never changes) unless
  // `held_revision` names it (a heartbeat of a server that has it).
  api::NodeInfo nodeInfo(std::optional<std::int64_t> held_revision = std::nullopt) const;
  // ProbeIsolation: the Node answer with `isolation`; kNotFound for a class
  // the node does not offer ("" = every class).
  Result<api::NodeInfo> probe(std::string_view runtime_class) const;

  bool contains(std::string_view id) const { return workloads_.find(id) != workloads_.end(); }
  std::size_t size() const { return workloads_.size(); }
  const std::string& nodeId() const { return options_.node_id; }

 private:
  // Milliseconds since the epoch; 0 = unset.
  struct Workload {
    std::string uid;
    std::uint64_t spec_hash = 0;
    std::int64_t created_ms = 0;
    std::int64_t started_ms = 0;
    std::int64_t finished_ms = 0;
    std::int32_t memory_mb = 0;
    std::int32_t cpu_millicores = 0;
    api::WorkloadState state = api::WorkloadState::kPending;
  };
  using Table = std::map<std::string, Workload, std::less<>>;

  api::WorkloadStatus statusOf(const Table::value_type& entry) const;
  void release(const Workload& w);  // gives its resources back
  std::string newUid();

  RegistryOptions options_;
  Table workloads_;
  api::Resources allocated_;  // requested by workloads that are not final
  std::mt19937_64 random_;
};

}  // namespace zp::sim
