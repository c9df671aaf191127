#pragma once
// RuntimeCensus: what the runtime holds for one node, by the agent's labels
// (docs/architecture.md §4): per workload id, its sandboxes and containers, as
// one ListPodSandbox and one ListContainers read them. The fault scenarios
// compare it with the API (a Running record whose sandbox is gone is lost; two
// sandboxes of one workload are a duplicate). Header-only; used from the
// test's threads, one client per census.

#include <map>
#include <string>
#include <vector>

#include "agent/runtime.h"
#include "common/status.h"
#include "cri/client.h"

namespace zp::faults {

struct WorkloadInRuntime {
  std::vector<std::string> sandbox_ids;        // every sandbox, ready or not
  std::vector<std::string> ready_sandbox_ids;  // SANDBOX_READY ones
  std::vector<std::string> running_containers; // CONTAINER_RUNNING container ids
  std::vector<std::string> container_ids;      // every container
};

using RuntimeCensus = std::map<std::string, WorkloadInRuntime>;  // by workload id

// Lists the sandboxes and containers labelled with `node_id`.
inline Result<RuntimeCensus> takeCensus(const cri::Client& cri, const std::string& node_id) {
  const std::string id_label(agent::kLabelWorkloadId);
  const std::string node_label(agent::kLabelNodeId);
  cri::v1::PodSandboxFilter sandbox_filter;
  (*sandbox_filter.mutable_label_selector())[node_label] = node_id;
  auto sandboxes = cri.listPodSandbox(sandbox_filter);
  if (!sandboxes) return fail(sandboxes.error());
  cri::v1::ContainerFilter container_filter;
  (*container_filter.mutable_label_selector())[node_label] = node_id;
  auto containers = cri.listContainers(container_filter);
  if (!containers) return fail(containers.error());
  RuntimeCensus census;
  for (const auto& sandbox : *sandboxes) {
    auto label = sandbox.labels().find(id_label);
    if (label == sandbox.labels().end()) continue;
    auto& entry = census[label->second];
    entry.sandbox_ids.push_back(sandbox.id());
    if (sandbox.state() == cri::v1::SANDBOX_READY) entry.ready_sandbox_ids.push_back(sandbox.id());
  }
  for (const auto& container : *containers) {
    auto label = container.labels().find(id_label);
    if (label == container.labels().end()) continue;
    auto& entry = census[label->second];
    entry.container_ids.push_back(container.id());
    if (container.state() == cri::v1::CONTAINER_RUNNING) {
      entry.running_containers.push_back(container.id());
    }
  }
  return census;
}

// Workloads of the census with more than one sandbox.
inline std::vector<std::string> duplicatedIn(const RuntimeCensus& census) {
  std::vector<std::string> out;
  for (const auto& [id, entry] : census) {
    if (entry.sandbox_ids.size() > 1) out.push_back(id);
  }
  return out;
}

}  // namespace zp::faults
