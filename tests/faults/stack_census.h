#pragma once
// What runs on the runtime stack for each workload of a set of nodes: their
// pod sandboxes and containers, read from containerd's CRI (the labels the
// agent sets, docs/architecture.md §4). A fault scenario compares this with
// what the API acknowledged: exactly one sandbox and one container attempt per
// running workload, nothing for a workload the API does not have.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"

namespace zp::faults {

struct Copies {
  int sandboxes = 0;           // pod sandboxes labelled with the workload id, any state
  int ready_sandboxes = 0;     // of which SANDBOX_READY
  int containers = 0;          // containers in those sandboxes, any state
  int max_attempt = 0;         // the highest container attempt number (0: never re-created)
  std::set<std::string> uids;  // the placements (uid labels) the sandboxes belong to
};

// Workload id -> its copies on `nodes` (each sandbox counted once, under the
// node label the agent gave it). Errors: the CRI endpoint cannot be reached.
Result<std::map<std::string, Copies>> census(const std::string& endpoint,
                                             const std::vector<std::string>& nodes);

}  // namespace zp::faults
