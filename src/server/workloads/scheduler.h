#pragma once
// Placement of a workload on a node (docs/architecture.md §8.3, §10.3). Pure:
// a function of the admitted spec, its candidate classes, the isolation its
// trust level requires and the node views; no I/O, no threads, immutable
// after construction (any thread).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/isolation.h"
#include "api/node.h"
#include "api/workload.h"
#include "server/config.h"
#include "server/nodes/fleet.h"
#include "server/nodes/scheduling_index.h"

namespace zp::server {

struct Placement {
  std::string node;
  std::string runtime_class;
  // The node's verification of the class when it was chosen (unverified when
  // it has none).
  api::IsolationLevel level = api::IsolationLevel::kUnverified;
  int score = 0;
  bool operator==(const Placement&) const = default;
};

// The scheduler's answer: a placement, or why there is none.
struct Decision {
  std::optional<Placement> placement;
  // When unplaced, Kubernetes-style: "0/4 nodes available: 1 cordoned, 3
  // insufficient memory". One reason per node, the first filter it fails, in
  // this order: not ready, cordoned, class not offered, class not verified,
  // insufficient memory, insufficient cpu. "class not verified" names what
  // the nodes verified of the classes and what was required, e.g. "1 class
  // not verified (edera-zone: shared-kernel, quarantined; below
  // application-kernel)".
  std::string message;
};

class Scheduler {
 public:
  Scheduler(SchedulerPolicy policy, MemoryFloors floors)
      : policy_(policy), floors_(std::move(floors)) {}

  // Filter: Ready, schedulable, offers the class, its verification of the
  // class satisfies `requirement` (a class without an entry in
  // NodeView::isolation is unverified), allocatable memory >= max(memory_mb,
  // the class's floor) and cpu >= cpu_millicores. Classes are tried in
  // `classes` order (most preferred first): the first class some node passes
  // for wins, on its best node. Score among those: binpack = the node left
  // with the least free memory, then cpu; spread = the most. Ties go to the
  // smaller node id. `spec.runtime_class` is ignored.
  Decision place(const api::WorkloadSpec& spec, const std::vector<std::string>& classes,
                 const api::IsolationRequirement& requirement,
                 const std::vector<NodeView>& nodes) const;
  // The same over an index of the nodes (same answer): O(log nodes) per
  // class tried when some node fits; the message of an unplaced workload
  // still looks at every node.
  Decision placeIndexed(const api::WorkloadSpec& spec, const std::vector<std::string>& classes,
                 const api::IsolationRequirement& requirement,
                 const SchedulingIndex& nodes) const;

  // What a workload accounts on its node when run as `runtime_class`:
  // max(memory_mb, floor) and its cpu.
  api::Resources accounted(const api::WorkloadSpec& spec, std::string_view runtime_class) const;
  std::int64_t memoryFloor(std::string_view runtime_class) const;

  SchedulerPolicy policy() const { return policy_; }

 private:
  // The first class of `classes` some node takes, on its best node.
  std::optional<Placement> pick(const api::WorkloadSpec& spec,
                                const std::vector<std::string>& classes,
                                const api::IsolationRequirement& requirement,
                                const SchedulingIndex& index) const;
  // Why no node takes the workload ("0/4 nodes available: ...", above).
  std::string unplacedMessage(const api::WorkloadSpec& spec, const std::vector<std::string>& classes,
                              const api::IsolationRequirement& requirement,
                              const std::vector<NodeView>& nodes) const;

  SchedulerPolicy policy_;
  MemoryFloors floors_;
};

}  // namespace zp::server
