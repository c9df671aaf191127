#include "server/workloads/scheduler.h"

#include <algorithm>
#include <array>

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
  std::vector<NodeView> by_id = nodes;
  std::stable_sort(by_id.begin(), by_id.end(),
                   [](const NodeView& a, const NodeView& b) { return a.id < b.id; });
  const SchedulingIndex index(std::move(by_id));
  if (auto placement = pick(spec, classes, requirement, index)) {
    return Decision{std::move(placement), {}};
  }
  return Decision{std::nullopt, unplacedMessage(spec, classes, requirement, nodes)};
}

Decision Scheduler::placeIndexed(const api::WorkloadSpec& spec,
                                 const std::vector<std::string>& classes,
                                 const api::IsolationRequirement& requirement,
                                 const SchedulingIndex& index) const {
  if (auto placement = pick(spec, classes, requirement, index)) {
    return Decision{std::move(placement), {}};
  }
  return Decision{std::nullopt, unplacedMessage(spec, classes, requirement, index.views())};
}

std::optional<Placement> Scheduler::pick(const api::WorkloadSpec& spec,
                                         const std::vector<std::string>& classes,
                                         const api::IsolationRequirement& requirement,
                                         const SchedulingIndex& index) const {
  for (const auto& cls : classes) {
    const NodeView* best = index.best(cls, accounted(spec, cls), requirement, policy_);
    if (best == nullptr) continue;
    Placement placement{best->id, cls};
    if (const auto* isolation = api::findIsolation(best->isolation, cls)) {
      placement.level = isolation->level;
      placement.score = isolation->score;
    }
    return placement;
  }
  return std::nullopt;
}

std::string Scheduler::unplacedMessage(const api::WorkloadSpec& spec,
                                       const std::vector<std::string>& classes,
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
        if (!node.offers(cls)) continue;
        offered = true;
        if (!node.admits(cls, requirement)) continue;
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
        if (!node.offers(cls)) continue;
        std::string seen = describeVerification(node, cls);
        if (std::find(unverified.begin(), unverified.end(), seen) == unverified.end()) {
          unverified.push_back(std::move(seen));
        }
      }
    }
    if (reason != kCount) ++counts[reason];
  }
  return unschedulableMessage(nodes.size(), counts, unverified, requirement);
}

}  // namespace zp::server
