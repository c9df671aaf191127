#include "server/nodes/fleet.h"

#include <algorithm>

#include "server/nodes/scheduling_index.h"

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

bool NodeView::offers(std::string_view runtime_class) const {
  return std::find(runtime_classes.begin(), runtime_classes.end(), runtime_class) !=
         runtime_classes.end();
}

bool NodeView::admits(std::string_view runtime_class,
                      const api::IsolationRequirement& requirement) const {
  if (!offers(runtime_class)) return false;
  if (!requirement) return true;
  const api::ClassIsolation* entry = api::findIsolation(isolation, runtime_class);
  return entry != nullptr && entry->satisfies(requirement);
}

api::ClassIsolation withoutFindings(const api::ClassIsolation& entry) {
  api::ClassIsolation out = entry;
  out.findings.clear();
  out.findings.shrink_to_fit();
  return out;
}

api::ClassIsolation isolationSummary(const std::vector<api::ClassIsolation>& classes,
                                     std::string_view runtime_class) {
  if (const auto* found = api::findIsolation(classes, runtime_class)) return withoutFindings(*found);
  api::ClassIsolation summary;
  summary.runtime_class = std::string(runtime_class);
  return summary;
}

Fleet::Fleet() = default;
Fleet::~Fleet() = default;

const SchedulingIndex& Fleet::schedulingIndex() const {
  if (!index_scratch_) index_scratch_ = std::make_unique<SchedulingIndex>();
  index_scratch_->assign(nodes());
  return *index_scratch_;
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
