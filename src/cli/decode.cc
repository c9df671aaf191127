#include "cli/decode.h"

#include <string_view>
#include <utility>

#include "api/json.h"

namespace zp::cli {
namespace {

using nlohmann::json;

std::unexpected<Error> unexpected(std::string_view why) {
  return fail(Code::kInternal, "unexpected reply from the server: " + std::string(why));
}

std::unexpected<Error> unexpected(const Error& error) {
  std::string why = error.message;
  if (!error.field.empty()) why += " (field: " + error.field + ")";
  return unexpected(why);
}

Result<const json*> items(const json& j) {
  if (!j.is_object()) return unexpected("expected a JSON object");
  auto it = j.find("items");
  if (it == j.end() || !it->is_array()) return unexpected("expected an \"items\" array");
  return &*it;
}

// One isolation item: api::ClassIsolation plus "age_seconds".
Result<ClassIsolationView> decodeClassIsolation(const json& j) {
  auto isolation = api::classIsolationFromJson(j);
  if (!isolation) return unexpected(isolation.error());
  ClassIsolationView view{std::move(*isolation), std::nullopt};
  if (auto it = j.find("age_seconds"); it != j.end() && !it->is_null()) {
    if (!it->is_number_integer())
      return unexpected("isolation field \"age_seconds\" must be an integer");
    view.age_seconds = it->get<std::int64_t>();
  }
  return view;
}

Result<std::vector<ClassIsolationView>> decodeClassIsolations(const json& j,
                                                              std::string_view what) {
  if (!j.is_array()) return unexpected(std::string(what) + " must be a list");
  std::vector<ClassIsolationView> out;
  out.reserve(j.size());
  for (const auto& item : j) {
    auto c = decodeClassIsolation(item);
    if (!c) return fail(c.error());
    out.push_back(std::move(*c));
  }
  return out;
}

// status.isolation: {"level", "score", "verified_at"?, "quarantined"}.
Result<WorkloadIsolationView> decodeWorkloadIsolation(const json& j) {
  if (!j.is_object()) return unexpected("status field \"isolation\" must be an object");
  WorkloadIsolationView view;
  auto level = j.find("level");
  if (level == j.end() || !level->is_string()) {
    return unexpected("status field \"isolation.level\" must be a string");
  }
  auto parsed = api::parseIsolationLevel(level->get<std::string>());
  if (!parsed)
    return unexpected("unknown isolation level \"" + level->get<std::string>().substr(0, 40) +
                      "\"");
  view.level = *parsed;
  if (auto it = j.find("score"); it != j.end()) {
    if (!it->is_number_integer())
      return unexpected("status field \"isolation.score\" must be an integer");
    view.score = it->get<int>();
  }
  if (auto it = j.find("quarantined"); it != j.end()) {
    if (!it->is_boolean())
      return unexpected("status field \"isolation.quarantined\" must be a boolean");
    view.quarantined = it->get<bool>();
  }
  if (auto it = j.find("verified_at"); it != j.end() && !it->is_null()) {
    if (!it->is_string() || !parseRfc3339(it->get<std::string>())) {
      return unexpected("status field \"isolation.verified_at\" is not an RFC 3339 time");
    }
    view.verified_at = parseRfc3339(it->get<std::string>());
  }
  return view;
}

}  // namespace

Result<WorkloadView> decodeWorkload(const json& j) {
  if (!j.is_object()) return unexpected("a workload must be a JSON object");
  auto spec_it = j.find("spec");
  auto status_it = j.find("status");
  if (spec_it == j.end() || !spec_it->is_object()) {
    return unexpected("a workload needs a \"spec\" object");
  }
  if (status_it == j.end() || !status_it->is_object()) {
    return unexpected("a workload needs a \"status\" object");
  }
  auto spec = api::workloadSpecFromJson(*spec_it, "spec.", api::UnknownFields::kIgnore);
  if (!spec) return unexpected(spec.error());
  auto status = api::workloadStatusFromJson(*status_it);
  if (!status) return unexpected(status.error());
  WorkloadView view{std::move(*spec), std::move(*status), std::nullopt};
  if (auto it = status_it->find("isolation"); it != status_it->end() && !it->is_null()) {
    auto isolation = decodeWorkloadIsolation(*it);
    if (!isolation) return fail(isolation.error());
    view.isolation = *isolation;
  }
  return view;
}

Result<std::vector<WorkloadView>> decodeWorkloadList(const json& j) {
  auto list = items(j);
  if (!list) return fail(list.error());
  std::vector<WorkloadView> out;
  out.reserve((*list)->size());
  for (const json& item : **list) {
    auto view = decodeWorkload(item);
    if (!view) return fail(view.error());
    out.push_back(std::move(*view));
  }
  return out;
}

Result<NodeView> decodeNode(const json& j) {
  if (!j.is_object()) return unexpected("a node must be a JSON object");
  NodeView view;
  auto id = j.find("id");
  if (id == j.end() || !id->is_string()) return unexpected("a node needs an \"id\" string");
  view.id = id->get<std::string>();
  const auto text = [&](const char* key) -> Result<std::string> {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::string();
    if (!it->is_string())
      return unexpected(std::string("node field \"") + key + "\" must be a string");
    return it->get<std::string>();
  };
  const auto resources = [&](const char* key) -> Result<api::Resources> {
    api::Resources r;
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return r;
    if (!it->is_object())
      return unexpected(std::string("node field \"") + key + "\" must be an object");
    for (auto [name, field] :
         {std::pair{"memory_mb", &r.memory_mb}, std::pair{"cpu_millicores", &r.cpu_millicores}}) {
      auto v = it->find(name);
      if (v == it->end()) continue;
      if (!v->is_number_integer()) {
        return unexpected(std::string("node field \"") + key + "." + name +
                          "\" must be an integer");
      }
      *field = v->get<std::int64_t>();
    }
    return r;
  };
  for (auto [key, field] :
       {std::pair{"address", &view.address}, std::pair{"state", &view.state},
        std::pair{"reason", &view.reason}, std::pair{"version", &view.version}}) {
    auto value = text(key);
    if (!value) return fail(value.error());
    *field = std::move(*value);
  }
  for (auto [key, field] :
       {std::pair{"capacity", &view.capacity}, std::pair{"allocated", &view.allocated},
        std::pair{"allocatable", &view.allocatable}}) {
    auto value = resources(key);
    if (!value) return fail(value.error());
    *field = *value;
  }
  if (auto it = j.find("schedulable"); it != j.end()) {
    if (!it->is_boolean()) return unexpected("node field \"schedulable\" must be a boolean");
    view.schedulable = it->get<bool>();
  }
  if (auto it = j.find("workloads"); it != j.end()) {
    if (!it->is_number_integer()) return unexpected("node field \"workloads\" must be an integer");
    view.workloads = it->get<int>();
  }
  if (auto it = j.find("runtime_classes"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return unexpected("node field \"runtime_classes\" must be a list");
    for (const auto& c : *it) {
      if (!c.is_string()) return unexpected("node field \"runtime_classes\" must hold strings");
      view.runtime_classes.push_back(c.get<std::string>());
    }
  }
  if (auto it = j.find("isolation"); it != j.end() && !it->is_null()) {
    auto isolation = decodeClassIsolations(*it, "node field \"isolation\"");
    if (!isolation) return fail(isolation.error());
    view.isolation = std::move(*isolation);
  }
  auto heartbeat = text("last_heartbeat");
  if (!heartbeat) return fail(heartbeat.error());
  if (!heartbeat->empty()) {
    view.last_heartbeat = parseRfc3339(*heartbeat);
    if (!view.last_heartbeat)
      return unexpected("node field \"last_heartbeat\" is not an RFC 3339 time");
  }
  return view;
}

Result<std::vector<NodeView>> decodeNodeList(const json& j) {
  auto list = items(j);
  if (!list) return fail(list.error());
  std::vector<NodeView> out;
  out.reserve((*list)->size());
  for (const json& item : **list) {
    auto view = decodeNode(item);
    if (!view) return fail(view.error());
    out.push_back(std::move(*view));
  }
  return out;
}

Result<NodeIsolationView> decodeNodeIsolation(const json& j) {
  if (!j.is_object()) return unexpected("expected a JSON object");
  auto node = j.find("node");
  if (node == j.end() || !node->is_string()) return unexpected("expected a \"node\" string");
  auto classes = j.find("classes");
  if (classes == j.end()) return unexpected("expected a \"classes\" list");
  auto decoded = decodeClassIsolations(*classes, "\"classes\"");
  if (!decoded) return fail(decoded.error());
  return NodeIsolationView{node->get<std::string>(), std::move(*decoded)};
}

Result<WatchEventView> decodeWatchEvent(std::string_view line) {
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return unexpected("a watch event must be a JSON object");
  auto type = j.find("type");
  if (type == j.end() || !type->is_string()) return unexpected("a watch event needs a \"type\"");
  const std::string name = type->get<std::string>();
  if (name == "ERROR") {
    Error error{Code::kInternal, "the server ended the watch", ""};
    if (auto e = j.find("error"); e != j.end() && e->is_object()) {
      if (auto c = e->find("code"); c != e->end() && c->is_string()) {
        error.code = codeFromName(c->get<std::string>());
      }
      if (auto m = e->find("message"); m != e->end() && m->is_string()) {
        error.message = "the server ended the watch: " + m->get<std::string>();
      }
    }
    return fail(std::move(error));
  }
  if (name != "ADDED" && name != "MODIFIED" && name != "DELETED") {
    return unexpected("unknown watch event type \"" + name.substr(0, 40) + "\"");
  }
  auto workload = j.find("workload");
  if (workload == j.end()) return unexpected("a watch event needs a \"workload\"");
  auto view = decodeWorkload(*workload);
  if (!view) return fail(view.error());
  return WatchEventView{name, std::move(*workload), std::move(*view)};
}

}  // namespace zp::cli
