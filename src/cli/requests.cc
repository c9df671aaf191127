#include "cli/requests.h"

#include <map>
#include <utility>

#include "cli/url_encode.h"

namespace zp::cli {

using nlohmann::json;

Result<json> buildRunBody(const RunArgs& args) {
  json body{{"image", args.image}, {"runtime_class", args.runtime_class}};
  if (args.id) body["id"] = *args.id;
  if (args.memory_mb) body["memory_mb"] = *args.memory_mb;
  if (args.cpu_millicores) body["cpu_millicores"] = *args.cpu_millicores;
  if (!args.command.empty()) body["command"] = args.command;
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

}  // namespace zp::cli
