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

api::ClassIsolation isolationSummary(const std::vector<api::ClassIsolation>& classes,
                                     std::string_view runtime_class) {
  api::ClassIsolation summary;
  if (const auto* found = api::findIsolation(classes, runtime_class)) {
    summary.claim = found->claim;
    summary.level = found->level;
    summary.score = found->score;
    summary.verified_at = found->verified_at;
    summary.probe_version = found->probe_version;
    summary.attempted_at = found->attempted_at;
    summary.error = found->error;
  }
  summary.runtime_class = std::string(runtime_class);
  return summary;
}

std::optional<api::ClassIsolation> Fleet::classIsolation(std::string_view id,
                                                         std::string_view runtime_class) const {
  auto view = node(id);
  if (!view) return std::nullopt;
  return isolationSummary(view->isolation, runtime_class);
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
