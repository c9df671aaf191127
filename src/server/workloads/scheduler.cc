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
  kClassNotVerified,
  kInsufficientMemory,
  kInsufficientCpu,
  kCount
};
constexpr std::array<std::string_view, kCount> kReasonText = {
    "not ready",           "cordoned",        "class not offered", "class not verified",
    "insufficient memory", "insufficient cpu"};

// Distinct verifications named after "class not verified"; more are "…".
constexpr std::size_t kMaxNamedVerifications = 4;

bool offers(const NodeView& node, std::string_view cls) {
  return std::find(node.runtime_classes.begin(), node.runtime_classes.end(), cls) !=
         node.runtime_classes.end();
}

// Does the node's verification of `cls` satisfy `requirement`? (No entry:
// unverified, which only "any" takes.)
bool verified(const NodeView& node, std::string_view cls,
              const api::IsolationRequirement& requirement) {
  if (!requirement) return true;
  const api::ClassIsolation* isolation = api::findIsolation(node.isolation, cls);
  return isolation != nullptr && isolation->satisfies(requirement);
}

// "edera-zone: shared-kernel, quarantined", "gvisor: unverified".
std::string describeVerification(const NodeView& node, const std::string& cls) {
  const api::ClassIsolation* isolation = api::findIsolation(node.isolation, cls);
  std::string out = cls + ": " +
                    std::string(api::isolationLevelName(
                        isolation ? isolation->level : api::IsolationLevel::kUnverified));
  if (isolation != nullptr && isolation->quarantined()) out += ", quarantined";
  return out;
}

std::string unschedulableMessage(std::size_t nodes, const std::array<int, kCount>& counts,
                                 const std::vector<std::string>& unverified,
                                 const api::IsolationRequirement& requirement) {
  std::string message = "0/" + std::to_string(nodes) + " nodes available: ";
  if (nodes == 0) return message + "no nodes";
  bool first = true;
  for (int r = 0; r < kCount; ++r) {
    if (counts[r] == 0) continue;
    message += (first ? "" : ", ") + std::to_string(counts[r]) + " " + std::string(kReasonText[r]);
    first = false;
    if (r == kClassNotVerified) {
      message += " (";
      for (std::size_t i = 0; i < unverified.size() && i < kMaxNamedVerifications; ++i) {
        message += unverified[i] + "; ";
      }
      if (unverified.size() > kMaxNamedVerifications) message += "…; ";
      message += "below " + std::string(api::requirementName(requirement)) + ")";
    }
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
                          const api::IsolationRequirement& requirement,
                          const std::vector<NodeView>& nodes) const {
  // The first filter each node fails across all classes; kCount = passes for some class.
  std::array<int, kCount> counts{};
  std::vector<std::string> unverified;  // distinct, in the order seen
  for (const auto& node : nodes) {
    Reason reason = kCount;
    if (node.state != NodeState::kReady) {
      reason = kNotReady;
    } else if (!node.schedulable) {
      reason = kCordoned;
    } else {
      const api::Resources free = node.allocatable();
      bool offered = false, verified_some = false, memory_fits = false, fits = false;
      for (const auto& cls : classes) {
        if (!offers(node, cls)) continue;
        offered = true;
        if (!verified(node, cls, requirement)) continue;
        verified_some = true;
        if (free.memory_mb < accounted(spec, cls).memory_mb) continue;
        memory_fits = true;
        if (free.cpu_millicores < spec.cpu_millicores) continue;
        fits = true;
        break;
      }
      reason = !offered         ? kClassNotOffered
               : !verified_some ? kClassNotVerified
               : !memory_fits   ? kInsufficientMemory
               : !fits          ? kInsufficientCpu
                                : kCount;
    }
    if (reason == kClassNotVerified) {
      // Only for the nodes that fail here: a user must see why.
      for (const auto& cls : classes) {
        if (!offers(node, cls)) continue;
        std::string seen = describeVerification(node, cls);
        if (std::find(unverified.begin(), unverified.end(), seen) == unverified.end()) {
          unverified.push_back(std::move(seen));
        }
      }
    }
    if (reason != kCount) ++counts[reason];
  }

  for (const auto& cls : classes) {
    const NodeView* best = nullptr;
    std::tuple<std::int64_t, std::int64_t> best_left{};
    const api::Resources need = accounted(spec, cls);
    for (const auto& node : nodes) {
      if (node.state != NodeState::kReady || !node.schedulable || !offers(node, cls) ||
          !verified(node, cls, requirement)) {
        continue;
      }
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
    if (best != nullptr) {
      Placement placement{best->id, cls};
      if (const auto* isolation = api::findIsolation(best->isolation, cls)) {
        placement.level = isolation->level;
        placement.score = isolation->score;
      }
      return Decision{std::move(placement), {}};
    }
  }
  return Decision{std::nullopt,
                  unschedulableMessage(nodes.size(), counts, unverified, requirement)};
}

}  // namespace zp::server
