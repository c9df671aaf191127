// encodeReport (probe/report_json.h): every field of the report, nullopt as
// null. Kept apart from the decoder so zoneplane-probe links nothing but
// nlohmann-json.

#include "probe/report_json.h"

#include <nlohmann/json.hpp>

namespace zp::probe {
namespace {

using nlohmann::json;

template <typename T>
json orNull(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

json kernelJson(const KernelFacts& k) {
  return json{{"boot_id", orNull(k.boot_id)},
              {"sysname", k.sysname},
              {"release", k.release},
              {"version", k.version},
              {"machine", k.machine},
              {"proc_version", k.proc_version},
              {"hypervisor_signs", k.hypervisor_signs},
              {"application_kernel_signs", k.application_kernel_signs}};
}

json processJson(const ProcessFacts& p) {
  return json{{"pid", p.pid},
              {"uid", p.uid},
              {"gid", p.gid},
              {"euid", p.euid},
              {"egid", p.egid},
              {"groups", p.groups},
              {"cap_inheritable", orNull(p.cap_inheritable)},
              {"cap_permitted", orNull(p.cap_permitted)},
              {"cap_effective", orNull(p.cap_effective)},
              {"cap_bounding", orNull(p.cap_bounding)},
              {"cap_ambient", orNull(p.cap_ambient)},
              {"seccomp", orNull(p.seccomp)},
              {"no_new_privs", orNull(p.no_new_privs)}};
}

}  // namespace

std::string encodeReport(const Report& r) {
  json masked = json::array();
  for (const auto& m : r.masked_paths) masked.push_back(json{{"path", m.path}, {"state", m.state}});
  json devices = json::array();
  for (const auto& d : r.devices) {
    devices.push_back(json{{"path", d.path},
                           {"type", std::string(1, d.type)},
                           {"major", d.major},
                           {"minor", d.minor}});
  }
  json mounts = json::array();
  for (const auto& m : r.mounts) {
    mounts.push_back(json{{"mount_point", m.mount_point},
                          {"fs_type", m.fs_type},
                          {"source", m.source},
                          {"options", m.options}});
  }
  json connects = json::array();
  for (const auto& c : r.connects) {
    connects.push_back(
        json{{"target", c.target}, {"result", c.result}, {"elapsed_ms", c.elapsed_ms}});
  }
  json j{
      {"format", r.format},
      {"probe_version", r.probe_version},
      {"kernel", kernelJson(r.kernel)},
      {"process", processJson(r.process)},
      {"pids", json{{"pid1_comm", r.pids.pid1_comm},
                    {"pid1_cmdline", r.pids.pid1_cmdline},
                    {"visible_processes", r.pids.visible_processes}}},
      {"namespaces", r.namespaces},
      {"writable", json{{"proc_sys_writable", r.writable.proc_sys_writable},
                        {"sys_writable", r.writable.sys_writable},
                        {"proc_sys_mount_ro", orNull(r.writable.proc_sys_mount_ro)},
                        {"sys_mount_ro", orNull(r.writable.sys_mount_ro)}}},
      {"masked_paths", std::move(masked)},
      {"devices", std::move(devices)},
      {"runtime_sockets", r.runtime_sockets},
      {"mounts", std::move(mounts)},
      {"cgroup", json{{"version", r.cgroup.version},
                      {"memory_limit", r.cgroup.memory_limit},
                      {"cpu_limit", r.cgroup.cpu_limit},
                      {"pids_limit", r.cgroup.pids_limit}}},
      {"network", json{{"interfaces", r.network.interfaces},
                       {"host_network_stack", orNull(r.network.host_network_stack)},
                       {"host_network_evidence", r.network.host_network_evidence}}},
      {"connects", std::move(connects)},
      {"unreadable", r.unreadable},
  };
  // Strings are valid UTF-8 as collected; `replace` keeps a stray byte from
  // turning into an exception.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace zp::probe
