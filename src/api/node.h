#pragma once
// What a node offers: answered by the agent to `NodeInfo`, shown by `GET /nodes`.

#include <cstdint>
#include <string>
#include <vector>

namespace zp::api {

struct Resources {
  std::int64_t memory_mb = 0;
  std::int64_t cpu_millicores = 0;
  bool operator==(const Resources&) const = default;
};

struct NodeInfo {
  std::string node_id;
  Resources capacity;     // what the node has for workloads
  Resources allocatable;  // capacity minus what non-terminal workloads request
  std::vector<std::string> runtime_classes;  // sorted names
  std::string version;                       // zoneplane version of the agent
  int workloads = 0;                         // workloads the agent knows
  bool operator==(const NodeInfo&) const = default;
};

}  // namespace zp::api
