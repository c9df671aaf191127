#include "server/workloads/scheduler.h"

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

Result<Placement> placeByPreference(const Scheduler& scheduler, api::WorkloadSpec spec,
                                    const std::vector<std::string>& classes,
                                    const std::vector<NodeView>& nodes) {
  std::optional<Error> no_room;  // the reasons of the classes some node offers
  std::optional<Error> not_offered;
  for (const auto& cls : classes) {
    spec.runtime_class = cls;
    auto node = scheduler.pick(spec, nodes);
    if (node) return Placement{cls, std::move(*node)};
    if (node.error().code == Code::kResourceExhausted) {
      if (!no_room) {
        no_room = node.error();
      } else {
        no_room->message += "; " + node.error().message;
      }
    } else if (!not_offered) {
      not_offered = node.error();
    }
  }
  if (no_room) return fail(std::move(*no_room));
  if (not_offered) return fail(std::move(*not_offered));
  return fail(Code::kInvalidArgument, "no runtime class to place the workload on", "runtime_class");
}

}  // namespace zp::server
