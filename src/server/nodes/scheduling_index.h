#pragma once
// SchedulingIndex: the nodes' scheduling views (docs/architecture.md §8.3)
// with, per runtime class, the nodes that can take work of it ordered by
// their free capacity, so a placement costs O(log nodes) instead of a walk
// over every node. The scheduler asks it for the best node of a class; the
// registry keeps it current as nodes change and allocations move.
//
// A node is in a class's order when it is Ready, schedulable and offers the
// class; the order is (allocatable memory, allocatable cpu, id) ascending.
// Whether its verification of the class satisfies a requirement is checked
// when asked (a few items per node), not indexed.
//
// Plain value, not thread-safe (the registry uses it on the server's
// executor). Pointers to its views are valid until the next assign().

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "api/isolation.h"
#include "api/node.h"
#include "server/config.h"
#include "server/nodes/fleet.h"

namespace zp::server {

class SchedulingIndex {
 public:
  SchedulingIndex() = default;
  // `views` sorted by id, each id once.
  explicit SchedulingIndex(std::vector<NodeView> views) { assign(std::move(views)); }
  SchedulingIndex(const SchedulingIndex&) = delete;
  SchedulingIndex& operator=(const SchedulingIndex&) = delete;

  // Replaces every view; `views` sorted by id, each id once.
  void assign(std::vector<NodeView> views);
  // Every view, ordered by id.
  const std::vector<NodeView>& views() const { return views_; }
  // The view of `id`, or nullptr.
  const NodeView* find(std::string_view id) const;
  // Replaces the view of a node it holds (same id); false when absent.
  bool update(NodeView view);
  // A node's allocation changed; false when absent.
  bool setAllocated(std::string_view id, const api::Resources& allocated, int workloads);

  // The classes some node offers (whatever its state), sorted, each once.
  const std::vector<std::string>& offeredClasses() const { return offered_; }

  // The node a workload needing `need` of `runtime_class` goes to under
  // `policy`, among the nodes that are Ready, schedulable, admit the class
  // under `requirement` (NodeView::admits) and have at least `need`
  // allocatable: binpack = the least left free (memory, then cpu), spread =
  // the most; ties to the smaller id. nullptr when none.
  const NodeView* best(std::string_view runtime_class, const api::Resources& need,
                       const api::IsolationRequirement& requirement,
                       SchedulerPolicy policy) const;

 private:
  struct Key {
    std::int64_t memory = 0;
    std::int64_t cpu = 0;
    std::uint32_t position = 0;  // in views_, i.e. id order
    auto operator<=>(const Key&) const = default;
  };
  static bool eligible(const NodeView& view) {
    return view.state == NodeState::kReady && view.schedulable;
  }
  Key keyOf(std::uint32_t position) const;
  void insertKeys(std::uint32_t position);
  void eraseKeys(std::uint32_t position);
  void rebuildOffered();
  std::uint32_t positionOf(const NodeView* view) const {
    return static_cast<std::uint32_t>(view - views_.data());
  }

  std::vector<NodeView> views_;
  std::map<std::string, std::set<Key>, std::less<>> by_class_;
  std::map<std::string, int, std::less<>> offer_counts_;  // class -> nodes offering it
  std::vector<std::string> offered_;
};

}  // namespace zp::server
