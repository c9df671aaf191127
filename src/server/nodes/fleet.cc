#include "server/nodes/fleet.h"

#include <algorithm>

namespace zp::server {

std::string_view nodeStateName(NodeState state) {
  switch (state) {
    case NodeState::kReady:
      return "Ready";
    case NodeState::kNotReady:
      return "NotReady";
    case NodeState::kLost:
      return "Lost";
  }
  return "NotReady";
}

std::vector<std::string> offeredClasses(const std::vector<NodeView>& nodes) {
  std::vector<std::string> offered;
  for (const auto& node : nodes) {
    for (const auto& cls : node.runtime_classes) {
      // Few distinct classes, many nodes: copy each name once.
      if (std::find(offered.begin(), offered.end(), cls) == offered.end()) offered.push_back(cls);
    }
  }
  std::sort(offered.begin(), offered.end());
  return offered;
}

}  // namespace zp::server
