#include "api/json.h"

#include <set>
#include <string_view>

#include "api/json_fields.h"
#include "api/validate.h"

namespace zp::api {

using nlohmann::json;

json toJson(const SecuritySpec& security) {
  json j{{"profile", profileName(security.profile)},
         {"read_only_root_fs", security.read_only_root_fs},
         {"pids_limit", security.pids_limit}};
  if (!security.capabilities_add.empty()) j["capabilities_add"] = security.capabilities_add;
  if (security.run_as_user) j["run_as_user"] = *security.run_as_user;
  if (security.run_as_group) j["run_as_group"] = *security.run_as_group;
  return j;
}

json toJson(const WorkloadSpec& spec) {
  json j{{"id", spec.id},
         {"image", spec.image},
         {"memory_mb", spec.memory_mb},
         {"cpu_millicores", spec.cpu_millicores},
         {"security", toJson(spec.security)}};
  if (!spec.runtime_class.empty()) j["runtime_class"] = spec.runtime_class;
  if (!spec.command.empty()) j["command"] = spec.command;
  if (!spec.args.empty()) j["args"] = spec.args;
  if (!spec.env.empty()) j["env"] = spec.env;
  if (spec.trust) j["trust"] = trustName(*spec.trust);
  j["restart_policy"] = restartPolicyName(spec.restart_policy);
  return j;
}

namespace {

// A string field holding one of a fixed set of names.
template <typename T>
Result<std::optional<T>> optName(const json& j, std::string_view key, std::string_view prefix,
                                 std::optional<T> (*parse)(std::string_view),
                                 std::string_view allowed) {
  auto name = fields::optString(j, key, prefix);
  if (!name) return fail(name.error());
  if (!*name) return std::optional<T>{};
  auto value = parse(**name);
  if (!value) {
    const std::string field = std::string(prefix) + std::string(key);
    return fail(Code::kInvalidArgument,
                field + " \"" + (*name)->substr(0, 80) + "\" is not one of " + std::string(allowed),
                field);
  }
  return std::optional<T>{*value};
}

Result<std::optional<bool>> optBool(const json& j, std::string_view key, std::string_view prefix) {
  auto it = j.find(key);
  if (it == j.end()) return std::optional<bool>{};
  if (!it->is_boolean()) {
    const std::string field = std::string(prefix) + std::string(key);
    return fail(Code::kInvalidArgument,
                "field \"" + field + "\" must be true or false, got " + it->type_name(), field);
  }
  return std::optional<bool>{it->get<bool>()};
}

Result<SecuritySpec> securityFromJson(const json& j, const std::string& prefix,
                                      UnknownFields unknown) {
  if (unknown == UnknownFields::kReject) {
    if (auto s = fields::requireObject(j, "security",
                                       {"profile", "capabilities_add", "read_only_root_fs",
                                        "run_as_user", "run_as_group", "pids_limit"},
                                       prefix);
        !s) {
      return fail(s.error());
    }
  } else if (!j.is_object()) {
    return fail(Code::kInvalidArgument, "security must be a JSON object", "security");
  }
  SecuritySpec security;
  auto profile = optName<Profile>(j, "profile", prefix, &parseProfile, "restricted, baseline");
  if (!profile) return fail(profile.error());
  if (*profile) security.profile = **profile;
  auto caps = fields::optStringList(j, "capabilities_add", prefix);
  if (!caps) return fail(caps.error());
  if (*caps) security.capabilities_add = std::move(**caps);
  auto read_only = optBool(j, "read_only_root_fs", prefix);
  if (!read_only) return fail(read_only.error());
  security.read_only_root_fs = read_only->value_or(false);
  auto user = fields::optInt(j, "run_as_user", prefix);
  if (!user) return fail(user.error());
  security.run_as_user = *user;
  auto group = fields::optInt(j, "run_as_group", prefix);
  if (!group) return fail(group.error());
  security.run_as_group = *group;
  auto pids = fields::optInt(j, "pids_limit", prefix);
  if (!pids) return fail(pids.error());
  security.pids_limit = pids->value_or(kDefaultPidsLimit);
  return security;
}

// A string field that, when present, must name something: "" is refused
// rather than read as absent (absent is ""; what absence means, say "to
// have one generated", ends the message).
Result<std::string> optNonEmptyString(const json& j, std::string_view key, std::string_view prefix,
                                      std::string_view absent_means) {
  auto value = fields::optString(j, key, prefix);
  if (!value) return fail(value.error());
  const std::string field = std::string(prefix) + std::string(key);
  if (*value && (*value)->empty()) {
    return fail(Code::kInvalidArgument,
                field + " must not be empty (leave it out " + std::string(absent_means) + ")",
                field);
  }
  return value->value_or("");
}

}  // namespace

Result<WorkloadSpec> workloadSpecFromJson(const json& j, std::string_view prefix,
                                          UnknownFields unknown) {
  if (unknown == UnknownFields::kIgnore && !j.is_object()) {
    return fail(Code::kInvalidArgument,
                std::string("workload must be a JSON object, got ") + j.type_name());
  }
  if (unknown == UnknownFields::kReject) {
    if (auto s = fields::requireObject(j, "workload",
                                       {"id", "image", "runtime_class", "memory_mb",
                                        "cpu_millicores", "command", "args", "env", "trust",
                                        "security", "restart_policy"},
                                       prefix);
        !s) {
      return fail(s.error());
    }
  }
  WorkloadSpec spec;
  auto id = optNonEmptyString(j, "id", prefix, "to have one generated");
  if (!id) return fail(id.error());
  spec.id = std::move(*id);
  auto image = fields::optString(j, "image", prefix);
  if (!image) return fail(image.error());
  spec.image = image->value_or("");
  auto cls = optNonEmptyString(j, "runtime_class", prefix, "to let the scheduler choose");
  if (!cls) return fail(cls.error());
  spec.runtime_class = std::move(*cls);
  // Absent resources take the defaults; a present value is kept as given, so
  // an explicit 0 fails validation instead of silently becoming the default.
  auto mem = fields::optInt(j, "memory_mb", prefix);
  if (!mem) return fail(mem.error());
  spec.memory_mb = mem->value_or(kDefaultMemoryMb);
  auto cpu = fields::optInt(j, "cpu_millicores", prefix);
  if (!cpu) return fail(cpu.error());
  spec.cpu_millicores = cpu->value_or(kDefaultCpuMillicores);
  auto command = fields::optStringList(j, "command", prefix);
  if (!command) return fail(command.error());
  if (*command) spec.command = std::move(**command);
  auto args = fields::optStringList(j, "args", prefix);
  if (!args) return fail(args.error());
  if (*args) spec.args = std::move(**args);
  auto env = fields::optStringMap(j, "env", prefix);
  if (!env) return fail(env.error());
  if (*env) spec.env = std::move(**env);
  auto trust = optName<TrustLevel>(j, "trust", prefix, &parseTrust,
                                   "untrusted, multi_tenant, internal");
  if (!trust) return fail(trust.error());
  spec.trust = *trust;
  if (auto it = j.find("security"); it != j.end()) {
    auto security = securityFromJson(*it, std::string(prefix) + "security.", unknown);
    if (!security) return fail(security.error());
    spec.security = std::move(*security);
  }
  auto restart = optName<RestartPolicy>(j, "restart_policy", prefix, &parseRestartPolicy,
                                        "Never, OnFailure, Always");
  if (!restart) return fail(restart.error());
  spec.restart_policy = restart->value_or(RestartPolicy::kNever);
  return spec;
}

namespace {
void putTime(json& j, const char* key, const std::optional<TimePoint>& t) {
  if (t) j[key] = formatRfc3339(*t);
}
void putIfSet(json& j, const char* key, const std::string& v) {
  if (!v.empty()) j[key] = v;
}
std::string getString(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
}
std::optional<TimePoint> getTime(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return parseRfc3339(it->get<std::string>());
}
std::int64_t getInt(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}

// What a node declares is what the scheduler counts on: a capacity is 0 to
// kMaxNodeResource, and allocatable (capacity minus requests) never above it.
std::optional<Error> checkNodeResources(const NodeInfo& n) {
  const auto check = [](std::int64_t capacity, std::int64_t allocatable,
                        const char* name) -> std::optional<Error> {
    if (capacity < 0 || capacity > kMaxNodeResource) {
      return Error{Code::kInvalidArgument,
                   std::string("capacity.") + name + " must be from 0 to " +
                       std::to_string(kMaxNodeResource) + ", got " + std::to_string(capacity),
                   std::string("capacity.") + name};
    }
    if (allocatable > capacity || allocatable < -kMaxNodeResource) {
      return Error{Code::kInvalidArgument,
                   std::string("allocatable.") + name + " " + std::to_string(allocatable) +
                       " is not within -" + std::to_string(kMaxNodeResource) +
                       " and the capacity " + std::to_string(capacity),
                   std::string("allocatable.") + name};
    }
    return std::nullopt;
  };
  if (auto bad = check(n.capacity.memory_mb, n.allocatable.memory_mb, "memory_mb")) return bad;
  return check(n.capacity.cpu_millicores, n.allocatable.cpu_millicores, "cpu_millicores");
}

// Class names are DNS-1123 labels (as an agent's config requires), at most
// kMaxIsolationClasses of them, each once.
std::optional<Error> checkNodeClasses(const std::vector<std::string>& classes) {
  if (classes.size() > kMaxIsolationClasses) {
    return Error{
        Code::kInvalidArgument,
        "runtime_classes must list at most " + std::to_string(kMaxIsolationClasses) + " classes",
        "runtime_classes"};
  }
  std::set<std::string_view> seen;
  for (const auto& name : classes) {
    if (!isDns1123Label(name)) {
      return Error{Code::kInvalidArgument,
                   "runtime class \"" + name.substr(0, 80) + "\" is not a DNS-1123 label",
                   "runtime_classes"};
    }
    if (!seen.insert(name).second) {
      return Error{Code::kInvalidArgument, "runtime class \"" + name + "\" is listed twice",
                   "runtime_classes"};
    }
  }
  return std::nullopt;
}

}  // namespace

json toJson(const WorkloadStatus& s) {
  json j{{"id", s.id},
         {"state", stateName(s.state)},
         {"reason", s.reason},
         {"message", s.message},
         {"node", s.node}};
  if (s.exit_code) j["exit_code"] = *s.exit_code;
  putTime(j, "created_at", s.created_at);
  putTime(j, "started_at", s.started_at);
  putTime(j, "finished_at", s.finished_at);
  putIfSet(j, "sandbox_id", s.sandbox_id);
  putIfSet(j, "container_id", s.container_id);
  putIfSet(j, "runtime_handler", s.runtime_handler);
  putIfSet(j, "log_path", s.log_path);
  putIfSet(j, "profile", s.profile);
  if (s.run_as_user) j["run_as_user"] = *s.run_as_user;
  if (s.run_as_group) j["run_as_group"] = *s.run_as_group;
  putIfSet(j, "uid", s.uid);
  j["restart_count"] = s.restart_count;
  return j;
}

// Statuses come from our own components, so unknown fields are tolerated
// (newer peers may add some); the id and a known state are required.
Result<WorkloadStatus> workloadStatusFromJson(const json& j) {
  if (!j.is_object()) return fail(Code::kInvalidArgument, "status must be a JSON object");
  WorkloadStatus s;
  auto id = fields::reqString(j, "id", "");
  if (!id) return fail(id.error());
  s.id = *id;
  auto state_name = fields::reqString(j, "state", "");
  if (!state_name) return fail(state_name.error());
  auto state = parseState(*state_name);
  if (!state) {
    return fail(Code::kInvalidArgument, "unknown state \"" + *state_name + "\"", "state");
  }
  s.state = *state;
  s.reason = getString(j, "reason");
  s.message = getString(j, "message");
  s.node = getString(j, "node");
  if (auto it = j.find("exit_code"); it != j.end() && it->is_number_integer()) {
    s.exit_code = it->get<int>();
  }
  s.created_at = getTime(j, "created_at");
  s.started_at = getTime(j, "started_at");
  s.finished_at = getTime(j, "finished_at");
  s.sandbox_id = getString(j, "sandbox_id");
  s.container_id = getString(j, "container_id");
  s.runtime_handler = getString(j, "runtime_handler");
  s.log_path = getString(j, "log_path");
  s.profile = getString(j, "profile");
  if (auto it = j.find("run_as_user"); it != j.end() && it->is_number_integer()) {
    s.run_as_user = it->get<std::int64_t>();
  }
  if (auto it = j.find("run_as_group"); it != j.end() && it->is_number_integer()) {
    s.run_as_group = it->get<std::int64_t>();
  }
  s.uid = getString(j, "uid");
  s.restart_count = static_cast<int>(getInt(j, "restart_count"));
  return s;
}

json toJson(const Resources& r) {
  return json{{"memory_mb", r.memory_mb}, {"cpu_millicores", r.cpu_millicores}};
}

json toJson(const NodeInfo& n) {
  json j{{"node_id", n.node_id},
              {"capacity", toJson(n.capacity)},
              {"allocatable", toJson(n.allocatable)},
              {"runtime_classes", n.runtime_classes},
              {"version", n.version},
              {"workloads", n.workloads}};
  j["isolation_revision"] = n.isolation_revision;
  if (n.isolation) {
    json classes = json::array();
    for (const auto& c : *n.isolation) classes.push_back(toJson(c));
    j["isolation"] = std::move(classes);
  }
  return j;
}

Result<NodeInfo> nodeInfoFromJson(const json& j) {
  if (!j.is_object()) return fail(Code::kInvalidArgument, "node info must be a JSON object");
  NodeInfo n;
  auto id = fields::reqString(j, "node_id", "");
  if (!id) return fail(id.error());
  n.node_id = *id;
  auto resources = [](const json& parent, const char* key) {
    Resources r;
    if (auto it = parent.find(key); it != parent.end() && it->is_object()) {
      r.memory_mb = getInt(*it, "memory_mb");
      r.cpu_millicores = getInt(*it, "cpu_millicores");
    }
    return r;
  };
  n.capacity = resources(j, "capacity");
  n.allocatable = resources(j, "allocatable");
  if (auto bad = checkNodeResources(n)) return fail(*bad);
  auto classes = fields::optStringList(j, "runtime_classes", "");
  if (!classes) return fail(classes.error());
  if (*classes) n.runtime_classes = std::move(**classes);
  if (auto bad = checkNodeClasses(n.runtime_classes)) return fail(*bad);
  n.version = getString(j, "version");
  n.workloads = static_cast<int>(getInt(j, "workloads"));
  n.isolation_revision = getInt(j, "isolation_revision");
  if (auto it = j.find("isolation"); it != j.end() && !it->is_null()) {
    if (!it->is_array() || it->size() > kMaxIsolationClasses) {
      return fail(Code::kInvalidArgument,
                  "isolation must be an array of at most " +
                      std::to_string(kMaxIsolationClasses) + " classes",
                  "isolation");
    }
    std::vector<ClassIsolation> classes;
    for (const auto& item : *it) {
      auto c = classIsolationFromJson(item);
      if (!c) return fail(c.error());
      classes.push_back(std::move(*c));
    }
    n.isolation = std::move(classes);
  }
  return n;
}

}  // namespace zp::api
