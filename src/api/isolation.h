#pragma once
// Verified isolation of a runtime class (docs/architecture.md §10): the
// levels, a finding, and one class's verification as the agent reports it and
// the server shows and schedules by. Plain values; no I/O, no threads.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.h"

namespace zp::api {

// Ordered from weakest to strongest: a comparison of two levels is a
// comparison of isolation. kUnverified (no successful probe yet, or its result
// is too old) is below every verified level.
//   shared-kernel       the workload runs on the host's kernel (runc)
//   application-kernel  its system calls are served by a kernel implemented in
//                       user space (gVisor); the host's boot id is not visible
//   hypervisor          its own kernel in its own virtual machine, with its
//                       own boot id (Edera Protect, Kata)
enum class IsolationLevel { kUnverified, kSharedKernel, kApplicationKernel, kHypervisor };
// "unverified", "shared-kernel", "application-kernel", "hypervisor"
std::string_view isolationLevelName(IsolationLevel level);
std::optional<IsolationLevel> parseIsolationLevel(std::string_view name);
// A class's claim (agent config `isolation`) is one of the three verified
// levels; "unverified" is not a claim.
std::optional<IsolationLevel> parseIsolationClaim(std::string_view name);

// What a trust level requires of the class it runs on: nullopt = "any" (every
// class, verified or not, quarantined or not); otherwise a verified level at
// least this one. Names: "any" or a verified level's name.
using IsolationRequirement = std::optional<IsolationLevel>;
std::string_view requirementName(const IsolationRequirement& requirement);
std::optional<IsolationRequirement> parseIsolationRequirement(std::string_view name);

enum class Severity { kInfo, kLow, kMedium, kHigh };
std::string_view severityName(Severity severity);  // "info", "low", "medium", "high"
std::optional<Severity> parseSeverity(std::string_view name);

// Bounds on what a verification may carry (the agent builds them; decoders
// refuse more).
inline constexpr std::size_t kMaxIsolationClasses = 64;  // per node
inline constexpr std::size_t kMaxFindings = 64;
inline constexpr std::size_t kMaxFindingIdLength = 64;       // [a-z0-9-]
inline constexpr std::size_t kMaxFindingTextLength = 1024;   // evidence, remedy
inline constexpr std::size_t kMaxIsolationErrorLength = 1024;

// One thing the probe saw that weakens (or explains) the class's isolation.
struct Finding {
  std::string id;        // stable, e.g. "host-kernel-shared", "capabilities"
  Severity severity = Severity::kInfo;
  std::string evidence;  // what was seen, with the values
  std::string remedy;    // what to change
  bool operator==(const Finding&) const = default;
};

// One runtime class's verification on one node.
struct ClassIsolation {
  std::string runtime_class;
  // What the node's configuration says the class provides; nullopt: no claim.
  std::optional<IsolationLevel> claim;
  // The level the last successful probe verified; kUnverified before one, or
  // once it is older than three probe intervals.
  IsolationLevel level = IsolationLevel::kUnverified;
  int score = 0;  // 0..100 (§10.3); 0 while unverified
  std::vector<Finding> findings;
  std::optional<TimePoint> verified_at;  // the agent's clock, of the last successful probe
  std::string probe_version;             // of the zoneplane-probe that reported
  // The last attempt, and why it failed ("" when it succeeded). A failed
  // attempt keeps the previous result (until it is too old, above).
  std::optional<TimePoint> attempted_at;
  std::string error;

  // Verified below its claim: the class is used only by trust levels that
  // require nothing ("any").
  bool quarantined() const {
    return claim && level != IsolationLevel::kUnverified && level < *claim;
  }
  // Does the class satisfy `requirement`?
  bool satisfies(const IsolationRequirement& requirement) const {
    if (!requirement) return true;
    return !quarantined() && level != IsolationLevel::kUnverified && level >= *requirement;
  }
  bool operator==(const ClassIsolation&) const = default;
};

// The entry for `runtime_class` in `classes`, or nullptr.
const ClassIsolation* findIsolation(const std::vector<ClassIsolation>& classes,
                                    std::string_view runtime_class);

}  // namespace zp::api
