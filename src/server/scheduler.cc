#include "server/scheduler.h"

#include <algorithm>
#include <limits>
#include <tuple>

namespace zp::server {
namespace {

bool offers(const NodeView& node, const std::string& cls) {
  return std::find(node.runtime_classes.begin(), node.runtime_classes.end(), cls) !=
         node.runtime_classes.end();
}

bool fits(const NodeView& node, const api::WorkloadSpec& spec) {
  if (!node.allocatable) return true;
  return node.allocatable->memory_mb >= spec.memory_mb &&
         node.allocatable->cpu_millicores >= spec.cpu_millicores;
}

// Larger is better; compared lexicographically, the node id breaks ties.
auto rank(const NodeView& node) {
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  const std::int64_t mem = node.allocatable ? node.allocatable->memory_mb : kMax;
  const std::int64_t cpu = node.allocatable ? node.allocatable->cpu_millicores : kMax;
  return std::make_tuple(node.reachable, node.allocatable.has_value(), mem, cpu);
}

}  // namespace

Result<std::string> MostFreeMemoryScheduler::pick(const api::WorkloadSpec& spec,
                                                  const std::vector<NodeView>& nodes) const {
  const NodeView* best = nullptr;
  std::string why;  // one clause per node that offers the class but lacks room
  for (const auto& node : nodes) {
    if (!offers(node, spec.runtime_class)) continue;
    if (!fits(node, spec)) {
      if (!why.empty()) why += "; ";
      why += "node \"" + node.id + "\" has " + std::to_string(node.allocatable->memory_mb) +
             " MB and " + std::to_string(node.allocatable->cpu_millicores) +
             " millicores allocatable";
      continue;
    }
    if (best == nullptr || rank(node) > rank(*best) ||
        (rank(node) == rank(*best) && node.id < best->id)) {
      best = &node;
    }
  }
  if (best != nullptr) return best->id;
  if (why.empty()) {
    return fail(Code::kInvalidArgument,
                "no node offers runtime_class \"" + spec.runtime_class + "\"", "runtime_class");
  }
  return fail(Code::kResourceExhausted,
              "no node offering runtime_class \"" + spec.runtime_class +
                  "\" has room for memory_mb=" + std::to_string(spec.memory_mb) +
                  " cpu_millicores=" + std::to_string(spec.cpu_millicores) + " (" + why + ")");
}

}  // namespace zp::server
