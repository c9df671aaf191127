#include "cli/requests.h"

#include <charconv>
#include <map>
#include <utility>

#include "api/workload.h"
#include "cli/url_encode.h"

namespace zp::cli {

using nlohmann::json;

Result<UserIds> parseUserIds(std::string_view text) {
  const auto bad = [&] {
    return fail(Code::kInvalidArgument,
                "--user \"" + std::string(text.substr(0, 80)) +
                    "\" must be UID or UID:GID (decimal numbers from 0 to " +
                    std::to_string(api::kMaxUserId) + ")",
                "user");
  };
  const auto number = [](std::string_view digits) -> std::optional<std::int64_t> {
    std::int64_t value = -1;
    const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc{} || ptr != digits.data() + digits.size() || value < 0 ||
        value > api::kMaxUserId) {
      return std::nullopt;
    }
    return value;
  };
  const auto colon = text.find(':');
  auto uid = number(text.substr(0, colon));
  if (!uid) return bad();
  UserIds ids{*uid, std::nullopt};
  if (colon != std::string_view::npos) {
    ids.gid = number(text.substr(colon + 1));
    if (!ids.gid) return bad();
  }
  return ids;
}

Result<json> buildRunBody(const RunArgs& args) {
  json body{{"image", args.image}};
  if (args.runtime_class) body["runtime_class"] = *args.runtime_class;
  if (args.trust) body["trust"] = *args.trust;
  json security = json::object();
  if (args.profile) security["profile"] = *args.profile;
  if (args.user) {
    auto ids = parseUserIds(*args.user);
    if (!ids) return fail(ids.error());
    security["run_as_user"] = ids->uid;
    if (ids->gid) security["run_as_group"] = *ids->gid;
  }
  if (args.read_only) security["read_only_root_fs"] = true;
  if (args.pids_limit) security["pids_limit"] = *args.pids_limit;
  if (!security.empty()) body["security"] = std::move(security);
  if (args.id) body["id"] = *args.id;
  if (args.memory_mb) body["memory_mb"] = *args.memory_mb;
  if (args.cpu_millicores) body["cpu_millicores"] = *args.cpu_millicores;
  if (!args.command.empty()) body["command"] = args.command;
  if (args.restart_policy) body["restart_policy"] = *args.restart_policy;
  if (!args.env.empty()) {
    std::map<std::string, std::string> env;
    for (const std::string& entry : args.env) {
      std::size_t eq = entry.find('=');
      if (eq == std::string::npos || eq == 0) {
        return fail(Code::kInvalidArgument, "--env \"" + entry + "\" must have the form KEY=VALUE",
                    "env");
      }
      std::string key = entry.substr(0, eq);
      if (!env.emplace(key, entry.substr(eq + 1)).second) {
        return fail(Code::kInvalidArgument, "--env " + key + " is given more than once", "env");
      }
    }
    body["env"] = std::move(env);
  }
  // Serialising throws on invalid UTF-8; find out here, where it is a usage error.
  try {
    (void)body.dump();
  } catch (const json::exception&) {
    return fail(Code::kInvalidArgument, "arguments must be valid UTF-8 text");
  }
  return body;
}

namespace {
std::string workloadPath(const std::string& prefix, const std::string& id) {
  return prefix + "/workloads/" + percentEncode(id);
}
}  // namespace

HttpRequest createWorkloadRequest(const std::string& path_prefix, const json& body) {
  return {HttpMethod::kPost, path_prefix + "/workloads", body.dump()};
}

HttpRequest getWorkloadRequest(const std::string& path_prefix, const std::string& id) {
  return {HttpMethod::kGet, workloadPath(path_prefix, id), {}};
}

HttpRequest listWorkloadsRequest(const std::string& path_prefix, const ListFilters& filters) {
  std::vector<std::pair<std::string, std::string>> params;
  if (filters.state) params.emplace_back("state", *filters.state);
  if (filters.node) params.emplace_back("node", *filters.node);
  if (filters.runtime_class) params.emplace_back("runtime_class", *filters.runtime_class);
  return {HttpMethod::kGet, path_prefix + "/workloads" + buildQuery(params), {}};
}

