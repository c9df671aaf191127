#pragma once
// What the CLI prints on success: pure functions from the server's JSON replies
// to text. `now` (for ages) is a parameter so the output is deterministic.
// Table-rendering functions fail (kInternal) only on replies of the wrong shape.

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/decode.h"
#include "common/status.h"
#include "common/time.h"

namespace zp::cli {

enum class OutputFormat { kTable, kJson };

// `-o json`: the reply as it came, pretty-printed, with a trailing newline.
std::string renderJson(const nlohmann::json& reply);

// `run` / `apply`: an ID / STATE table of the created workload.
Result<std::string> renderCreated(const nlohmann::json& workload);
// `delete`: `workload "ID" deleted (state: S)`.
Result<std::string> renderDeleted(const nlohmann::json& workload);
// `get`: a key: value block (ID, STATE, REASON, MESSAGE, EXIT CODE, RESTARTS,
// NODE, IMAGE, CLASS, ISOLATION, TRUST, PROFILE, USER, MEMORY, CPU, RESTART
// POLICY, CREATED, STARTED, FINISHED); "-" for unset values. ISOLATION is the
// verification of the class on the node (render_isolation.h). PROFILE and USER are what
// the node reports once it knows them, else what the spec asks for.
Result<std::string> renderWorkload(const nlohmann::json& workload, TimePoint now);
// `list`: ID STATE REASON RESTARTS EXIT NODE CLASS IMAGE AGE; a sentence when
// empty.
Result<std::string> renderWorkloadList(const nlohmann::json& reply, TimePoint now);
// `get --watch`: the header, then one row per event (EVENT ID STATE REASON
// RESTARTS EXIT NODE AGE) in fixed-width columns, since rows come one by one.
std::string renderWatchHeader();
std::string renderWatchRow(const WatchEventView& event, TimePoint now);
// `nodes`: NODE STATE SCHEDULABLE CLASSES MEMORY(alloc/cap) CPU(alloc/cap)
// WORKLOADS HEARTBEAT (its age); STATE carries the reason when not Ready,
// CLASSES each class's verification (renderNodeClasses).
Result<std::string> renderNodes(const nlohmann::json& reply, TimePoint now);
// `nodes add|cordon|uncordon|drain`: the same table for the one node answered.
Result<std::string> renderNode(const nlohmann::json& node, TimePoint now);
// `trust-levels`: TRUST DEFAULT MIN-PROFILE MIN-ISOLATION CLASSES AVAILABLE,
// one row per level ("-" for MIN ISOLATION from a server that has none).
Result<std::string> renderTrustLevels(const nlohmann::json& reply);

// Compact age: "42s" under 2 minutes, "17m" under 2 hours, "30h" under 2 days,
// else "12d". Negative durations (clock skew) print as "0s".
std::string formatAge(std::chrono::system_clock::duration age);

}  // namespace zp::cli
