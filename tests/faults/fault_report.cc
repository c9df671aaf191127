#include "fault_report.h"

#include <cstdlib>
#include <fstream>
#include <iostream>

namespace zp::faults {

nlohmann::json toJson(const FaultFigures& f) {
  return {{"scenario", f.scenario},   {"faults", f.faults},
          {"workloads", f.workloads}, {"lost", f.lost},
          {"duplicated", f.duplicated}, {"wrong_state", f.wrong_state},
          {"recover_seconds", f.recover_seconds}, {"details", f.details}};
}

void report(const FaultFigures& figures) {
  const std::string line = toJson(figures).dump();
  std::cout << kFaultResultPrefix << line << std::endl;
  if (const char* path = std::getenv("ZONEPLANE_FAULTS_REPORT"); path != nullptr && *path) {
    std::ofstream out(path, std::ios::app);
    out << line << '\n';
  }
}

}  // namespace zp::faults
