#include "sim/sim_fleet.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <cstdio>

#include "api/validate.h"
#include "api/workload.h"
#include "common/version.h"

namespace zp::sim {

namespace asio = boost::asio;

Status validateFleetOptions(const FleetOptions& o) {
  if (o.nodes < 1 || o.nodes > kMaxNodes) {
    return fail(Code::kInvalidArgument,
                "--nodes must be between 1 and " + std::to_string(kMaxNodes), "nodes");
  }
  if (o.threads < 1 || o.threads > kMaxThreads) {
    return fail(Code::kInvalidArgument,
                "--threads must be between 1 and " + std::to_string(kMaxThreads), "threads");
  }
  // The longest id must still be a node id (a DNS-1123 label).
  const std::string longest = simNodeId(o.node_prefix, o.nodes);
  if (!api::isDns1123Label(longest)) {
    return fail(Code::kInvalidArgument,
                "--node-prefix \"" + o.node_prefix.substr(0, 80) +
                    "\" does not make valid node ids (e.g. \"" + longest.substr(0, 80) +
                    "\" is not a DNS-1123 label)",
                "node-prefix");
  }
  if (o.memory_mb < 1 || o.memory_mb > (std::int64_t{1} << 40)) {
    return fail(Code::kInvalidArgument, "--memory-mb must be between 1 and 2^40", "memory-mb");
  }
  if (o.cpu_millicores < 1 || o.cpu_millicores > (std::int64_t{1} << 40)) {
    return fail(Code::kInvalidArgument, "--cpu-millicores must be between 1 and 2^40",
                "cpu-millicores");
  }
  if (o.runtime_classes.empty()) {
    return fail(Code::kInvalidArgument, "--classes must name at least one runtime class",
                "classes");
  }
  for (const auto& c : o.runtime_classes) {
    if (!api::isDns1123Label(c)) {
      return fail(
          Code::kInvalidArgument,
          "--classes: \"" + c.substr(0, 80) + "\" is not a runtime class name (DNS-1123 label)",
          "classes");
    }
  }
  if (o.isolation_score < 0 || o.isolation_score > 100) {
    return fail(Code::kInvalidArgument, "--isolation-score must be between 0 and 100",
                "isolation-score");
  }
  if (o.run_delay.count() < 0 || o.run_delay > std::chrono::hours(24)) {
    return fail(Code::kInvalidArgument, "--run-delay-ms must be between 0 and 86400000",
                "run-delay-ms");
  }
  return ok();
}

std::string simNodeId(const std::string& prefix, int index) {
  char digits[16];
  std::snprintf(digits, sizeof digits, "%04d", index);
  return prefix + digits;
}

Result<std::unique_ptr<SimFleet>> SimFleet::start(FleetOptions options) {
  if (auto s = validateFleetOptions(options); !s) return fail(s.error());
  std::unique_ptr<SimFleet> fleet(new SimFleet());
  for (int t = 0; t < options.threads; ++t) {
    fleet->contexts_.push_back(std::make_unique<asio::io_context>(1));
  }
  const api::Resources capacity{options.memory_mb, options.cpu_millicores};
  const SimIsolation isolation{
      options.isolation,
      options.isolation == api::IsolationLevel::kUnverified ? 0 : options.isolation_score,
      std::chrono::system_clock::now()};
  for (int i = 1; i <= options.nodes; ++i) {
    auto& io = *fleet->contexts_[static_cast<std::size_t>((i - 1) % options.threads)];
    RegistryOptions registry{simNodeId(options.node_prefix, i), capacity, options.runtime_classes,
                             kVersion, isolation};
    auto node = std::make_unique<SimNode>(io, std::move(registry), options.run_delay);
    auto bound = node->listen(options.host);
    if (!bound) return fail(bound.error());  // the fleet so far is torn down
    fleet->endpoints_.push_back({node->id(), options.host + ":" + std::to_string(bound->port())});
    node->start();
    fleet->nodes_.push_back(std::move(node));
  }
  for (auto& io : fleet->contexts_) {
    fleet->threads_.emplace_back([ctx = io.get()] {
      auto work = asio::make_work_guard(*ctx);
      ctx->run();
    });
  }
  return fleet;
}

SimFleet::~SimFleet() { stop(); }

void SimFleet::stop() {
  if (threads_.empty()) return;
  // Each io thread stops its own nodes, then its io_context.
  for (std::size_t t = 0; t < contexts_.size(); ++t) {
    asio::io_context& io = *contexts_[t];
    asio::post(io, [this, t, &io] {
      for (std::size_t i = t; i < nodes_.size(); i += contexts_.size()) nodes_[i]->stop();
      io.stop();
    });
  }
  for (auto& thread : threads_) thread.join();
  threads_.clear();
}

}  // namespace zp::sim
