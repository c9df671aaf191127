#pragma once
// The verdict on one probe (docs/architecture.md §10.2): what a workload's
// report says about its class's isolation, compared with the host's own
// facts. Pure functions; no I/O.

#include <optional>

#include "api/isolation.h"
#include "probe/report.h"

namespace zp::agent {

// The level, score and findings for `seen` (the probe's report from inside a
// class's workload) against `host` (probe::collectHostFacts() in the agent).
// Fills runtime_class, claim, level, score, findings and probe_version of the
// result; the caller sets verified_at / attempted_at / error. The level is
// never kUnverified: on insufficient evidence it is kSharedKernel with finding
// "kernel-unidentified". Findings (ids in verdict_parts.h) are sorted high
// first, then by id; their texts are printable ASCII within
// api::kMaxFindingTextLength, at most api::kMaxFindings of them.
api::ClassIsolation judge(std::string_view runtime_class, const probe::Report& seen,
                          const probe::Report& host,
                          std::optional<api::IsolationLevel> claim);

// §10.2's score: the level's base + 10 - 25 per high, 10 per medium, 3 per low
// finding, clamped to 0..100; 0 for kUnverified.
int isolationScore(api::IsolationLevel level, const std::vector<api::Finding>& findings);

}  // namespace zp::agent
