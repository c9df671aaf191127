#include "agent/cri_configs.h"

#include <nlohmann/json.hpp>

#include "agent/spec_annotation.h"
#include "api/json.h"
#include "api/validate.h"

namespace zp::agent {
namespace {

void setLabels(google::protobuf::Map<std::string, std::string>& out, const WorkloadIdentity& identity,
               const std::string& node_id) {
  for (const auto& [k, v] : nodeLabels(node_id)) out[k] = v;
  out[std::string(kLabelWorkloadId)] = identity.spec.id;
  out[std::string(kLabelUid)] = identity.uid;
}

void leastPrivilege(cri::v1::SecurityProfile& seccomp) {
  seccomp.set_profile_type(cri::v1::SecurityProfile::RuntimeDefault);
}

}  // namespace

std::map<std::string, std::string> nodeLabels(const std::string& node_id) {
  return {{std::string(kLabelManaged), "true"}, {std::string(kLabelNodeId), node_id}};
}

std::int64_t cpuShares(std::int64_t millicores) {
  return std::max<std::int64_t>(2, millicores * 1024 / 1000);
}

cri::v1::PodSandboxConfig sandboxConfig(const WorkloadIdentity& identity, const std::string& node_id,
                                        const std::string& log_directory) {
  cri::v1::PodSandboxConfig config;
  auto* meta = config.mutable_metadata();
  meta->set_name(identity.spec.id);
  meta->set_namespace_(std::string(kSandboxNamespace));
  meta->set_uid(identity.uid);
  meta->set_attempt(identity.attempt);
  config.set_hostname(identity.spec.id);
  config.set_log_directory(log_directory);
  setLabels(*config.mutable_labels(), identity, node_id);
  for (auto& [key, value] : specAnnotations(identity.spec)) (*config.mutable_annotations())[key] = value;

  auto* linux = config.mutable_linux();
  auto* security = linux->mutable_security_context();
  security->set_privileged(false);
  // Network, PID and IPC namespaces of the pod's own (POD is the zero value).
  security->mutable_namespace_options()->set_network(cri::v1::POD);
  security->mutable_namespace_options()->set_pid(cri::v1::POD);
  security->mutable_namespace_options()->set_ipc(cri::v1::POD);
  leastPrivilege(*security->mutable_seccomp());
  // The sandbox's cgroup limits are the workload's (VM-based runtimes size the zone from these).
  auto* resources = linux->mutable_resources();
  resources->set_memory_limit_in_bytes(identity.spec.memory_mb * 1024 * 1024);
  resources->set_cpu_period(kCpuPeriodMicros);
  resources->set_cpu_quota(identity.spec.cpu_millicores * kCpuPeriodMicros / 1000);
  resources->set_cpu_shares(cpuShares(identity.spec.cpu_millicores));
  return config;
}

cri::v1::ContainerConfig containerConfig(const WorkloadIdentity& identity,
                                         const std::string& node_id) {
  const auto& spec = identity.spec;
  cri::v1::ContainerConfig config;
  config.mutable_metadata()->set_name(std::string(kContainerName));
  config.mutable_metadata()->set_attempt(0);
  config.mutable_image()->set_image(spec.image);
  for (const auto& c : spec.command) config.add_command(c);
  for (const auto& a : spec.args) config.add_args(a);
  for (const auto& [k, v] : spec.env) {
    auto* kv = config.add_envs();
    kv->set_key(k);
    kv->set_value(v);
  }
  setLabels(*config.mutable_labels(), identity, node_id);
  config.set_log_path(std::string(kContainerName) + ".log");

  auto* linux = config.mutable_linux();
  auto* resources = linux->mutable_resources();
  resources->set_memory_limit_in_bytes(spec.memory_mb * 1024 * 1024);
  resources->set_cpu_period(kCpuPeriodMicros);
  resources->set_cpu_quota(spec.cpu_millicores * kCpuPeriodMicros / 1000);
  resources->set_cpu_shares(cpuShares(spec.cpu_millicores));

  auto* security = linux->mutable_security_context();
  security->set_privileged(false);
  security->set_no_new_privs(true);
  leastPrivilege(*security->mutable_seccomp());
  security->mutable_namespace_options()->set_network(cri::v1::POD);
  security->mutable_namespace_options()->set_pid(cri::v1::CONTAINER);
  security->mutable_namespace_options()->set_ipc(cri::v1::POD);
  return config;
}

std::optional<WorkloadIdentity> identityFromSandbox(const cri::v1::PodSandbox& sandbox) {
  const auto it = sandbox.annotations().find(std::string(kAnnotationSpec));
  if (it == sandbox.annotations().end()) return std::nullopt;
  const auto digest = sandbox.annotations().find(std::string(kAnnotationSpecDigest));
  auto spec = specFromAnnotations(it->second, digest == sandbox.annotations().end()
                                                  ? std::nullopt
                                                  : std::optional<std::string_view>(digest->second));
  if (!spec || spec->spec.id != sandbox.metadata().name()) return std::nullopt;
  WorkloadIdentity identity;
  identity.spec = std::move(spec->spec);
  identity.uid = sandbox.metadata().uid();
  identity.attempt = sandbox.metadata().attempt();
  identity.spec_digest = std::move(spec->digest);
  identity.spec_complete = spec->complete;
  return identity;
}

}  // namespace zp::agent
