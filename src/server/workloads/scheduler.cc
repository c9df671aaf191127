#include "server/workloads/scheduler.h"

#include <algorithm>
#include <array>
#include <tuple>

namespace zp::server {
namespace {

// Why a node cannot take the workload, in filter order (the message lists
// them in this order too).
enum Reason {
  kNotReady,
  kCordoned,
  kClassNotOffered,
  kInsufficientMemory,
  kInsufficientCpu,
  kCount
};
constexpr std::array<std::string_view, kCount> kReasonText = {
    "not ready", "cordoned", "class not offered", "insufficient memory", "insufficient cpu"};

bool offers(const NodeView& node, std::string_view cls) {
  return std::find(node.runtime_classes.begin(), node.runtime_classes.end(), cls) !=
         node.runtime_classes.end();
}

std::string unschedulableMessage(std::size_t nodes, const std::array<int, kCount>& counts) {
  std::string message = "0/" + std::to_string(nodes) + " nodes available: ";
  if (nodes == 0) return message + "no nodes";
  bool first = true;
  for (int r = 0; r < kCount; ++r) {
    if (counts[r] == 0) continue;
    message += (first ? "" : ", ") + std::to_string(counts[r]) + " " + std::string(kReasonText[r]);
    first = false;
  }
  return message;
}

}  // namespace

std::int64_t Scheduler::memoryFloor(std::string_view runtime_class) const {
  auto it = floors_.find(runtime_class);
  return it == floors_.end() ? 0 : it->second;
}

api::Resources Scheduler::accounted(const api::WorkloadSpec& spec,
                                    std::string_view runtime_class) const {
  return {std::max(spec.memory_mb, memoryFloor(runtime_class)), spec.cpu_millicores};
}

Decision Scheduler::place(const api::WorkloadSpec& spec, const std::vector<std::string>& classes,
                          const std::vector<NodeView>& nodes) const {
  // The first filter each node fails across all classes; kCount = passes for some class.
  std::array<int, kCount> counts{};
  for (const auto& node : nodes) {
    Reason reason = kCount;
    if (node.state != NodeState::kReady) {
      reason = kNotReady;
    } else if (!node.schedulable) {
      reason = kCordoned;
    } else {
      const api::Resources free = node.allocatable();
      bool offered = false, memory_fits = false, fits = false;
      for (const auto& cls : classes) {
        if (!offers(node, cls)) continue;
        offered = true;
        if (free.memory_mb < accounted(spec, cls).memory_mb) continue;
        memory_fits = true;
        if (free.cpu_millicores < spec.cpu_millicores) continue;
        fits = true;
        break;
      }
      reason = !offered       ? kClassNotOffered
               : !memory_fits ? kInsufficientMemory
               : !fits        ? kInsufficientCpu
                              : kCount;
    }
    if (reason != kCount) ++counts[reason];
  }

  for (const auto& cls : classes) {
    const NodeView* best = nullptr;
    std::tuple<std::int64_t, std::int64_t> best_left{};
    const api::Resources need = accounted(spec, cls);
    for (const auto& node : nodes) {
      if (node.state != NodeState::kReady || !node.schedulable || !offers(node, cls)) continue;
      const api::Resources free = node.allocatable();
      if (free.memory_mb < need.memory_mb || free.cpu_millicores < need.cpu_millicores) continue;
      const auto left = std::make_tuple(free.memory_mb - need.memory_mb,
                                        free.cpu_millicores - need.cpu_millicores);
      const bool better =
          best == nullptr ||
          (policy_ == SchedulerPolicy::kBinpack ? left < best_left : left > best_left) ||
          (left == best_left && node.id < best->id);
      if (better) {
        best = &node;
        best_left = left;
      }
    }
    if (best != nullptr) return Decision{Placement{best->id, cls}, {}};
  }
  return Decision{std::nullopt, unschedulableMessage(nodes.size(), counts)};
}

}  // namespace zp::server
