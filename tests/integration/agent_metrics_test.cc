// The real zoneplane-agent's GET /metrics on the stack's containerd
// (docs/architecture.md §7 "Metrics"): a workload's CRI calls and pull show
// up, and the text parses with a real Prometheus parser
// (tests/metrics/scrape_check.py, Debian's python3-prometheus-client).

#include <cstdlib>
#include <string>

#include "agent_fixture.h"

namespace zp::agent_it {
namespace {

using AgentMetrics = AgentIntegrationTest;

TEST_F(AgentMetrics, CriCallsPullsAndRequestsAreCountedAndParse) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  // agent_test_support starts it with --metrics-listen 127.0.0.1:0; the log names the port.
  const std::string log = waitLogContains(agent_log_.string(), "metrics on http://");
  const auto at = log.find("metrics on http://");
  ASSERT_NE(at, std::string::npos) << log;
  const auto start = at + std::string("metrics on ").size();
  const std::string url = log.substr(start, log.find_first_of(" \n", start) - start);

  const auto id = workloadId("metrics");
  auto accepted = startWorkload(workload(id, {"sh", "-c", "exit 0"}));
  ASSERT_EQ(accepted.value("type", ""), "Status") << accepted.dump();
  Json st;
  ASSERT_TRUE(waitTerminal(id, 120s, st)) << st.dump();

  const std::string command =
      "/usr/bin/python3 " ZP_SOURCE_DIR "/tests/metrics/scrape_check.py url " + url +
      " 'zoneplane_agent_cri_call_duration_seconds_count{method=\"RunPodSandbox\"}>=1'"
      " 'zoneplane_agent_cri_call_duration_seconds_count{method=\"CreateContainer\"}>=1'"
      " 'zoneplane_agent_cri_call_duration_seconds_count{method=\"StartContainer\"}>=1'"
      " 'zoneplane_agent_requests_total{method=\"StartWorkload\",result=\"ok\"}>=1'"
      " 'zoneplane_agent_workloads{state=\"Succeeded\"}>=1'"
      " 'process_open_fds>=1' 'zoneplane_process_threads>=2'";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  auto removed = removeWorkload(id, 1);
  EXPECT_EQ(removed.value("type", ""), "Removed") << removed.dump();
}

}  // namespace
}  // namespace zp::agent_it
