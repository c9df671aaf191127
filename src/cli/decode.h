#pragma once
// Decoding the server's replies (docs/architecture.md §7) into api types for rendering.
// Tolerant of fields the CLI does not know (a newer server may add some), strict
// about the types of the fields it uses. Errors are kInternal "unexpected reply
// from the server: ...".

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/isolation.h"
#include "api/node.h"
#include "api/workload.h"
#include "common/status.h"
#include "common/time.h"

namespace zp::cli {

// status.isolation of a workload: the verification of its class on its node
// (docs/architecture.md §10.3).
struct WorkloadIsolationView {
  api::IsolationLevel level = api::IsolationLevel::kUnverified;
  int score = 0;
  std::optional<TimePoint> verified_at;
  bool quarantined = false;
};

// One `{"spec":{...},"status":{...}}` object.
struct WorkloadView {
  api::WorkloadSpec spec;
  api::WorkloadStatus status;
  std::optional<WorkloadIsolationView> isolation;  // absent: not placed, or an older server
};

// One item of a node's `isolation` (api::ClassIsolation) and its age on the
// server's clock.
struct ClassIsolationView {
  api::ClassIsolation isolation;
  std::optional<std::int64_t> age_seconds;
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
  // nullopt: the server does not report isolation (older than §10).
  std::optional<std::vector<ClassIsolationView>> isolation;
  int workloads = 0;
  std::string version;
};

// `GET /nodes/{id}/isolation` and `POST /nodes/{id}/probe`: {"node", "classes"}.
struct NodeIsolationView {
  std::string node;
  std::vector<ClassIsolationView> classes;
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
// `{"node": ID, "classes": [...]}`
Result<NodeIsolationView> decodeNodeIsolation(const nlohmann::json& j);
// One watch line. A {"type":"ERROR","error":{"code","message"}} line is that
// error (the server ended the watch); anything else malformed is kInternal.
Result<WatchEventView> decodeWatchEvent(std::string_view line);

}  // namespace zp::cli
