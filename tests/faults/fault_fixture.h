#pragma once
// FaultTest: the end-to-end fixture (real server and agents on the runtime
// stack, tests/integration/e2e_fixture.h) plus what fault scenarios share:
// the short mode, and running scripts/stack (e.g. restart-containerd) against
// the stack named by the environment (ZONEPLANE_STACK_DIR and friends, as
// `scripts/stack env` printed them).
//
// Scenarios that restart or pause containerd affect every other user of that
// stack: run them alone, or against a private stack (scripts/stack documents
// ZONEPLANE_STACK_DIR, ZONEPLANE_REGISTRY_PORT, ZONEPLANE_CNI_BRIDGE/SUBNET).

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"
#include "e2e_fixture.h"
#include "fault_report.h"

namespace zp::faults {

class FaultTest : public testsupport::E2eTest {
 protected:
  // $ZONEPLANE_FAULTS_SHORT=1: CI's smaller run (fewer faults, fewer workloads).
  static bool shortMode();
  // `full` normally, `short_value` in the short mode.
  static int scaled(int full, int short_value) { return shortMode() ? short_value : full; }
  // Runs `scripts/stack ARGS` (output to the test's log); fails with its tail.
  Status stack(const std::string& args);
  // Workload id -> status, from one GET /workloads.
  std::map<std::string, nlohmann::json> statuses();
};

}  // namespace zp::faults
