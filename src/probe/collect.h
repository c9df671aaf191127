#pragma once
// The probe's collectors (docs/architecture.md §10.1): read the facts of
// probe/report.h from the calling process's point of view. Best effort and
// bounded; never throw. Used by zoneplane-probe inside a workload and by the
// agent about itself (the host's facts).

#include <chrono>
#include <string>
#include <vector>

#include "probe/report.h"

namespace zp::probe {

struct CollectOptions {
  std::vector<std::string> connect_targets;  // "HOST:PORT", numeric hosts, at most kMaxTargets
  std::chrono::milliseconds connect_timeout{1000};
};

// Everything: what zoneplane-probe prints.
Report collectReport(const CollectOptions& options);

// Only what the verdict compares with a workload's report: kernel identity
// and namespace links of the calling process (the agent's: the host's).
Report collectHostFacts();

}  // namespace zp::probe
