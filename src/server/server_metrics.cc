#include "server/server_metrics.h"

#include <set>
#include <string>

namespace zp::server {
namespace {

constexpr api::WorkloadState kStates[] = {
    api::WorkloadState::kPending, api::WorkloadState::kRunning, api::WorkloadState::kSucceeded,
    api::WorkloadState::kFailed, api::WorkloadState::kUnknown};
constexpr NodeState kNodeStates[] = {NodeState::kReady, NodeState::kNotReady, NodeState::kLost};

// One sample per (node, offered class) of `value` of its isolation entry (an
// unverified entry for a class without one).
void perClass(metrics::SampleSink& sink, const NodeRegistry& nodes,
              double (*value)(const api::ClassIsolation&)) {
  for (const auto& node : nodes.schedulingNodes()) {
    for (const auto& runtime_class : node.runtime_classes) {
      const api::ClassIsolation* entry = api::findIsolation(node.isolation, runtime_class);
      const api::ClassIsolation unverified;  // level kUnverified, score 0
      sink.add({node.id, runtime_class}, value(entry != nullptr ? *entry : unverified));
    }
  }
}

}  // namespace

void addServerCollectors(metrics::Registry& registry, const WorkloadService& workloads,
                         const NodeRegistry& nodes, std::function<ServerStats()> stats) {
  using metrics::SampleSink;
  using metrics::Type;
  registry.collected(
      "zoneplane_workloads",
      "Workload records by stored state and runtime class (a workload on a node that is not "
      "Ready keeps its stored state here; the API shows it Unknown).",
      Type::kGauge, {"state", "runtime_class"}, [&workloads](SampleSink& sink) {
        const auto& counts = workloads.countsByStateAndClass();
        std::set<std::string> classes;
        for (const auto& [key, count] : counts) classes.insert(key.second);
        for (const auto& runtime_class : classes) {
          for (const auto state : kStates) {
            auto it = counts.find({state, runtime_class});
            sink.add({std::string(api::stateName(state)), runtime_class},
                     it == counts.end() ? 0.0 : static_cast<double>(it->second));
          }
        }
      });
  registry.collected(
      "zoneplane_workloads_unschedulable",
      "Workloads accepted and waiting to be placed (Pending/Unschedulable).", Type::kGauge, {},
      [&workloads](SampleSink& sink) { sink.add({}, static_cast<double>(workloads.queueSize())); });
  registry.collected(
      "zoneplane_nodes", "Nodes by state.", Type::kGauge, {"state"}, [&nodes](SampleSink& sink) {
        double count[3] = {0, 0, 0};
        for (const auto& node : nodes.schedulingNodes()) {
          ++count[static_cast<int>(node.state)];
        }
        for (const auto state : kNodeStates) {
          sink.add({std::string(nodeStateName(state))}, count[static_cast<int>(state)]);
        }
      });
  registry.collected(
      "zoneplane_node_isolation_level",
      "Verified isolation level of each offered runtime class per node: 0 unverified, "
      "1 shared-kernel, 2 application-kernel, 3 hypervisor.",
      Type::kGauge, {"node", "runtime_class"}, [&nodes](SampleSink& sink) {
        perClass(sink, nodes, [](const api::ClassIsolation& entry) {
          return static_cast<double>(static_cast<int>(entry.level));
        });
      });
  registry.collected("zoneplane_node_isolation_score",
                     "Isolation score (0..100) of each offered runtime class per node.",
                     Type::kGauge, {"node", "runtime_class"}, [&nodes](SampleSink& sink) {
                       perClass(sink, nodes, [](const api::ClassIsolation& entry) {
                         return static_cast<double>(entry.score);
                       });
                     });
  registry.collected("zoneplane_node_isolation_quarantined",
                     "1 when a runtime class on a node verified below its claim (quarantined).",
                     Type::kGauge, {"node", "runtime_class"}, [&nodes](SampleSink& sink) {
                       perClass(sink, nodes, [](const api::ClassIsolation& entry) {
                         return entry.quarantined() ? 1.0 : 0.0;
                       });
                     });
  // The three backlogs share one call of `stats` per family; each is cheap.
  const auto shared = std::make_shared<std::function<ServerStats()>>(std::move(stats));
  registry.collected("zoneplane_http_connections", "API connections open (streams included).",
                     Type::kGauge, {}, [shared](SampleSink& sink) {
                       sink.add({}, static_cast<double>((*shared)().http_connections));
                     });
  registry.collected(
      "zoneplane_watchers", "Watch streams subscribed.", Type::kGauge, {},
      [shared](SampleSink& sink) { sink.add({}, static_cast<double>((*shared)().watchers)); });
  registry.collected("zoneplane_commit_backlog",
                     "Writes and reads queued for the store's commit thread.", Type::kGauge, {},
                     [shared](SampleSink& sink) {
                       sink.add({}, static_cast<double>((*shared)().commit_backlog));
                     });
}

}  // namespace zp::server
