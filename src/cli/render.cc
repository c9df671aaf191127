#include "cli/render.h"

#include <utility>
#include <vector>

#include "cli/decode.h"
#include "cli/render_isolation.h"
#include "cli/table.h"

namespace zp::cli {
namespace {

using nlohmann::json;

constexpr std::string_view kNone = "-";

std::string memory(std::int64_t mb) { return std::to_string(mb) + "Mi"; }
std::string cpu(std::int64_t millicores) { return std::to_string(millicores) + "m"; }

std::string exitCode(const api::WorkloadStatus& status) {
  return status.exit_code ? std::to_string(*status.exit_code) : std::string(kNone);
}

std::string timestamp(const std::optional<TimePoint>& t, TimePoint now) {
  if (!t) return std::string(kNone);
  return formatRfc3339(*t) + " (" + formatAge(now - *t) + " ago)";
}

std::string age(const api::WorkloadStatus& status, TimePoint now) {
  return status.created_at ? formatAge(now - *status.created_at) : std::string(kNone);
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

std::string trust(const api::WorkloadSpec& spec) {
  return spec.trust ? std::string(api::trustName(*spec.trust)) : std::string(kNone);
}

std::string profile(const WorkloadView& view) {
  if (!view.status.profile.empty()) return view.status.profile;
  return std::string(api::profileName(view.spec.security.profile));
}

std::string user(const WorkloadView& view) {
  auto ids = [](std::optional<std::int64_t> uid, std::optional<std::int64_t> gid) {
    return std::to_string(*uid) + (gid ? ":" + std::to_string(*gid) : std::string());
  };
  if (view.status.run_as_user) return ids(view.status.run_as_user, view.status.run_as_group);
  const auto& security = view.spec.security;
  if (security.run_as_user) return ids(security.run_as_user, security.run_as_group);
  return std::string(kNone);
}

// A list of strings from an object's key, or nullopt if it is not one.
std::optional<std::vector<std::string>> stringList(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& item : *it) {
    if (!item.is_string()) return std::nullopt;
    out.push_back(item.get<std::string>());
  }
  return out;
}

}  // namespace

std::string renderJson(const json& reply) {
  return reply.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<std::string> renderCreated(const json& workload) {
  auto view = decodeWorkload(workload);
  if (!view) return fail(view.error());
  return renderTable({"ID", "STATE"},
                     {{view->status.id, std::string(api::stateName(view->status.state))}});
}

Result<std::string> renderDeleted(const json& workload) {
  auto view = decodeWorkload(workload);
  if (!view) return fail(view.error());
  return "workload \"" + sanitize(view->status.id) +
         "\" deleted (state: " + std::string(api::stateName(view->status.state)) + ")\n";
}

Result<std::string> renderWorkload(const json& workload, TimePoint now) {
  auto view = decodeWorkload(workload);
  if (!view) return fail(view.error());
  const auto& spec = view->spec;
  const auto& status = view->status;
  return renderKeyValues({
      {"ID", status.id},
      {"STATE", std::string(api::stateName(status.state))},
      {"REASON", orNone(status.reason)},
      {"MESSAGE", orNone(status.message)},
      {"EXIT CODE", exitCode(status)},
      {"RESTARTS", std::to_string(status.restart_count)},
      {"NODE", orNone(status.node)},
      {"IMAGE", orNone(spec.image)},
      {"CLASS", orNone(spec.runtime_class)},
      {"ISOLATION", renderWorkloadIsolation(*view, now)},
      {"TRUST", trust(spec)},
      {"PROFILE", profile(*view)},
      {"USER", user(*view)},
      {"MEMORY", memory(spec.memory_mb)},
      {"CPU", cpu(spec.cpu_millicores)},
      {"RESTART POLICY", std::string(api::restartPolicyName(spec.restart_policy))},
      {"CREATED", timestamp(status.created_at, now)},
      {"STARTED", timestamp(status.started_at, now)},
      {"FINISHED", timestamp(status.finished_at, now)},
  });
}

Result<std::string> renderWorkloadList(const json& reply, TimePoint now) {
  auto views = decodeWorkloadList(reply);
  if (!views) return fail(views.error());
  if (views->empty()) return std::string("No workloads found.\n");
  std::vector<std::vector<std::string>> rows;
  rows.reserve(views->size());
  for (const auto& view : *views) {
    const auto& spec = view.spec;
    const auto& status = view.status;
    rows.push_back({status.id, std::string(api::stateName(status.state)), orNone(status.reason),
                    std::to_string(status.restart_count), exitCode(status), orNone(status.node),
                    orNone(spec.runtime_class), orNone(spec.image), age(status, now)});
  }
  return renderTable({"ID", "STATE", "REASON", "RESTARTS", "EXIT", "NODE", "CLASS", "IMAGE", "AGE"},
                     rows);
}

namespace {
const std::vector<std::size_t> kWatchWidths = {8, 20, 9, 18, 8, 4, 12};
}  // namespace

std::string renderWatchHeader() {
  return renderRow({"EVENT", "ID", "STATE", "REASON", "RESTARTS", "EXIT", "NODE", "AGE"},
                   kWatchWidths);
}

std::string renderWatchRow(const WatchEventView& event, TimePoint now) {
  const auto& status = event.view.status;
  return renderRow({event.type, status.id, std::string(api::stateName(status.state)),
                    orNone(status.reason), std::to_string(status.restart_count), exitCode(status),
                    orNone(status.node), age(status, now)},
                   kWatchWidths);
}

namespace {

std::string allocOfCap(std::int64_t allocated, std::int64_t capacity,
                       std::string (*unit)(std::int64_t)) {
  return unit(allocated) + "/" + unit(capacity);
}

std::string renderNodeTable(const std::vector<NodeView>& nodes, TimePoint now) {
  std::vector<std::vector<std::string>> rows;
  rows.reserve(nodes.size());
  for (const auto& node : nodes) {
    std::string state = orNone(node.state);
    if (!node.reason.empty()) state += " (" + node.reason + ")";
    rows.push_back(
        {node.id, state, node.schedulable ? "yes" : "no (cordoned)", renderNodeClasses(node),
         allocOfCap(node.allocated.memory_mb, node.capacity.memory_mb, memory),
         allocOfCap(node.allocated.cpu_millicores, node.capacity.cpu_millicores, cpu),
         std::to_string(node.workloads),
         node.last_heartbeat ? formatAge(now - *node.last_heartbeat) : std::string(kNone)});
  }
  return renderTable({"NODE", "STATE", "SCHEDULABLE", "CLASSES", "MEMORY(alloc/cap)",
                      "CPU(alloc/cap)", "WORKLOADS", "HEARTBEAT"},
                     rows);
}

}  // namespace

Result<std::string> renderNodes(const json& reply, TimePoint now) {
  auto nodes = decodeNodeList(reply);
  if (!nodes) return fail(nodes.error());
  if (nodes->empty()) return std::string("No nodes found.\n");
  return renderNodeTable(*nodes, now);
}

Result<std::string> renderNode(const json& node, TimePoint now) {
  auto view = decodeNode(node);
  if (!view) return fail(view.error());
  return renderNodeTable({std::move(*view)}, now);
}

Result<std::string> renderTrustLevels(const json& reply) {
  const auto unexpected = [](std::string why) {
    return fail(Code::kInternal, "unexpected reply from the server: " + why);
  };
  if (!reply.is_object()) return unexpected("expected a JSON object");
  auto items = reply.find("items");
  if (items == reply.end() || !items->is_array()) return unexpected("expected an \"items\" array");
  std::vector<std::vector<std::string>> rows;
  for (const auto& item : *items) {
    if (!item.is_object()) return unexpected("a trust level must be a JSON object");
    auto name = item.find("name");
    auto min_profile = item.find("min_profile");
    auto classes = stringList(item, "runtime_classes");
    auto available = stringList(item, "available");
    if (name == item.end() || !name->is_string() || min_profile == item.end() ||
        !min_profile->is_string() || !classes || !available) {
      return unexpected("a trust level needs name, min_profile, runtime_classes and available");
    }
    auto is_default = item.find("default");
    const bool dflt =
        is_default != item.end() && is_default->is_boolean() && is_default->get<bool>();
    auto min_isolation = item.find("min_isolation");
    const std::string isolation = min_isolation != item.end() && min_isolation->is_string()
                                      ? min_isolation->get<std::string>()
                                      : std::string(kNone);
    rows.push_back({name->get<std::string>(), dflt ? "yes" : "", min_profile->get<std::string>(),
                    isolation, join(*classes, ","), orNone(join(*available, ","))});
  }
  return renderTable({"TRUST", "DEFAULT", "MIN PROFILE", "MIN ISOLATION", "CLASSES", "AVAILABLE"},
                     rows);
}

std::string formatAge(std::chrono::system_clock::duration age) {
  using namespace std::chrono;
  auto s = duration_cast<seconds>(age).count();
  if (s < 0) s = 0;
  if (s < 120) return std::to_string(s) + "s";
  if (s < 2 * 3600) return std::to_string(s / 60) + "m";
  if (s < 2 * 86400) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

}  // namespace zp::cli
