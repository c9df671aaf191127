#pragma once
// What the CLI prints about verified isolation (docs/architecture.md §10):
// pure functions from the server's replies to text, like render.h. Every
// value from the server is sanitised (table.h).

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/decode.h"
#include "common/status.h"
#include "common/time.h"

namespace zp::cli {

// The CLASSES cell of `nodes`: per offered class "CLASS:LEVEL/SCORE", "!"
// after a quarantined one, "CLASS:unverified" for a class without a verified
// level; the bare names when the server reports no isolation. "-" for none.
std::string renderNodeClasses(const NodeView& node);

// The ISOLATION line of `get`: "application-kernel, score 70, verified 5m
// ago", with ", QUARANTINED (below its claim)" for a quarantined class;
// "unverified"; "-" when the server shows none (not placed).
std::string renderWorkloadIsolation(const WorkloadView& view, TimePoint now);

// `isolation NODE`: per class (only `only_class` when set) a key: value block
// (CLASS, CLAIM, LEVEL, SCORE, QUARANTINED, AGE, PROBE, LAST ERROR, FINDINGS)
// then each finding, most severe first, as an indented block
//   [high] claim-not-met
//     evidence: ...
//     remedy:   ...
// Blocks are separated by a blank line. A sentence when the node reports
// nothing; kNotFound when `only_class` is not among the classes.
Result<std::string> renderNodeIsolation(const nlohmann::json& reply,
                                        const std::optional<std::string>& only_class);

}  // namespace zp::cli