HttpRequest deleteWorkloadRequest(const std::string& path_prefix, const std::string& id,
                                  std::optional<int> grace_seconds) {
  std::vector<std::pair<std::string, std::string>> params;
  if (grace_seconds) params.emplace_back("grace_seconds", std::to_string(*grace_seconds));
  return {HttpMethod::kDelete, workloadPath(path_prefix, id) + buildQuery(params), {}};
}

HttpRequest listNodesRequest(const std::string& path_prefix) {
  return {HttpMethod::kGet, path_prefix + "/nodes", {}};
}

HttpRequest listTrustLevelsRequest(const std::string& path_prefix) {
  return {HttpMethod::kGet, path_prefix + "/trust-levels", {}};
}

HttpRequest watchWorkloadsRequest(const std::string& path_prefix, const ListFilters& filters,
                                  const std::string& id) {
  std::vector<std::pair<std::string, std::string>> params{{"watch", "true"}};
  if (filters.state) params.emplace_back("state", *filters.state);
  if (filters.node) params.emplace_back("node", *filters.node);
  if (filters.runtime_class) params.emplace_back("runtime_class", *filters.runtime_class);
  if (!id.empty()) params.emplace_back("id", id);
  return {HttpMethod::kGet, path_prefix + "/workloads" + buildQuery(params), {}};
}

HttpRequest logsRequest(const std::string& path_prefix, const LogsArgs& args) {
  std::vector<std::pair<std::string, std::string>> params;
  if (args.tail) params.emplace_back("tail", std::to_string(*args.tail));
  if (args.follow) params.emplace_back("follow", "true");
  if (args.timestamps) params.emplace_back("timestamps", "true");
  if (args.stream) params.emplace_back("stream", *args.stream);
  return {HttpMethod::kGet, workloadPath(path_prefix, args.id) + "/logs" + buildQuery(params), {}};
}

HttpRequest addNodeRequest(const std::string& path_prefix, const std::string& id,
                           const std::string& address) {
  return {
      HttpMethod::kPost, path_prefix + "/nodes",
      json{{"id", id}, {"address", address}}.dump(-1, ' ', false, json::error_handler_t::replace)};
}

HttpRequest removeNodeRequest(const std::string& path_prefix, const std::string& id, bool force) {
  std::vector<std::pair<std::string, std::string>> params;
  if (force) params.emplace_back("force", "true");
  return {
      HttpMethod::kDelete, path_prefix + "/nodes/" + percentEncode(id) + buildQuery(params), {}};
}

HttpRequest nodeActionRequest(const std::string& path_prefix, const std::string& id,
                              const std::string& action) {
  return {HttpMethod::kPost, path_prefix + "/nodes/" + percentEncode(id) + "/" + action, {}};
}

HttpRequest nodeIsolationRequest(const std::string& path_prefix, const std::string& id) {
  return {HttpMethod::kGet, path_prefix + "/nodes/" + percentEncode(id) + "/isolation", {}};
}

HttpRequest probeNodeRequest(const std::string& path_prefix, const std::string& id,
                             const std::string& runtime_class) {
  std::vector<std::pair<std::string, std::string>> params;
  if (!runtime_class.empty()) params.emplace_back("runtime_class", runtime_class);
  return {HttpMethod::kPost,
          path_prefix + "/nodes/" + percentEncode(id) + "/probe" + buildQuery(params),
          {}};
}

HttpRequest createTokenRequest(const std::string& path_prefix, const TokenSpec& spec) {
  json body{{"role", spec.role}};
  if (spec.name) body["name"] = *spec.name;
  if (spec.expires_in) body["expires_in"] = *spec.expires_in;
  return {HttpMethod::kPost, path_prefix + "/tokens",
          body.dump(-1, ' ', false, json::error_handler_t::replace)};
}

HttpRequest listTokensRequest(const std::string& path_prefix) {
  return {HttpMethod::kGet, path_prefix + "/tokens", {}};
}

HttpRequest revokeTokenRequest(const std::string& path_prefix, const std::string& name) {
  return {HttpMethod::kDelete, path_prefix + "/tokens/" + percentEncode(name), {}};
}

HttpRequest auditRequest(const std::string& path_prefix, const AuditQuery& query) {
  std::vector<std::pair<std::string, std::string>> params;
  if (query.since) params.emplace_back("since", *query.since);
  if (query.limit) params.emplace_back("limit", std::to_string(*query.limit));
  return {HttpMethod::kGet, path_prefix + "/audit" + buildQuery(params), {}};
}

}  // namespace zp::cli
