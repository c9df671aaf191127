#pragma once
// What every fault scenario reports: one JSON line on stdout, prefixed with
// kFaultResultPrefix, and the same object appended (one line) to the file
// named by $ZONEPLANE_FAULTS_REPORT when set; scripts/faults turns those
// lines into the README's table. Reporting never fails a test: scenarios
// assert their figures themselves (lost == 0, duplicated == 0, ...).

#include <nlohmann/json.hpp>
#include <string>

namespace zp::faults {

inline constexpr const char* kFaultResultPrefix = "zp-faults-result ";

struct FaultFigures {
  std::string scenario;       // e.g. "agent-kill"
  std::string faults;         // what was injected, e.g. "10 x SIGKILL of the agent"
  int workloads = 0;          // workloads involved (submitted, running or deleted)
  int lost = 0;               // acknowledged and then missing (or an acknowledged delete undone)
  int duplicated = 0;         // more than one sandbox/copy of one workload at the end
  int wrong_state = 0;        // a final state that contradicts what happened
  double recover_seconds = 0; // worst time from a fault's end to the system being whole again
  nlohmann::json details = nlohmann::json::object();  // scenario-specific figures
};

nlohmann::json toJson(const FaultFigures& figures);
// Prints and (with $ZONEPLANE_FAULTS_REPORT) appends the figures.
void report(const FaultFigures& figures);

}  // namespace zp::faults
