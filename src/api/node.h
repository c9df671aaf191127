#pragma once
// What a node offers: answered by the agent to `NodeInfo`, shown by `GET /nodes`.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/isolation.h"

namespace zp::api {

struct Resources {
  std::int64_t memory_mb = 0;
  std::int64_t cpu_millicores = 0;
  bool operator==(const Resources&) const = default;
};

// The largest capacity a node may declare, in MB or in millicores (a PiB, a
// million cores): far above any machine, far below overflow when summed. A
// node offers at most kMaxIsolationClasses runtime classes.
inline constexpr std::int64_t kMaxNodeResource = std::int64_t{1} << 30;

struct NodeInfo {
  std::string node_id;
  Resources capacity;     // what the node has for workloads
  Resources allocatable;  // capacity minus what non-terminal workloads request
  std::vector<std::string> runtime_classes;  // sorted names
  std::string version;                       // zoneplane version of the agent
  int workloads = 0;                         // workloads the agent knows
  // Each offered class's verification (docs/architecture.md §10), sorted by
  // class. Present in a Hello reply, a ProbeIsolation reply, and a NodeInfo
  // reply whose request named another isolation_revision; absent otherwise
  // (the receiver keeps what it has).
  std::optional<std::vector<ClassIsolation>> isolation;
  // Changes whenever any class's verification changes (never reused by one
  // agent process; a restarted agent is seen through a new Hello anyway).
  std::int64_t isolation_revision = 0;
  bool operator==(const NodeInfo&) const = default;
};

}  // namespace zp::api
