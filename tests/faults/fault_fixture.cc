#include "fault_fixture.h"

#include <cstdlib>
#include <string>

#ifndef ZP_STACK_SCRIPT
#error "ZP_STACK_SCRIPT must name scripts/stack (see CMakeLists.txt)"
#endif

namespace zp::faults {

bool FaultTest::shortMode() {
  const char* value = std::getenv("ZONEPLANE_FAULTS_SHORT");
  return value != nullptr && std::string(value) == "1";
}

Status FaultTest::stack(const std::string& args) {
  const auto log = dir_ / "stack.log";
  const std::string command = std::string(ZP_STACK_SCRIPT) + " " + args + " >>" +
                              testsupport::shellQuote(log.string()) + " 2>&1";
  const int rc = std::system(command.c_str());
  if (rc != 0) {
    return fail(Code::kInternal, "scripts/stack " + args + " failed (" + std::to_string(rc) +
                                     "):\n" + testsupport::logTail(log, 20));
  }
  return ok();
}

std::map<std::string, nlohmann::json> FaultTest::statuses() {
  std::map<std::string, nlohmann::json> out;
  auto list = http(cli::HttpMethod::kGet, "/workloads");
  for (const auto& item : list.body.value("items", nlohmann::json::array())) {
    out[item["spec"].value("id", "")] = item["status"];
  }
  return out;
}

}  // namespace zp::faults
