// WorkloadManager::execTarget (workload_manager.h).

#include "agent/workload_manager.h"

namespace zp::agent {

Result<WorkloadManager::ExecTarget> WorkloadManager::execTarget(const std::string& id,
                                                                const std::string& uid) const {
  auto entry = existing(id);
  if (!entry) return fail(entry.error());
  std::lock_guard lock(mutex_);
  const Entry& e = **entry;
  if (!uid.empty() && e.identity.uid != uid) {
    return fail(Code::kFailedPrecondition,
                "workload \"" + id + "\" on node \"" + options_.node_id +
                    "\" is another submission (uid " + e.identity.uid + ", not " + uid + ")",
                "uid");
  }
  if (e.status.state != api::WorkloadState::kRunning || e.container_id.empty() || e.stale) {
    return fail(Code::kFailedPrecondition,
                "workload \"" + id + "\" is " + std::string(api::stateName(e.status.state)) +
                    (e.status.reason.empty() ? "" : "/" + e.status.reason) + ", not Running",
                "id");
  }
  return ExecTarget{e.identity.spec.runtime_class, e.container_id};
}

}  // namespace zp::agent
