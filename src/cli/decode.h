#pragma once
// Decoding the server's replies (docs/architecture.md §7) into api types for rendering.
// Tolerant of fields the CLI does not know (a newer server may add some), strict
// about the types of the fields it uses. Errors are kInternal "unexpected reply
// from the server: ...".

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "api/node.h"
#include "api/workload.h"
#include "common/status.h"

namespace zp::cli {

// One `{"spec":{...},"status":{...}}` object.
struct WorkloadView {
  api::WorkloadSpec spec;
  api::WorkloadStatus status;
};

// One item of `GET /nodes`: the node's info plus what the server knows of it.
struct NodeView {
  api::NodeInfo info;
  std::string address;
  std::optional<bool> reachable;  // nullopt when the server did not say
  std::string error;              // why the node is unreachable, if known
};

Result<WorkloadView> decodeWorkload(const nlohmann::json& j);
// `{"items":[{"spec","status"},...]}`
Result<std::vector<WorkloadView>> decodeWorkloadList(const nlohmann::json& j);
// `{"items":[{"node_id",...},...]}`
Result<std::vector<NodeView>> decodeNodeList(const nlohmann::json& j);

}  // namespace zp::cli
