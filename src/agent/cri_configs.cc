// The workload posture, stated once. Every container gets, whatever its spec:
//   - never privileged; the pod's own network, IPC and UTS namespaces (UTS
//     follows the pod network namespace in CRI runtimes; the hostname is the
//     workload id) and a PID namespace of its own;
//   - seccomp RuntimeDefault and no_new_privs;
//   - all capabilities dropped, then exactly the profile's set added back
//     (so the set never depends on the runtime's defaults);
//   - a user decided by the node (user_resolution.h): never root under
//     `restricted`;
//   - the kubelet's masked and read-only /proc and /sys paths;
//   - a pod-level pids limit (pod_cgroups.h), and the root file system
//     read-only when the spec asks.
// The sandbox (pause) gets the matching least-privilege context: same
// namespaces and seccomp, a non-root user, a read-only root file system.

#include "agent/cri_configs.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "agent/spec_annotation.h"
#include "api/json.h"
#include "api/posture_paths.h"
#include "api/validate.h"

namespace zp::agent {
namespace {

void setLabels(google::protobuf::Map<std::string, std::string>& out,
               const WorkloadIdentity& identity, const std::string& node_id) {
  for (const auto& [k, v] : ownerLabels(identity, node_id)) out[k] = v;
  out[std::string(kLabelUid)] = identity.uid;
  // A probe is no workload: no workload id, and not kLabelManaged (above).
  if (identity.probe) return;
  out[std::string(kLabelWorkloadId)] = identity.spec.id;
  // The decided user survives an agent restart on the objects themselves.
  if (identity.run_as_user)
    out[std::string(kLabelRunAsUser)] = std::to_string(*identity.run_as_user);
  if (identity.run_as_group)
    out[std::string(kLabelRunAsGroup)] = std::to_string(*identity.run_as_group);
}

// Memory limit, CFS quota/period and shares: the workload's, for the sandbox
// (VM-based runtimes size the zone from these) and the container alike.
void setResources(cri::v1::LinuxContainerResources& resources, const api::WorkloadSpec& spec) {
  resources.set_memory_limit_in_bytes(spec.memory_mb * 1024 * 1024);
  resources.set_cpu_period(kCpuPeriodMicros);
  resources.set_cpu_quota(spec.cpu_millicores * kCpuPeriodMicros / 1000);
  resources.set_cpu_shares(cpuShares(spec.cpu_millicores));
}

// Pod network and IPC namespaces; `pid` decides the PID namespace. POD is the
// zero value: set explicitly all the same, so the intent is on the wire.
void ownNamespaces(cri::v1::NamespaceOption& ns, cri::v1::NamespaceMode pid) {
  ns.set_network(cri::v1::POD);
  ns.set_pid(pid);
  ns.set_ipc(cri::v1::POD);
}

bool holdsNetBindService(const api::SecuritySpec& security) {
  const auto caps = grantedCapabilities(security);
  return std::find(caps.begin(), caps.end(), "NET_BIND_SERVICE") != caps.end();
}

// A label value written by setLabels: a uid/gid in 0..kMaxUserId.
std::optional<std::optional<std::int64_t>> idLabel(const cri::v1::PodSandbox& sandbox,
                                                   std::string_view key) {
  const auto it = sandbox.labels().find(std::string(key));
  if (it == sandbox.labels().end()) return std::optional<std::int64_t>{};
  std::int64_t value = -1;
  const auto& text = it->second;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < 0 ||
      value > api::kMaxUserId) {
    return std::nullopt;
  }
  return std::optional<std::int64_t>(value);
}

}  // namespace

std::map<std::string, std::string> nodeLabels(const std::string& node_id) {
  return {{std::string(kLabelManaged), "true"}, {std::string(kLabelNodeId), node_id}};
}

std::map<std::string, std::string> ownerLabels(const WorkloadIdentity& identity,
                                               const std::string& node_id) {
  if (!identity.probe) return nodeLabels(node_id);
  return {{std::string(kLabelProbe), identity.spec.runtime_class},
          {std::string(kLabelNodeId), node_id}};
}

std::int64_t cpuShares(std::int64_t millicores) {
  return std::max<std::int64_t>(2, millicores * 1024 / 1000);
}

std::vector<std::string> grantedCapabilities(const api::SecuritySpec& security) {
  std::vector<std::string> caps(security.capabilities_add.begin(), security.capabilities_add.end());
  if (security.profile == api::Profile::kBaseline) {
    for (auto c : api::kBaselineCapabilities) caps.emplace_back(c);
  }
  std::sort(caps.begin(), caps.end());
  caps.erase(std::unique(caps.begin(), caps.end()), caps.end());
  return caps;
}

