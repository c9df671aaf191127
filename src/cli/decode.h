#pragma once
// Decoding the server's replies (docs/architecture.md §7) into api types for rendering.
// Tolerant of fields the CLI does not know (a newer server may add some), strict
// about the types of the fields it uses. Errors are kInternal "unexpected reply
// from the server: ...".

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/node.h"
#include "api/workload.h"
#include "common/status.h"
#include "common/time.h"

namespace zp::cli {

// One `{"spec":{...},"status":{...}}` object.
struct WorkloadView {
  api::WorkloadSpec spec;
  api::WorkloadStatus status;
};

// One node view of `GET /nodes` (docs/architecture.md §8.2).
struct NodeView {
  std::string id;
  std::string address;
  std::string state;   // Ready, NotReady, Lost
  std::string reason;  // why not Ready
  bool schedulable = true;
  std::optional<TimePoint> last_heartbeat;
  api::Resources capacity;
  api::Resources allocated;
  api::Resources allocatable;
  std::vector<std::string> runtime_classes;
  int workloads = 0;
  std::string version;
};

// One line of a watch: {"type":"ADDED"|"MODIFIED"|"DELETED","workload":{...}}.
struct WatchEventView {
  std::string type;
  nlohmann::json workload;  // {"spec","status"} as sent
  WorkloadView view;        // decoded
};

Result<WorkloadView> decodeWorkload(const nlohmann::json& j);
// `{"items":[{"spec","status"},...]}`
Result<std::vector<WorkloadView>> decodeWorkloadList(const nlohmann::json& j);
// One node view `{"id",...}`.
Result<NodeView> decodeNode(const nlohmann::json& j);
// `{"items":[{"id",...},...]}`
Result<std::vector<NodeView>> decodeNodeList(const nlohmann::json& j);
// One watch line. A {"type":"ERROR","error":{"code","message"}} line is that
// error (the server ended the watch); anything else malformed is kInternal.
Result<WatchEventView> decodeWatchEvent(std::string_view line);

}  // namespace zp::cli
