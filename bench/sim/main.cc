// zoneplane-simfleet: N simulated zoneplane agents in one process, for
// benchmarks and tests (bench/sim/sim_fleet.h). Never a runtime.
//
// Output (stdout): one JSON object per line per node, in node order,
//   {"node":"sim-0001","address":"127.0.0.1:41234"}
// then {"ready":true} once every node accepts connections. Runs until SIGTERM
// or SIGINT. Logs go to stderr.

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "api/isolation.h"
#include "common/logging.h"
#include "common/version.h"
#include "sim/sim_fleet.h"

namespace {

// Each node needs a listener and a descriptor per connection to it: raise
// the soft limit on open files to the hard one, and warn when even that is
// short of two per node.
void raiseOpenFileLimit(int nodes) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &limit);
    (void)::getrlimit(RLIMIT_NOFILE, &limit);
  }
  const rlim_t wanted = static_cast<rlim_t>(nodes) * 3 + 64;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < wanted) {
    spdlog::warn("open file limit {} may be too low for {} nodes and their connections (want {})",
                 limit.rlim_cur, nodes, wanted);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "zoneplane-simfleet: N simulated zoneplane agents on N ports of one process, speaking the "
      "agent protocol over an in-memory registry (benchmarks and tests only; runs nothing)"};
  app.set_version_flag("--version", zp::kVersion);
  zp::sim::FleetOptions options;
  std::int64_t run_delay_ms = 0;
  std::string log_level = "warn";
  app.add_option("--nodes", options.nodes, "number of simulated nodes")->capture_default_str();
  app.add_option("--node-prefix", options.node_prefix, "node ids are PREFIX0001, PREFIX0002, …")
      ->capture_default_str();
  app.add_option("--host", options.host, "address every node listens on (each on a free port)")
      ->capture_default_str();
  app.add_option("--memory-mb", options.memory_mb, "memory capacity of each node")
      ->capture_default_str();
  app.add_option("--cpu-millicores", options.cpu_millicores, "CPU capacity of each node")
      ->capture_default_str();
  app.add_option("--classes", options.runtime_classes, "runtime classes each node offers")
      ->delimiter(',')
      ->capture_default_str();
  std::string isolation = "application-kernel";
  app.add_option("--isolation", isolation,
                 "level every class reports as verified: unverified, shared-kernel, "
                 "application-kernel or hypervisor")
      ->capture_default_str();
  app.add_option("--isolation-score", options.isolation_score,
                 "score every verified class reports (0-100)")
      ->capture_default_str();
  app.add_option("--run-delay-ms", run_delay_ms,
                 "delay between a StartWorkload and the workload's Running push")
      ->capture_default_str();
  app.add_option("--threads", options.threads, "io threads serving the nodes")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  options.run_delay = std::chrono::milliseconds(run_delay_ms);
  if (auto level = zp::api::parseIsolationLevel(isolation)) {
    options.isolation = *level;
  } else {
    std::cerr << "zoneplane-simfleet: --isolation must be unverified, shared-kernel, "
                 "application-kernel or hypervisor\n";
    return 2;
  }

  if (auto s = zp::setupLogging(log_level); !s) {
    std::cerr << "zoneplane-simfleet: " << s.error().message << "\n";
    return 2;
  }
  if (auto s = zp::sim::validateFleetOptions(options); !s) {
    std::cerr << "zoneplane-simfleet: " << s.error().message << "\n";
    return 2;
  }
  raiseOpenFileLimit(options.nodes);

  // Signals are taken over before the fleet is announced, so a SIGTERM right
  // after {"ready":true} is a clean stop.
  boost::asio::io_context signals_io;
  boost::asio::signal_set signals(signals_io, SIGINT, SIGTERM);
  signals.async_wait([](const boost::system::error_code&, int) {});

  auto fleet = zp::sim::SimFleet::start(options);
  if (!fleet) {
    std::cerr << "zoneplane-simfleet: " << fleet.error().message << "\n";
    return 1;
  }
  for (const auto& endpoint : (*fleet)->endpoints()) {
    nlohmann::ordered_json line{{"node", endpoint.node}, {"address", endpoint.address}};
    std::printf("%s\n", line.dump().c_str());
  }
  std::printf("{\"ready\":true}\n");
  std::fflush(stdout);

  signals_io.run();  // until SIGTERM or SIGINT
  (*fleet)->stop();
  return 0;
}
