#include "stack_census.h"

#include <algorithm>

#include "agent/runtime.h"
#include "cri/client.h"

namespace zp::faults {

Result<std::map<std::string, Copies>> census(const std::string& endpoint,
                                             const std::vector<std::string>& nodes) {
  auto client = cri::Client::create(endpoint);
  if (!client) return fail(client.error());
  std::map<std::string, Copies> out;
  std::map<std::string, std::string> workload_of_sandbox;
  for (const auto& node : nodes) {
    cri::v1::PodSandboxFilter filter;
    (*filter.mutable_label_selector())[std::string(agent::kLabelNodeId)] = node;
    auto sandboxes = (*client)->listPodSandbox(filter);
    if (!sandboxes) return fail(sandboxes.error());
    for (const auto& sandbox : *sandboxes) {
      const auto label = sandbox.labels().find(std::string(agent::kLabelWorkloadId));
      if (label == sandbox.labels().end()) continue;  // not a workload's (a probe's)
      Copies& copies = out[label->second];
      ++copies.sandboxes;
      if (sandbox.state() == cri::v1::SANDBOX_READY) ++copies.ready_sandboxes;
      if (auto uid = sandbox.labels().find(std::string(agent::kLabelUid));
          uid != sandbox.labels().end()) {
        copies.uids.insert(uid->second);
      }
      workload_of_sandbox[sandbox.id()] = label->second;
    }
  }
  auto containers = (*client)->listContainers();
  if (!containers) return fail(containers.error());
  for (const auto& container : *containers) {
    auto it = workload_of_sandbox.find(container.pod_sandbox_id());
    if (it == workload_of_sandbox.end()) continue;
    Copies& copies = out[it->second];
    ++copies.containers;
    copies.max_attempt =
        std::max(copies.max_attempt, static_cast<int>(container.metadata().attempt()));
  }
  return out;
}

}  // namespace zp::faults
