#pragma once
// Placement of a workload on a node: the Scheduler seam and its default
// implementation. Pure functions of their inputs; no I/O, no threads.

#include <optional>
#include <string>
#include <vector>

#include "api/node.h"
#include "api/workload.h"
#include "common/status.h"

namespace zp::server {

// What the scheduler knows about one node at decision time.
struct NodeView {
  std::string id;
  std::vector<std::string> runtime_classes;   // classes the node offers
  std::optional<api::Resources> allocatable;  // nullopt: capacity unknown (unlimited)
  bool reachable = true;                      // answered its last NodeInfo
};

// Picks the node a workload should run on.
class Scheduler {
 public:
  virtual ~Scheduler() = default;
  // The id of the chosen node. kResourceExhausted (reason Unschedulable) with a
  // message explaining why when no node fits; kInvalidArgument (field
  // "runtime_class") when no node offers the class at all.
  virtual Result<std::string> pick(const api::WorkloadSpec& spec,
                                   const std::vector<NodeView>& nodes) const = 0;
};

// Default policy: among the nodes offering the spec's runtime class with enough
// allocatable memory and cpu, the one with the most free memory. Ties go to
// more free cpu, then to the smaller node id (deterministic). Reachable nodes
// are preferred over unreachable ones, and nodes with a known capacity over
// nodes whose capacity is unknown (those always fit: unknown means unlimited,
// but a node that never answered is a poor first choice).
class MostFreeMemoryScheduler final : public Scheduler {
 public:
  Result<std::string> pick(const api::WorkloadSpec& spec,
                           const std::vector<NodeView>& nodes) const override;
};

struct Placement {
  std::string runtime_class;
  std::string node;
};

// Tries `classes` in order (most preferred first) and returns the first class
// for which `scheduler` finds a node, with that node; `spec.runtime_class` is
// ignored. When no class fits: kResourceExhausted (reason Unschedulable) with
// each class's reason when some node offers one of them, else
// kInvalidArgument (field runtime_class). `classes` must not be empty.
Result<Placement> placeByPreference(const Scheduler& scheduler, api::WorkloadSpec spec,
                                    const std::vector<std::string>& classes,
                                    const std::vector<NodeView>& nodes);

}  // namespace zp::server
