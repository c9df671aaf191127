// GET /metrics (docs/architecture.md §7 "Metrics"): the server's metrics
// move as workloads and requests move. (tests/metrics/scrape_check.py checks
// the same text with a real Prometheus parser against a real server.)

#include <sstream>
#include <string>

#include "server_fixture.h"

namespace zp::server::testing {
namespace {

// The value of the sample line that starts with `series` + ' ' (-1: none).
double sample(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

class ServerMetricsTest : public ServerFixture {
 protected:
  std::string scrape() {
    auto res = server_->get("/metrics");
    EXPECT_EQ(res.status, 200u) << res.body;
    EXPECT_EQ(res.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    return res.body;
  }
};

TEST_F(ServerMetricsTest, WorkloadCountersAndGaugesFollowTheWorkloads) {
  const std::string before = scrape();
  EXPECT_EQ(sample(before, "zoneplane_workload_submissions_total"), 0);
  EXPECT_EQ(sample(before, "zoneplane_nodes{state=\"Ready\"}"), 2);
  EXPECT_EQ(sample(before, "zoneplane_nodes{state=\"Lost\"}"), 0);
  EXPECT_EQ(sample(before,
                   "zoneplane_node_isolation_level{node=\"node-2\",runtime_class=\"edera-zone\"}"),
            0);
  EXPECT_GE(sample(before, "process_resident_memory_bytes"), 1);

  create(spec("w-metrics"));
  // Unschedulable: no node has the memory.
  create(spec("w-huge", "native", 1 << 20));
  auto text = scrape();
  EXPECT_EQ(sample(text, "zoneplane_workload_submissions_total"), 2);
  EXPECT_EQ(sample(text, "zoneplane_workload_placements_total"), 1);
  EXPECT_EQ(sample(text, "zoneplane_workloads_unschedulable"), 1);
  EXPECT_EQ(sample(text, "zoneplane_workloads{state=\"Pending\",runtime_class=\"native\"}"), 2);
  EXPECT_EQ(sample(text,
                   "zoneplane_http_requests_total{method=\"POST\",route=\"/workloads\",code="
                   "\"201\"}"),
            2);
  EXPECT_EQ(
      sample(text,
             "zoneplane_http_request_duration_seconds_count{method=\"POST\",route=\"/workloads\"}"),
      2);

  // Running on node-2 (binpack), then restarted once by the agent.
  ASSERT_TRUE(eventually([&] { return node2_->workload("w-metrics").has_value(); }));
  node2_->setState("w-metrics", api::WorkloadState::kRunning, "Started");
  waitState("w-metrics", "Running");
  auto status = *node2_->workload("w-metrics");
  status.restart_count = 1;
  node2_->push(status);
  ASSERT_TRUE(
      eventually([&] { return sample(scrape(), "zoneplane_workload_restarts_total") == 1; }));
  text = scrape();
  EXPECT_EQ(sample(text, "zoneplane_workloads{state=\"Pending\",runtime_class=\"native\"}"), 1);
  EXPECT_EQ(sample(text, "zoneplane_workloads{state=\"Running\",runtime_class=\"native\"}"), 1);
  EXPECT_GE(sample(text, "zoneplane_agent_rpc_duration_seconds_count{method=\"StartWorkload\"}"),
            1);

  // It exits 2.5 s before the server's (fake) clock: the push delay is 2.5 s.
  status = *node2_->workload("w-metrics");
  status.state = api::WorkloadState::kFailed;
  status.reason = "Error";
  status.exit_code = 1;
  status.finished_at = fake_clock_.now() - std::chrono::milliseconds(2500);
  node2_->put(status);
  node2_->push(status);
  waitState("w-metrics", "Failed");
  text = scrape();
  EXPECT_EQ(sample(text, "zoneplane_status_push_delay_seconds_count"), 1);
  // (finished_at crosses the protocol in whole milliseconds.)
  EXPECT_NEAR(sample(text, "zoneplane_status_push_delay_seconds_sum"), 2.5, 0.001);
  EXPECT_EQ(sample(text, "zoneplane_status_push_delay_seconds_bucket{le=\"1\"}"), 0);
  EXPECT_EQ(sample(text, "zoneplane_status_push_delay_seconds_bucket{le=\"5\"}"), 1);
  EXPECT_EQ(sample(text, "zoneplane_workloads{state=\"Failed\",runtime_class=\"native\"}"), 1);
  EXPECT_EQ(sample(text, "zoneplane_workloads{state=\"Running\",runtime_class=\"native\"}"), 0);

  // Deleted: gone from the gauges.
  ASSERT_EQ(server_->del("/workloads/w-metrics").status, 200u);
  ASSERT_EQ(server_->del("/workloads/w-huge").status, 200u);
  text = scrape();
  EXPECT_EQ(sample(text, "zoneplane_workloads{state=\"Failed\",runtime_class=\"native\"}"), -1);
  EXPECT_EQ(sample(text, "zoneplane_workloads_unschedulable"), 0);
}

TEST_F(ServerMetricsTest, RoutesAreLabelledByPatternNotPath) {
  EXPECT_EQ(server_->get("/workloads/no-such-a").status, 404u);
  EXPECT_EQ(server_->get("/workloads/no-such-b").status, 404u);
  EXPECT_EQ(server_->get("/no/such/path").status, 404u);
  const std::string text = scrape();
  EXPECT_EQ(sample(text,
                   "zoneplane_http_requests_total{method=\"GET\",route=\"/workloads/{id}\","
                   "code=\"404\"}"),
            2);
  EXPECT_EQ(
      sample(text, "zoneplane_http_requests_total{method=\"GET\",route=\"none\",code=\"404\"}"), 1);
  EXPECT_EQ(text.find("no-such"), std::string::npos);
  EXPECT_EQ(server_->get("/metrics?x=1").status, 400u);
}

TEST_F(ServerMetricsTest, RefusedRequestsAreCounted) {
  auto res = server_->requestAs("Bearer zp_000000000000_nottherealsecret",
                                boost::beast::http::verb::get, "/metrics");
  EXPECT_EQ(res.status, 401u);
  EXPECT_EQ(sample(scrape(),
                   "zoneplane_http_requests_total{method=\"GET\",route=\"/metrics\","
                   "code=\"401\"}"),
            1);
}

}  // namespace
}  // namespace zp::server::testing
