#pragma once
// Building the REST requests of the CLI (DESIGN.md §5). Pure functions from
// command-line values to HttpRequests, so each mapping is unit-testable.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/http_client.h"
#include "common/status.h"

namespace zp::cli {

// What `zoneplane run` was given.
struct RunArgs {
  std::string image;
  std::string runtime_class;
  std::optional<std::string> id;
  std::optional<std::int64_t> memory_mb;
  std::optional<std::int64_t> cpu_millicores;
  std::vector<std::string> env;      // "KEY=VALUE" entries, in order
  std::vector<std::string> command;  // everything after `--`
};

// Filters of `zoneplane list`; unset ones are left out of the query.
struct ListFilters {
  std::optional<std::string> state;
  std::optional<std::string> node;
  std::optional<std::string> runtime_class;
};

// The WorkloadSpec JSON for `run`: image and runtime_class always, the other
// keys only when given. kInvalidArgument (field "env") for an env entry that is
// not KEY=VALUE with a non-empty KEY, or a KEY given twice.
Result<nlohmann::json> buildRunBody(const RunArgs& args);

// Each request's target starts with `path_prefix` ("" or "/api"). Ids are
// percent-encoded, so any string stays one path segment.
HttpRequest createWorkloadRequest(const std::string& path_prefix, const nlohmann::json& body);
HttpRequest getWorkloadRequest(const std::string& path_prefix, const std::string& id);
HttpRequest listWorkloadsRequest(const std::string& path_prefix, const ListFilters& filters);
HttpRequest deleteWorkloadRequest(const std::string& path_prefix, const std::string& id,
                                  std::optional<int> grace_seconds = std::nullopt);
HttpRequest listNodesRequest(const std::string& path_prefix);

}  // namespace zp::cli