cri::v1::PodSandboxConfig sandboxConfig(const WorkloadIdentity& identity,
                                        const std::string& node_id,
                                        const std::string& log_directory,
                                        const PodPlacement& placement) {
  const auto& spec = identity.spec;
  cri::v1::PodSandboxConfig config;
  auto* meta = config.mutable_metadata();
  meta->set_name(spec.id);
  meta->set_namespace_(std::string(kSandboxNamespace));
  meta->set_uid(identity.uid);
  meta->set_attempt(identity.attempt);
  config.set_hostname(spec.id);
  config.set_log_directory(log_directory);
  setLabels(*config.mutable_labels(), identity, node_id);
  for (auto& [key, value] : specAnnotations(spec)) (*config.mutable_annotations())[key] = value;

  auto* linux = config.mutable_linux();
  // The pod's cgroup, whose pids.max bounds the sandbox and every container.
  linux->set_cgroup_parent(placement.cgroup_parent);
  setResources(*linux->mutable_resources(), spec);
  if (holdsNetBindService(spec.security)) {
    (*linux->mutable_sysctls())[std::string(kUnprivilegedPortSysctl)] = "0";
  }

  auto* security = linux->mutable_security_context();
  security->set_privileged(false);
  ownNamespaces(*security->mutable_namespace_options(), cri::v1::POD);
  security->mutable_seccomp()->set_profile_type(cri::v1::SecurityProfile::RuntimeDefault);
  const bool non_root = identity.run_as_user && *identity.run_as_user != 0 &&
                        identity.run_as_group && *identity.run_as_group != 0;
  security->mutable_run_as_user()->set_value(non_root ? *identity.run_as_user : kSandboxUser);
  security->mutable_run_as_group()->set_value(non_root ? *identity.run_as_group : kSandboxUser);
  security->set_readonly_rootfs(true);
  security->set_supplemental_groups_policy(cri::v1::Strict);
  return config;
}

std::string containerLogName(unsigned attempt) {
  if (attempt == 0) return std::string(kContainerName) + ".log";
  return std::string(kContainerName) + "." + std::to_string(attempt) + ".log";
}

std::optional<unsigned> logAttempt(std::string_view path) {
  const auto slash = path.rfind('/');
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const std::string first = std::string(kContainerName) + ".log";
  if (name == first) return 0u;
  const std::string prefix = std::string(kContainerName) + ".";
  if (!name.starts_with(prefix) || !name.ends_with(".log")) return std::nullopt;
  name = name.substr(prefix.size(), name.size() - prefix.size() - 4);
  unsigned attempt = 0;
  const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), attempt);
  if (ec != std::errc() || end != name.data() + name.size() || name.empty() || name[0] == '0') {
    return std::nullopt;
  }
  return attempt;
}

cri::v1::ContainerConfig containerConfig(const WorkloadIdentity& identity,
                                         const std::string& node_id,
                                         const PodPlacement& placement, unsigned attempt) {
  const auto& spec = identity.spec;
  cri::v1::ContainerConfig config;
  config.mutable_metadata()->set_name(std::string(kContainerName));
  // Each restart is a new container with the next attempt: the runtime
  // names containers by (name, attempt), so a retried create cannot make two.
  config.mutable_metadata()->set_attempt(attempt);
  config.mutable_image()->set_image(spec.image);
  for (const auto& c : spec.command) config.add_command(c);
  for (const auto& a : spec.args) config.add_args(a);
  for (const auto& [k, v] : spec.env) {
    auto* kv = config.add_envs();
    kv->set_key(k);
    kv->set_value(v);
  }
  setLabels(*config.mutable_labels(), identity, node_id);
  config.set_log_path(containerLogName(attempt));

  auto* linux = config.mutable_linux();
  auto* resources = linux->mutable_resources();
  setResources(*resources, spec);
  // cgroup v2: the container's own pids.max too, so the workload can read it.
  if (placement.unified_pids) {
    (*resources->mutable_unified())["pids.max"] = std::to_string(spec.security.pids_limit);
  }

  auto* security = linux->mutable_security_context();
  // 1. Never privileged; pod network/IPC, a PID namespace of its own.
  security->set_privileged(false);
  ownNamespaces(*security->mutable_namespace_options(), cri::v1::CONTAINER);
  // 2. The runtime's default seccomp filter; setuid binaries and file
  //    capabilities grant nothing.
  security->mutable_seccomp()->set_profile_type(cri::v1::SecurityProfile::RuntimeDefault);
  security->set_no_new_privs(true);
  // 3. Capabilities: none but the profile's.
  auto* caps = security->mutable_capabilities();
  caps->add_drop_capabilities("ALL");
  for (const auto& c : grantedCapabilities(spec.security)) caps->add_add_capabilities(c);
  // 4. The user decided by the node (unset: the image's own, baseline only),
  //    and no supplementary group from the image's /etc/group (Strict; see
  //    CriRuntime::warnAboutGaps for runtimes that ignore it).
  if (identity.run_as_user) security->mutable_run_as_user()->set_value(*identity.run_as_user);
  if (identity.run_as_group) security->mutable_run_as_group()->set_value(*identity.run_as_group);
  security->set_supplemental_groups_policy(cri::v1::Strict);
  // 5. The root file system, read-only on request.
  security->set_readonly_rootfs(spec.security.read_only_root_fs);
  // 6. /proc and /sys: hidden and read-only paths.
  for (auto p : api::kMaskedPaths) security->add_masked_paths(std::string(p));
  for (auto p : api::kReadonlyPaths) security->add_readonly_paths(std::string(p));
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
  if (!isValidSubmissionUid(sandbox.metadata().uid())) return std::nullopt;
  const auto user = idLabel(sandbox, kLabelRunAsUser);
  const auto group = idLabel(sandbox, kLabelRunAsGroup);
  if (!user || !group) return std::nullopt;
  WorkloadIdentity identity;
  identity.spec = std::move(spec->spec);
  identity.uid = sandbox.metadata().uid();
  identity.attempt = sandbox.metadata().attempt();
  identity.spec_digest = std::move(spec->digest);
  identity.spec_complete = spec->complete;
  identity.run_as_user = *user;
  identity.run_as_group = *group;
  return identity;
}

}  // namespace zp::agent
